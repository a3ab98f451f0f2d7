package wasmgen

// PackName is the export name of the im2col packing function.
const PackName = "pack_conv"

// The parameters of pack_conv (all i32; addresses in bytes of the imported
// memory):
//
//	pack_conv(dst, src, h, w, pix0, nc, k0, kc, nr)
//
// It writes rows k0 … k0+kc-1 and columns pix0 … pix0+nc-1 of the im2col
// matrix of the image src [cin, h, w] (row k = (ci·3+ky)·3+kx, column =
// output pixel y·w+x, value src[ci, y+ky-1, x+kx-1], zero outside the
// image) into dst as nr-column panels (element (k, q) of panel p at
// p·nr·kc + k·nr + q, in floats), zeroing the last panel's columns past
// nc: kernels/cpu's convOperand.packB, which stays the reference its tests
// compare this with. nr is a multiple of 4. Each run of columns in one
// image row is a shifted copy of a row of src (zero at a padding row, and
// in its first or last column where the tap falls off the image's edge),
// copied panel segment by panel segment, four floats at a time (v128) and
// the rest one at a time.
const (
	qDst = iota
	qSrc
	qH
	qW
	qPix0
	qNC
	qK0
	qKC
	qNR
	nPackParams
)

// pack_conv's extra i32 locals.
const (
	pkPanel = nPackParams + iota // nr·kc·4: bytes from one panel to the next
	pkCi                         // the current row's channel and tap (ky, kx)
	pkKy
	pkKx
	pkKK   // the row within the block
	pkDRow // dst + kk·nr·4: column 0 of row kk in panel 0
	pkQ    // the current column (a run's first, then moving through it)
	pkY    // the run's image row and first pixel's column
	pkX
	pkEnd              // the run's end column
	pkStop             // where its copy stops: end, or end-1 at the image's right edge
	pkIY               // the source row: y + ky - 1
	pkXS               // the source column of the run's first column: x + kx - 1
	pkCol              // the floats left in a panel segment
	pkPJ               // the current column's place within its panel
	pkDA               // its destination address
	pkSA               // its source address
	pkRest             // the last panel's first zeroed column
	nPackLocals = iota // how many
)

