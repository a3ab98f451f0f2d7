package wasmgen

import "fmt"

// Shape is the register tile of one block kernel: MR rows of A by NV
// four-lane vectors of B (NR = 4·NV columns).
type Shape struct{ MR, NV int }

// NR is the tile's column count.
func (s Shape) NR() int { return 4 * s.NV }

// Name is the kernel's export name: gemm_MRxNR.
func (s Shape) Name() string { return fmt.Sprintf("gemm_%dx%d", s.MR, s.NR()) }

// Shapes are the tiles the module exports; package wasmsimd measures them
// in the browser and kernels/cpu keeps the fastest. V8 gives SIMD values 15
// xmm registers on x64 (xmm15 is its scratch register): MR·NV accumulators
// + NV B vectors + one broadcast must fit.
var Shapes = []Shape{{4, 2}, {3, 3}, {2, 4}}

// The parameters of every block kernel (all i32; addresses and strides in
// bytes of the imported memory):
//
//	gemm_MRxNR(kc, a, aStride, panels, rowsLast, b, bPanels, colsLast, c, ldc, tile)
//
// For each A panel i < panels (kc·MR floats at a + i·aStride, element
// (r, k) at k·MR + r) and each B panel j < bPanels (kc·NR floats at
// b + j·NR·kc·4, element (k, q) at k·NR + q) it adds A_i·B_j into the MR×NR
// tile of C at c + i·MR·ldc + j·NR·4 (row stride ldc bytes). Only rowsLast
// rows of the last A panel and colsLast columns of the last B panel are
// real; tile is MR·NR floats of scratch for the edge tiles. kc, panels,
// bPanels, rowsLast and colsLast are at least 1.
const (
	pKC = iota
	pA
	pAStride
	pPanels
	pRowsLast
	pB
	pBPanels
	pColsLast
	pC
	pLDC
	pTile
	nParams
)

// Extra i32 locals.
const (
	lI = nParams + iota
	lJ
	lK
	lPA
	lPB
	lCTile  // C address of the current tile
	lCPanel // C address of the current A panel's first row
	lRows
	lCols
	lR
	lQ
	lBStep // NR·kc·4: bytes of one B panel
	lT     // scratch address
	lT2
	nI32Locals = iota
)

