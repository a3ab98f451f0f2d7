package kernels

import (
	"fmt"
	"slices"
)

// Checked returns b behind the shape checks of every operation: before a call
// reaches b, each tensor's length is compared with what the operation's shape
// arguments say it must be (and sizes, reduction slots and ReadAt ranges with
// their bounds). A mismatch is a programming error and panics with a message
// that names the operation, the argument and both lengths, for example
//
//	kernels: Conv3x3: x has 60 elements, want Cin·H·W = 3·4·6 = 72
//
// The backends themselves do not check, so this is the only copy of those
// rules. Checked of a checked backend returns it unchanged; Unwrap gives the
// backend underneath (for tests that need its concrete type). Tensors are
// not wrapped: a tensor of b is a tensor of Checked(b) and the other way
// round.
func Checked(b Backend) Backend {
	if c, ok := b.(checked); ok {
		return c
	}
	return checked{b: b}
}

// checked is the Backend that Checked returns.
type checked struct{ b Backend }

// Unwrap returns the backend under the checks.
func (c checked) Unwrap() Backend { return c.b }

// fail panics with op's name and the formatted mismatch.
func fail(op, format string, args ...any) {
	panic(fmt.Sprintf("kernels: %s: %s", op, fmt.Sprintf(format, args...)))
}

// want panics unless t has the product of factors elements; formula names
// the factors ("Cin·H·W"). The message is only formatted on failure.
func want(op, name string, t Tensor, formula string, factors ...int) {
	present(op, name, t)
	n := 1
	for _, f := range factors {
		n *= f
	}
	if t.Len() == n {
		return
	}
	if len(factors) == 1 {
		fail(op, "%s has %d elements, want %s = %d", name, t.Len(), formula, n)
	}
	fail(op, "%s has %d elements, want %s = %s = %d", name, t.Len(), formula, dims(factors), n)
}

// present panics when t is nil.
func present(op, name string, t Tensor) {
	if t == nil {
		fail(op, "%s is nil", name)
	}
}

// same panics unless every tensor of ts has the length of the first one.
func same(op string, names []string, ts ...Tensor) {
	present(op, names[0], ts[0])
	for i, t := range ts[1:] {
		if t == nil || t.Len() != ts[0].Len() {
			want(op, names[i+1], t, "len("+names[0]+")", ts[0].Len())
		}
	}
}

// sizes panics when a size argument is negative.
func sizes(op string, names string, vs ...int) {
	for _, v := range vs {
		if v < 0 {
			fail(op, "negative size in %s = %v", names, slices.Clone(vs)) // a copy: vs stays on the caller's stack
		}
	}
}

// slot panics unless i indexes dst (called name).
func slot(op, name string, dst Tensor, i int) {
	present(op, name, dst)
	if i < 0 || i >= dst.Len() {
		fail(op, "slot %d is outside %s of %d elements", i, name, dst.Len())
	}
}

func convShape(op string, s ConvShape) {
	sizes(op, "Cin, Cout, H, W", s.Cin, s.Cout, s.H, s.W)
}

func poolShape(op string, s PoolShape, p Pooling) {
	sizes(op, "C, H, W", s.C, s.H, s.W)
	if p != MaxPool && p != AvgPool {
		fail(op, "unknown pooling %d", int(p))
	}
}

// dims formats factors as "3·4·6".
func dims(a []int) string {
	s := ""
	for i, v := range a {
		if i > 0 {
			s += "·"
		}
		s += fmt.Sprint(v)
	}
	return s
}

func (c checked) Name() string     { return c.b.Name() }
func (c checked) Describe() string { return c.b.Describe() }

func (c checked) Alloc(n int) (Tensor, error) { return c.b.Alloc(n) }

func (c checked) Free(t Tensor) { c.b.Free(t) }

func (c checked) Write(dst Tensor, src []float32) {
	want("Write", "dst", dst, "len(src)", len(src))
	c.b.Write(dst, src)
}

func (c checked) Read(dst []float32, src Tensor) error {
	want("Read", "src", src, "len(dst)", len(dst))
	return c.b.Read(dst, src)
}

func (c checked) ReadAt(dst []float32, src Tensor, off int) error {
	present("ReadAt", "src", src)
	if off < 0 || off+len(dst) > src.Len() {
		fail("ReadAt", "[%d:%d] is outside src of %d elements", off, off+len(dst), src.Len())
	}
	return c.b.ReadAt(dst, src, off)
}