// pack returns pack_conv.
func pack() function {
	var c code
	add := func() { c.op(opI32Add) }
	sub := func() { c.op(opI32Sub) }
	mul := func() { c.op(opI32Mul) }

	// Nothing to do without rows or columns.
	c.get(qKC)
	c.i32(1)
	c.op(opI32LtS)
	c.get(qNC)
	c.i32(1)
	c.op(opI32LtS)
	c.op(opI32Or)
	c.ifThen()
	c.op(opReturn)
	c.end()

	// panel = nr·kc·4
	c.get(qNR)
	c.get(qKC)
	mul()
	c.i32(2)
	c.op(opI32Shl)
	c.set(pkPanel)

	// The last panel's columns past nc are zero: rest = nc % nr; when it
	// is not 0, for every row kk, columns rest … nr-1 of panel nc / nr.
	c.get(qNC)
	c.get(qNR)
	c.op(opI32RemU)
	c.tee(pkRest)
	c.ifThen()
	{
		// da = dst + (nc / nr)·panel
		c.get(qDst)
		c.get(qNC)
		c.get(qNR)
		c.op(opI32DivU)
		c.get(pkPanel)
		mul()
		add()
		c.set(pkDA)
		c.i32(0)
		c.set(pkKK)
		c.loop()
		{
			c.get(pkRest)
			c.set(pkCol)
			c.loop()
			{
				// store 0 at da + (kk·nr + col)·4
				c.get(pkDA)
				c.get(pkKK)
				c.get(qNR)
				mul()
				c.get(pkCol)
				add()
				c.i32(2)
				c.op(opI32Shl)
				add()
				c.f32Zero()
				c.f32Store(0)
				c.next(pkCol, qNR)
			}
			c.end()
			c.next(pkKK, qKC)
		}
		c.end()
	}
	c.end()

	// ci = k0 / 9; ky = k0 % 9 / 3; kx = k0 % 3
	c.get(qK0)
	c.i32(9)
	c.op(opI32DivU)
	c.set(pkCi)
	c.get(qK0)
	c.i32(9)
	c.op(opI32RemU)
	c.i32(3)
	c.op(opI32DivU)
	c.set(pkKy)
	c.get(qK0)
	c.i32(3)
	c.op(opI32RemU)
	c.set(pkKx)

	c.i32(0)
	c.set(pkKK)
	c.loop() // rows kk
	{
		// dRow = dst + kk·nr·4; (y, x) = the block's first pixel; q = 0
		c.get(qDst)
		c.get(pkKK)
		c.get(qNR)
		mul()
		c.i32(2)
		c.op(opI32Shl)
		add()
		c.set(pkDRow)
		c.get(qPix0)
		c.get(qW)
		c.op(opI32DivU)
		c.set(pkY)
		c.get(qPix0)
		c.get(qW)
		c.op(opI32RemU)
		c.set(pkX)
		c.i32(0)
		c.set(pkQ)
		c.loop() // runs: the block's pixels in one image row
		{
			// end = q + min(nc - q, w - x)
			c.get(pkQ)
			c.minDiff(qNC, pkQ, qW, pkX)
			add()
			c.set(pkEnd)
			// pj = q % nr; da = dRow + (q / nr)·panel + pj·4
			c.get(pkQ)
			c.get(qNR)
			c.op(opI32RemU)
			c.set(pkPJ)
			c.get(pkDRow)
			c.get(pkQ)
			c.get(qNR)
			c.op(opI32DivU)
			c.get(pkPanel)
			mul()
			add()
			c.get(pkPJ)
			c.i32(2)
			c.op(opI32Shl)
			add()
			c.set(pkDA)
			// iy = y + ky - 1; xs = x + kx - 1, the source column of
			// column q.
			c.get(pkX)
			c.get(pkKx)
			add()
			c.i32(1)
			sub()
			c.set(pkXS)
			c.get(pkY)
			c.get(pkKy)
			add()
			c.i32(1)
			sub()
			c.tee(pkIY)
			c.get(qH)
			c.op(opI32LtU) // inside the image (unsigned: -1 is not)
			c.ifThen()
			{
				// sa = src + ((ci·h + iy)·w + xs)·4
				c.get(qSrc)
				c.get(pkCi)
				c.get(qH)
				mul()
				c.get(pkIY)
				add()
				c.get(qW)
				mul()
				c.get(pkXS)
				add()
				c.i32(2)
				c.op(opI32Shl)
				add()
				c.set(pkSA)
				// Left of the image (xs < 0, only the run's first column,
				// kx = 0): a 0 there, the run starts one column on.
				c.get(pkXS)
				c.i32(0)
				c.op(opI32LtS)
				c.ifThen()
				{
					c.get(pkDA)
					c.f32Zero()
					c.f32Store(0)
					c.addTo(pkQ, 1)
					c.addTo(pkSA, 4)
					c.addTo(pkDA, 4)
					c.addTo(pkPJ, 1)
					c.nextPanel()
				}
				c.end()
				// Right of the image (xs + the run's length > w, only its
				// last column, kx = 2): a 0 there, the run ends one column
				// early. Its address: dRow + ((end-1)/nr)·panel + ((end-1)%nr)·4.
				c.get(pkEnd)
				c.set(pkStop)
				c.get(pkXS)
				c.get(pkEnd)
				c.get(pkQ)
				sub()
				add()
				c.get(qW)
				c.op(opI32GtS)
				c.ifThen()
				{
					c.addTo(pkStop, -1)
					c.get(pkDRow)
					c.get(pkStop)
					c.get(qNR)
					c.op(opI32DivU)
					c.get(pkPanel)
					mul()
					add()
					c.get(pkStop)
					c.get(qNR)
					c.op(opI32RemU)
					c.i32(2)
					c.op(opI32Shl)
					add()
					c.f32Zero()
					c.f32Store(0)
				}
				c.end()
				c.segments(true)
			}
			c.op(opElse)
			c.get(pkEnd) // a row of padding: zeros
			c.set(pkStop)
			c.segments(false)
			c.end()
			// The next run starts the next image row.
			c.get(pkEnd)
			c.set(pkQ)
			c.i32(0)
			c.set(pkX)
			c.addTo(pkY, 1)
			c.get(pkQ)
			c.get(qNC)
			c.op(opI32LtS)
			c.brIf(0)
		}
		c.end()
		// The next row of the block: the next tap, or the next channel.
		c.get(pkKx)
		c.i32(1)
		add()
		c.tee(pkKx)
		c.i32(3)
		c.op(opI32Eq)
		c.ifThen()
		{
			c.i32(0)
			c.set(pkKx)
			c.get(pkKy)
			c.i32(1)
			add()
			c.tee(pkKy)
			c.i32(3)
			c.op(opI32Eq)
			c.ifThen()
			{
				c.i32(0)
				c.set(pkKy)
				c.addTo(pkCi, 1)
			}
			c.end()
		}
		c.end()
		c.next(pkKK, qKC)
	}
	c.end()
	return function{name: PackName, params: nPackParams, i32s: nPackLocals, body: c}
}

