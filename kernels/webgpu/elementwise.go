package webgpu

import (
	"slices"

	"github.com/crema-app/crema/kernels"
)

// elemOp is the operation elementwise.wgsl applies; the shader switches on
// the constants elemOps generates (OP_FILL ...).
type elemOp uint32

const (
	opFill     elemOp = iota // d = s0
	opScale                  // d = d·s0
	opAxpy                   // d = d + s0·a
	opMul                    // d = a·b
	opDiv                    // d = a/b
	opSqrt                   // d = sqrt(a + s0)
	opAddRows                // d = d + s0·a[row]
	opMulRows                // d = d·a[row]
	opReluMask               // d = a·[b > 0]
)

// elemOps names the operations for elementwise.wgsl.
var elemOps = []wgslConst{
	{"OP_FILL", uint32(opFill)},
	{"OP_SCALE", uint32(opScale)},
	{"OP_AXPY", uint32(opAxpy)},
	{"OP_MUL", uint32(opMul)},
	{"OP_DIV", uint32(opDiv)},
	{"OP_SQRT", uint32(opSqrt)},
	{"OP_ADD_ROWS", uint32(opAddRows)},
	{"OP_MUL_ROWS", uint32(opMulRows)},
	{"OP_RELU_MASK", uint32(opReluMask)},
}

// elementwiseParams is the uniform of elementwise.wgsl.
type elementwiseParams struct {
	n     uint32 // elements of d
	op    elemOp
	flags uint32 // bit 0: a is d; bit 1: b is d
	cols  uint32 // row length (AddRows, MulRows)
	s0    float32
}

// Bits of elementwiseParams.flags, for elementwise.wgsl as A_IS_D and B_IS_D.
const (
	aIsD = 1 << iota
	bIsD
)

var elemFlags = []wgslConst{{"A_IS_D", aIsD}, {"B_IS_D", bIsD}}

var (
	elementwiseModule = newModule("elementwise.wgsl", elementwiseParams{}, slices.Concat(elemOps, elemFlags)...)

	kElementwise = &kernelSpec{name: "elementwise", module: elementwiseModule, entry: "main", bindings: "uwrr"}
)

// elementwise records d = op(d, a, b) over n elements; a and b may be nil
// (unused) or d itself.
func (g *Backend) elementwise(op elemOp, d, a, b *tensor, n, cols int, s0 float32) {
	var flags uint32
	if a == nil {
		a = g.dummy
	} else if a == d {
		flags |= aIsD
		a = g.dummy
	}
	if b == nil {
		b = g.dummy
	} else if b == d {
		flags |= bIsD
		b = g.dummy
	}
	g.dispatch(kElementwise, elementwiseParams{n: uint32(n), op: op, flags: flags, cols: uint32(cols), s0: s0},
		groups1D(n), 1, 1, d, a, b)
}

func (g *Backend) Fill(dst kernels.Tensor, v float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.gt(dst)
	g.elementwise(opFill, d, nil, nil, d.n, 1, v)
}

func (g *Backend) Scale(dst kernels.Tensor, alpha float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.gt(dst)
	g.elementwise(opScale, d, nil, nil, d.n, 1, alpha)
}

func (g *Backend) Axpy(dst kernels.Tensor, alpha float32, x kernels.Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.gt(dst)
	g.elementwise(opAxpy, d, g.gt(x), nil, d.n, 1, alpha)
}

func (g *Backend) Mul(dst, a, b kernels.Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.gt(dst)
	g.elementwise(opMul, d, g.gt(a), g.gt(b), d.n, 1, 0)
}

func (g *Backend) Div(dst, a, b kernels.Tensor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.gt(dst)
	g.elementwise(opDiv, d, g.gt(a), g.gt(b), d.n, 1, 0)
}

func (g *Backend) Sqrt(dst, a kernels.Tensor, eps float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := g.gt(dst)
	g.elementwise(opSqrt, d, g.gt(a), nil, d.n, 1, eps)
}

func (g *Backend) AddRows(dst, v kernels.Tensor, rows, cols int, alpha float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cols == 0 {
		return
	}
	g.elementwise(opAddRows, g.gt(dst), g.gt(v), nil, rows*cols, cols, alpha)
}

func (g *Backend) MulRows(dst, v kernels.Tensor, rows, cols int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cols == 0 {
		return
	}
	g.elementwise(opMulRows, g.gt(dst), g.gt(v), nil, rows*cols, cols, 0)
}
