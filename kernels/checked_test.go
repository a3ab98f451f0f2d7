package kernels_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// panicOf runs f and returns what it panicked with, or "" when it did not.
func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// TestCheckedRejectsMismatches: every operation's tensor lengths are
// checked against its shape arguments before the backend sees them, and the
// panic names the operation, the argument and both lengths.
func TestCheckedRejectsMismatches(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	z := func(n int) kernels.Tensor {
		x, err := b.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cs := kernels.ConvShape{Cin: 3, Cout: 4, H: 4, W: 6}
	ps := kernels.PoolShape{C: 2, H: 5, W: 7}
	adam := kernels.AdamParams{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 1}
	for _, c := range []struct {
		op        string
		ok, wrong func()
		want      string
	}{
		{"Write", func() { b.Write(z(3), make([]float32, 3)) }, func() { b.Write(z(3), make([]float32, 4)) },
			"kernels: Write: dst has 3 elements, want len(src) = 4"},
		{"Read", func() { b.Read(make([]float32, 3), z(3)) }, func() { b.Read(make([]float32, 2), z(3)) },
			"kernels: Read: src has 3 elements, want len(dst) = 2"},
		{"ReadAt", func() { b.ReadAt(make([]float32, 2), z(3), 1) }, func() { b.ReadAt(make([]float32, 2), z(3), 2) },
			"kernels: ReadAt: [2:4] is outside src of 3 elements"},
		{"Copy", func() { b.Copy(z(3), z(3)) }, func() { b.Copy(z(3), z(4)) },
			"kernels: Copy: dst has 3 elements, want len(src) = 4"},
		{"Conv3x3", func() { b.Conv3x3(z(96), z(72), z(108), z(4), cs) }, func() { b.Conv3x3(z(96), z(60), z(108), z(4), cs) },
			"kernels: Conv3x3: x has 60 elements, want Cin·H·W = 3·4·6 = 72"},
		{"Conv3x3/w", func() {}, func() { b.Conv3x3(z(96), z(72), z(107), z(4), cs) },
			"kernels: Conv3x3: w has 107 elements, want Cout·Cin·9 = 4·3·9 = 108"},
		{"Conv3x3Backward", func() { b.Conv3x3Backward(z(72), z(96), z(96), z(108), cs) },
			func() { b.Conv3x3Backward(z(72), z(96), z(95), z(108), cs) },
			"kernels: Conv3x3Backward: y has 95 elements, want Cout·H·W = 4·4·6 = 96"},
		{"Pool2x2", func() { b.Pool2x2(z(12), z(70), ps, kernels.MaxPool) }, func() { b.Pool2x2(z(15), z(70), ps, kernels.AvgPool) },
			"kernels: Pool2x2: dst has 15 elements, want C·(H/2)·(W/2) = 2·2·3 = 12"},
		{"Pool2x2/kind", func() {}, func() { b.Pool2x2(z(12), z(70), ps, kernels.Pooling(7)) },
			"kernels: Pool2x2: unknown pooling 7"},
		{"Pool2x2Backward", func() { b.Pool2x2Backward(z(70), z(12), z(70), ps, kernels.MaxPool) },
			func() { b.Pool2x2Backward(z(70), z(12), z(35), ps, kernels.MaxPool) },
			"kernels: Pool2x2Backward: x has 35 elements, want C·H·W = 2·5·7 = 70"},
		{"MatMul", func() { b.MatMul(z(6), z(8), z(12), 2, 3, 4, true, true, 1, 0) },
			func() { b.MatMul(z(6), z(8), z(11), 2, 3, 4, false, false, 1, 0) },
			"kernels: MatMul: b has 11 elements, want k·n = 4·3 = 12"},
		{"MatMul/negative", func() {}, func() { b.MatMul(z(0), z(0), z(0), -1, 0, 0, false, false, 1, 0) },
			"kernels: MatMul: negative size in m, n, k = [-1 0 0]"},
		{"Fill", func() { b.Fill(z(2), 1) }, func() { b.Fill(nil, 1) }, "kernels: Fill: dst is nil"},
		{"Scale", func() { b.Scale(z(2), 1) }, func() { b.Scale(nil, 1) }, "kernels: Scale: dst is nil"},
		{"Axpy", func() { b.Axpy(z(2), 1, z(2)) }, func() { b.Axpy(z(2), 1, z(3)) },
			"kernels: Axpy: x has 3 elements, want len(dst) = 2"},
		{"Mul", func() { b.Mul(z(2), z(2), z(2)) }, func() { b.Mul(z(2), z(2), z(1)) },
			"kernels: Mul: b has 1 elements, want len(dst) = 2"},
		{"Div", func() { b.Div(z(2), z(2), z(2)) }, func() { b.Div(z(2), z(3), z(2)) },
			"kernels: Div: a has 3 elements, want len(dst) = 2"},
		{"Sqrt", func() { b.Sqrt(z(2), z(2), 0) }, func() { b.Sqrt(z(2), z(3), 0) },
			"kernels: Sqrt: a has 3 elements, want len(dst) = 2"},
		{"RowSum", func() { b.RowSum(z(2), z(6), 2, 3, 1) }, func() { b.RowSum(z(3), z(6), 2, 3, 1) },
			"kernels: RowSum: dst has 3 elements, want rows = 2"},
		{"AddRows", func() { b.AddRows(z(6), z(2), 2, 3, 1) }, func() { b.AddRows(z(6), z(3), 2, 3, 1) },
			"kernels: AddRows: v has 3 elements, want rows = 2"},
		{"MulRows", func() { b.MulRows(z(6), z(2), 2, 3) }, func() { b.MulRows(z(5), z(2), 2, 3) },
			"kernels: MulRows: dst has 5 elements, want rows·cols = 2·3 = 6"},
		{"SortRows", func() { b.SortRows(z(6), z(6), z(6), 2, 3) }, func() { b.SortRows(z(6), z(5), z(6), 2, 3) },
			"kernels: SortRows: idx has 5 elements, want rows·cols = 2·3 = 6"},
		{"ScatterRows", func() { b.ScatterRows(z(6), z(6), z(6), 2, 3) }, func() { b.ScatterRows(z(6), z(6), z(7), 2, 3) },
			"kernels: ScatterRows: src has 7 elements, want rows·cols = 2·3 = 6"},
		{"ResampleRows", func() { b.ResampleRows(z(4), z(6), 2, 3, 2) }, func() { b.ResampleRows(z(4), z(6), 2, 2, 2) },
			"kernels: ResampleRows: src has 6 elements, want rows·scols = 2·2 = 4"},
		{"ResampleRows/empty", func() {}, func() { b.ResampleRows(z(4), z(0), 2, 0, 2) },
			"kernels: ResampleRows: no source columns to resample 2 rows into 2 columns"},
		{"Dot", func() { b.Dot(z(2), 1, z(3), z(3)) }, func() { b.Dot(z(2), 2, z(3), z(3)) },
			"kernels: Dot: slot 2 is outside dst of 2 elements"},
		{"Dot/b", func() {}, func() { b.Dot(z(2), 0, z(3), z(4)) }, "kernels: Dot: b has 4 elements, want len(a) = 3"},
		{"Sum", func() { b.Sum(z(1), 0, z(3)) }, func() { b.Sum(z(1), -1, z(3)) },
			"kernels: Sum: slot -1 is outside dst of 1 elements"},
		{"TV", func() { b.TV(z(1), 0, z(24), z(24), 2, 3, 4, 1) }, func() { b.TV(z(1), 0, z(24), z(23), 2, 3, 4, 1) },
			"kernels: TV: x has 23 elements, want c·h·w = 2·3·4 = 24"},
		{"Adam", func() { b.Adam(z(2), z(2), z(2), z(2), adam) }, func() { b.Adam(z(2), z(2), z(3), z(2), adam) },
			"kernels: Adam: m has 3 elements, want len(x) = 2"},
		{"Adam/step", func() {}, func() { b.Adam(z(2), z(2), z(2), z(2), kernels.AdamParams{}) },
			"kernels: Adam: step 0, want ≥ 1 (steps count from 1)"},
	} {
		if msg := panicOf(c.ok); msg != "" {
			t.Errorf("%s: a well-formed call panicked: %s", c.op, msg)
		}
		if msg := panicOf(c.wrong); msg != c.want {
			t.Errorf("%s: panic %q, want %q", c.op, msg, c.want)
		}
	}
}

// TestCheckedWrapsOnce: Checked of a checked backend is that backend, Unwrap
// gives the backend underneath, and the name and description pass through.
func TestCheckedWrapsOnce(t *testing.T) {
	inner := naive.Backend{}
	b := kernels.Checked(inner)
	if kernels.Checked(b) != b {
		t.Error("Checked wrapped a checked backend again")
	}
	u, ok := b.(interface{ Unwrap() kernels.Backend })
	if !ok || u.Unwrap() != kernels.Backend(inner) {
		t.Fatalf("Unwrap of %T does not give the naive backend", b)
	}
	if b.Name() != "naive" || !strings.Contains(b.Describe(), "oracle") {
		t.Errorf("Name %q, Describe %q: want the naive backend's", b.Name(), b.Describe())
	}
	x, err := b.Alloc(3)
	if err != nil {
		t.Fatal(err)
	}
	b.Fill(x, 2)
	if got := naive.Data(x); got[0] != 2 || got[2] != 2 {
		t.Errorf("Fill through the checks = %v, want [2 2 2]", got)
	}
}

// TestCheckedDoesNotAllocate: the checks format their messages only on
// failure, so a well-formed call costs no allocation.
func TestCheckedDoesNotAllocate(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	a, _ := b.Alloc(6)
	c, _ := b.Alloc(12)
	d, _ := b.Alloc(8)
	e, _ := b.Alloc(3)
	if n := testing.AllocsPerRun(100, func() {
		b.MatMul(d, a, c, 2, 4, 3, false, false, 1, 0)
		b.Axpy(a, 2, a)
		b.Pool2x2(e, c, kernels.PoolShape{C: 3, H: 2, W: 2}, kernels.MaxPool)
	}); n != 0 {
		t.Errorf("%g allocations per checked call sequence, want 0", n)
	}
}