// nextPanel moves the destination to the next panel when the current
// column has reached the end of one (pj = nr): pj = 0 and da += panel -
// nr·4, the same row of the next panel.
func (c *code) nextPanel() {
	c.get(pkPJ)
	c.get(qNR)
	c.op(opI32Eq)
	c.ifThen()
	c.i32(0)
	c.set(pkPJ)
	c.get(pkDA)
	c.get(pkPanel)
	c.op(opI32Add)
	c.get(qNR)
	c.i32(2)
	c.op(opI32Shl)
	c.op(opI32Sub)
	c.set(pkDA)
	c.end()
}

// segments writes columns q … stop-1 of the current row, panel segment by
// panel segment (each as long as min(end - col, nr - pj)): copied from sa
// on (four floats at a time, then one at a time) when copy, else zeros.
// The destination starts at da, pj.
func (c *code) segments(copy bool) {
	c.block()
	c.loop()
	{
		// while q < stop
		c.get(pkQ)
		c.get(pkStop)
		c.op(opI32GeS)
		c.brIf(1)
		// n = min(stop - q, nr - pj); q += n; pj += n
		c.minDiff(pkStop, pkQ, qNR, pkPJ)
		c.tee(pkCol)
		c.get(pkQ)
		c.op(opI32Add)
		c.set(pkQ)
		c.get(pkPJ)
		c.get(pkCol)
		c.op(opI32Add)
		c.set(pkPJ)
		c.move(copy, 4) // four at a time while n ≥ 4
		c.move(copy, 1) // then one at a time
		c.nextPanel()
		c.br(0)
	}
	c.end()
	c.end()
}

// move writes the segment's floats left (pkCol) width at a time (4: one
// v128; 1: one f32) while at least width are left: copied from sa on when
// copy, else zeros.
func (c *code) move(copy bool, width int32) {
	c.block()
	c.loop()
	{
		c.get(pkCol)
		c.i32(width)
		c.op(opI32LtS)
		c.brIf(1)
		c.get(pkDA)
		switch {
		case copy && width == 4:
			c.get(pkSA)
			c.v128Load(0)
		case copy:
			c.get(pkSA)
			c.f32Load(0)
		case width == 4:
			c.zero()
		default:
			c.f32Zero()
		}
		if width == 4 {
			c.v128Store(0)
		} else {
			c.f32Store(0)
		}
		if copy {
			c.addTo(pkSA, 4*width)
		}
		c.addTo(pkDA, 4*width)
		c.addTo(pkCol, -width)
		c.br(0)
	}
	c.end()
	c.end()
}