func (c checked) Copy(dst, src Tensor) {
	same("Copy", []string{"src", "dst"}, src, dst)
	c.b.Copy(dst, src)
}

func (c checked) Conv3x3(dst, x, w, b Tensor, s ConvShape) {
	const op = "Conv3x3"
	convShape(op, s)
	want(op, "dst", dst, "Cout·H·W", s.Cout, s.H, s.W)
	want(op, "x", x, "Cin·H·W", s.Cin, s.H, s.W)
	want(op, "w", w, "Cout·Cin·9", s.Cout, s.Cin, 9)
	want(op, "b", b, "Cout", s.Cout)
	c.b.Conv3x3(dst, x, w, b, s)
}

func (c checked) Conv3x3Backward(dx, dy, y, w Tensor, s ConvShape) {
	const op = "Conv3x3Backward"
	convShape(op, s)
	want(op, "dx", dx, "Cin·H·W", s.Cin, s.H, s.W)
	want(op, "dy", dy, "Cout·H·W", s.Cout, s.H, s.W)
	want(op, "y", y, "Cout·H·W", s.Cout, s.H, s.W)
	want(op, "w", w, "Cout·Cin·9", s.Cout, s.Cin, 9)
	c.b.Conv3x3Backward(dx, dy, y, w, s)
}

func (c checked) Pool2x2(dst, x Tensor, s PoolShape, p Pooling) {
	const op = "Pool2x2"
	poolShape(op, s, p)
	want(op, "dst", dst, "C·(H/2)·(W/2)", s.C, s.OutH(), s.OutW())
	want(op, "x", x, "C·H·W", s.C, s.H, s.W)
	c.b.Pool2x2(dst, x, s, p)
}

func (c checked) Pool2x2Backward(dx, dy, x Tensor, s PoolShape, p Pooling) {
	const op = "Pool2x2Backward"
	poolShape(op, s, p)
	want(op, "dx", dx, "C·H·W", s.C, s.H, s.W)
	want(op, "dy", dy, "C·(H/2)·(W/2)", s.C, s.OutH(), s.OutW())
	want(op, "x", x, "C·H·W", s.C, s.H, s.W)
	c.b.Pool2x2Backward(dx, dy, x, s, p)
}

func (c checked) MatMul(dst, a, b Tensor, m, n, k int, transA, transB bool, alpha, beta float32) {
	const op = "MatMul"
	sizes(op, "m, n, k", m, n, k)
	want(op, "dst", dst, "m·n", m, n)
	want(op, "a", a, "m·k", m, k)
	want(op, "b", b, "k·n", k, n)
	c.b.MatMul(dst, a, b, m, n, k, transA, transB, alpha, beta)
}

func (c checked) Fill(dst Tensor, v float32) {
	present("Fill", "dst", dst)
	c.b.Fill(dst, v)
}

func (c checked) Scale(dst Tensor, alpha float32) {
	present("Scale", "dst", dst)
	c.b.Scale(dst, alpha)
}

func (c checked) Axpy(dst Tensor, alpha float32, x Tensor) {
	same("Axpy", []string{"dst", "x"}, dst, x)
	c.b.Axpy(dst, alpha, x)
}

func (c checked) Mul(dst, a, b Tensor) {
	same("Mul", []string{"dst", "a", "b"}, dst, a, b)
	c.b.Mul(dst, a, b)
}

func (c checked) Div(dst, a, b Tensor) {
	same("Div", []string{"dst", "a", "b"}, dst, a, b)
	c.b.Div(dst, a, b)
}

func (c checked) Sqrt(dst, a Tensor, eps float32) {
	same("Sqrt", []string{"dst", "a"}, dst, a)
	c.b.Sqrt(dst, a, eps)
}

func (c checked) RowSum(dst, a Tensor, rows, cols int, alpha float32) {
	const op = "RowSum"
	sizes(op, "rows, cols", rows, cols)
	want(op, "dst", dst, "rows", rows)
	want(op, "a", a, "rows·cols", rows, cols)
	c.b.RowSum(dst, a, rows, cols, alpha)
}