// block returns the kernel of shape s; relaxed uses f32x4.relaxed_madd
// (fused where the CPU has FMA) instead of f32x4.mul + f32x4.add.
func block(s Shape, relaxed bool) function {
	mr, nv, nr := s.MR, s.NV, s.NR()
	v0 := nParams + nI32Locals // first v128 local
	acc := func(r, v int) int { return v0 + r*nv + v }
	bv := func(v int) int { return v0 + mr*nv + v }
	sp := v0 + mr*nv + nv // the broadcast of one A element
	var c code

	// bStep = kc·NR·4
	c.get(pKC)
	c.i32(int32(nr * 4))
	c.op(opI32Mul)
	c.set(lBStep)
	c.get(pC)
	c.set(lCPanel)
	c.i32(0)
	c.set(lI)
	c.loop() // panels of A
	{
		// rows = i == panels-1 ? rowsLast : MR
		c.i32(int32(mr))
		c.set(lRows)
		c.get(lI)
		c.get(pPanels)
		c.i32(1)
		c.op(opI32Sub)
		c.op(opI32Eq)
		c.ifThen()
		c.get(pRowsLast)
		c.set(lRows)
		c.end()
		c.get(lCPanel)
		c.set(lCTile)
		c.i32(0)
		c.set(lJ)
		c.loop() // panels of B
		{
			c.i32(int32(nr))
			c.set(lCols)
			c.get(lJ)
			c.get(pBPanels)
			c.i32(1)
			c.op(opI32Sub)
			c.op(opI32Eq)
			c.ifThen()
			c.get(pColsLast)
			c.set(lCols)
			c.end()
			for r := 0; r < mr; r++ {
				for v := 0; v < nv; v++ {
					c.zero()
					c.set(acc(r, v))
				}
			}
			// pa = a + i·aStride; pb = b + j·bStep; k = kc
			c.get(pA)
			c.get(lI)
			c.get(pAStride)
			c.op(opI32Mul)
			c.op(opI32Add)
			c.set(lPA)
			c.get(pB)
			c.get(lJ)
			c.get(lBStep)
			c.op(opI32Mul)
			c.op(opI32Add)
			c.set(lPB)
			c.get(pKC)
			c.set(lK)
			c.loop() // k
			{
				for v := 0; v < nv; v++ {
					c.get(lPB)
					c.v128Load(16 * v)
					c.set(bv(v))
				}
				for r := 0; r < mr; r++ {
					c.get(lPA)
					c.loadSplat(4 * r)
					c.set(sp)
					for v := 0; v < nv; v++ {
						if relaxed {
							c.get(sp)
							c.get(bv(v))
							c.get(acc(r, v))
							c.simd(simdF32x4RelaxMadd)
						} else {
							c.get(acc(r, v))
							c.get(sp)
							c.get(bv(v))
							c.simd(simdF32x4Mul)
							c.simd(simdF32x4Add)
						}
						c.set(acc(r, v))
					}
				}
				c.get(lPA)
				c.i32(int32(mr * 4))
				c.op(opI32Add)
				c.set(lPA)
				c.get(lPB)
				c.i32(int32(nr * 4))
				c.op(opI32Add)
				c.set(lPB)
				c.get(lK)
				c.i32(1)
				c.op(opI32Sub)
				c.tee(lK)
				c.brIf(0)
			}
			c.end()
			// Full tile: C += acc in place. Edge tile: acc to the scratch
			// tile, then the real rows × cols added one float at a time.
			c.get(lRows)
			c.i32(int32(mr))
			c.op(opI32Eq)
			c.get(lCols)
			c.i32(int32(nr))
			c.op(opI32Eq)
			c.op(opI32And)
			c.ifThen()
			{
				c.get(lCTile)
				c.set(lT)
				for r := 0; r < mr; r++ {
					for v := 0; v < nv; v++ {
						c.get(lT)
						c.get(lT)
						c.v128Load(16 * v)
						c.get(acc(r, v))
						c.simd(simdF32x4Add)
						c.v128Store(16 * v)
					}
					if r < mr-1 {
						c.get(lT)
						c.get(pLDC)
						c.op(opI32Add)
						c.set(lT)
					}
				}
			}
			c.op(opElse)
			{
				for r := 0; r < mr; r++ {
					for v := 0; v < nv; v++ {
						c.get(pTile)
						c.get(acc(r, v))
						c.v128Store(16 * (r*nv + v))
					}
				}
				c.get(lCTile)
				c.set(lT)
				c.get(pTile)
				c.set(lT2)
				c.i32(0)
				c.set(lR)
				c.loop() // rows
				{
					c.i32(0)
					c.set(lQ)
					c.loop() // cols
					{
						// c[T + 4q] += tile[T2 + 4q]
						c.get(lT)
						c.get(lQ)
						c.i32(2)
						c.op(opI32Shl)
						c.op(opI32Add)
						c.tee(lPA) // reuse lPA as the float's address
						c.get(lPA)
						c.f32Load(0)
						c.get(lT2)
						c.get(lQ)
						c.i32(2)
						c.op(opI32Shl)
						c.op(opI32Add)
						c.f32Load(0)
						c.op(opF32Add)
						c.f32Store(0)
						c.get(lQ)
						c.i32(1)
						c.op(opI32Add)
						c.tee(lQ)
						c.get(lCols)
						c.op(opI32LtS)
						c.brIf(0)
					}
					c.end()
					c.get(lT)
					c.get(pLDC)
					c.op(opI32Add)
					c.set(lT)
					c.get(lT2)
					c.i32(int32(nr * 4))
					c.op(opI32Add)
					c.set(lT2)
					c.get(lR)
					c.i32(1)
					c.op(opI32Add)
					c.tee(lR)
					c.get(lRows)
					c.op(opI32LtS)
					c.brIf(0)
				}
				c.end()
			}
			c.end()
			// next B panel
			c.get(lCTile)
			c.i32(int32(nr * 4))
			c.op(opI32Add)
			c.set(lCTile)
			c.get(lJ)
			c.i32(1)
			c.op(opI32Add)
			c.tee(lJ)
			c.get(pBPanels)
			c.op(opI32Ne)
			c.brIf(0)
		}
		c.end()
		// next A panel: cPanel += MR·ldc
		c.get(lCPanel)
		c.get(pLDC)
		c.i32(int32(mr))
		c.op(opI32Mul)
		c.op(opI32Add)
		c.set(lCPanel)
		c.get(lI)
		c.i32(1)
		c.op(opI32Add)
		c.tee(lI)
		c.get(pPanels)
		c.op(opI32Ne)
		c.brIf(0)
	}
	c.end()
	return function{name: s.Name(), params: nParams, i32s: nI32Locals, v128s: mr*nv + nv + 1, body: c}
}

// Module returns the module's bytes: one block kernel per shape of Shapes,
// with f32x4.relaxed_madd when relaxed (a browser without relaxed SIMD
// rejects that module; wasmsimd then loads the plain one), and the im2col
// packing of the convolutions' B operand (pack.go; the same in both).
func Module(relaxed bool) []byte {
	var fs []function
	for _, s := range Shapes {
		fs = append(fs, block(s, relaxed))
	}
	return module(append(fs, pack()))
}