func (c checked) AddRows(dst, v Tensor, rows, cols int, alpha float32) {
	rowsAndVector("AddRows", dst, v, rows, cols)
	c.b.AddRows(dst, v, rows, cols, alpha)
}

func (c checked) MulRows(dst, v Tensor, rows, cols int) {
	rowsAndVector("MulRows", dst, v, rows, cols)
	c.b.MulRows(dst, v, rows, cols)
}

func rowsAndVector(op string, dst, v Tensor, rows, cols int) {
	sizes(op, "rows, cols", rows, cols)
	want(op, "dst", dst, "rows·cols", rows, cols)
	want(op, "v", v, "rows", rows)
}

// maxSortCols is the longest row SortRows takes: its column indices are
// float32, exact below 2^24.
const maxSortCols = 1 << 24

func (c checked) SortRows(dst, idx, src Tensor, rows, cols int) {
	permutation("SortRows", dst, idx, src, rows, cols)
	c.b.SortRows(dst, idx, src, rows, cols)
}

func (c checked) ScatterRows(dst, idx, src Tensor, rows, cols int) {
	permutation("ScatterRows", dst, idx, src, rows, cols)
	c.b.ScatterRows(dst, idx, src, rows, cols)
}

func permutation(op string, dst, idx, src Tensor, rows, cols int) {
	sizes(op, "rows, cols", rows, cols)
	if cols > maxSortCols {
		fail(op, "rows of %d columns: column indices are exact in float32 only up to %d", cols, maxSortCols)
	}
	want(op, "dst", dst, "rows·cols", rows, cols)
	want(op, "idx", idx, "rows·cols", rows, cols)
	want(op, "src", src, "rows·cols", rows, cols)
}

func (c checked) ResampleRows(dst, src Tensor, rows, scols, dcols int) {
	const op = "ResampleRows"
	sizes(op, "rows, scols, dcols", rows, scols, dcols)
	if scols == 0 && rows*dcols > 0 {
		fail(op, "no source columns to resample %d rows into %d columns", rows, dcols)
	}
	want(op, "dst", dst, "rows·dcols", rows, dcols)
	want(op, "src", src, "rows·scols", rows, scols)
	c.b.ResampleRows(dst, src, rows, scols, dcols)
}

func (c checked) Dot(dst Tensor, i int, a, b Tensor) {
	slot("Dot", "dst", dst, i)
	same("Dot", []string{"a", "b"}, a, b)
	c.b.Dot(dst, i, a, b)
}

func (c checked) Dots(dst Tensor, i int, a, b []Tensor) {
	const op = "Dots"
	if len(a) != len(b) {
		fail(op, "%d tensors in a, %d in b", len(a), len(b))
	}
	if len(a) == 0 {
		return
	}
	slot(op, "dst", dst, i)
	slot(op, "dst", dst, i+len(a)-1)
	present(op, "a[0]", a[0])
	for j := range a {
		if a[j] == nil || a[j].Len() != a[0].Len() {
			want(op, fmt.Sprintf("a[%d]", j), a[j], "len(a[0])", a[0].Len())
		}
		if b[j] == nil || b[j].Len() != a[0].Len() {
			want(op, fmt.Sprintf("b[%d]", j), b[j], "len(a[0])", a[0].Len())
		}
	}
	c.b.Dots(dst, i, a, b)
}

func (c checked) Sum(dst Tensor, i int, a Tensor) {
	slot("Sum", "dst", dst, i)
	present("Sum", "a", a)
	c.b.Sum(dst, i, a)
}

func (c checked) TV(loss Tensor, i int, dx, x Tensor, ch, h, w int, weight float32) {
	const op = "TV"
	sizes(op, "c, h, w", ch, h, w)
	slot(op, "loss", loss, i)
	want(op, "dx", dx, "c·h·w", ch, h, w)
	want(op, "x", x, "c·h·w", ch, h, w)
	c.b.TV(loss, i, dx, x, ch, h, w, weight)
}

func (c checked) Adam(x, g, m, v Tensor, p AdamParams) {
	if p.Step < 1 {
		fail("Adam", "step %d, want ≥ 1 (steps count from 1)", p.Step)
	}
	same("Adam", []string{"x", "g", "m", "v"}, x, g, m, v)
	c.b.Adam(x, g, m, v, p)
}
