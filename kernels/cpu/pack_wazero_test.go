//go:build !js

package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/cpu/wasmsimd/wazerosimd"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// TestPackConvUnderWazero: the SIMD module's pack_conv, run by wazero,
// writes the same block as Go's packB, bit for bit and over the whole
// block (the last panel's zeroed columns too, over a destination filled
// with NaN first), for images narrower and wider than a panel, blocks that
// start and end inside image rows and inside a channel's nine taps, single
// columns, and every panel width of the kernels.
func TestPackConvUnderWazero(t *testing.T) {
	ks := wazerosimd.Kernels(t)
	if len(ks) == 0 {
		t.Fatal("no kernels under wazero")
	}
	pack := ks[0].PackConv
	r := rand.New(rand.NewPCG(11, 12))
	type tc struct{ cin, h, w, pix0, nc, k0, kc, nr int }
	cases := []tc{
		{1, 1, 1, 0, 1, 0, 9, 4},       // one pixel: all but the centre tap is padding
		{3, 5, 7, 0, 35, 0, 27, 16},    // a whole small image
		{2, 6, 3, 4, 11, 5, 13, 8},     // narrower than a panel, starting mid-row and mid-taps
		{4, 9, 37, 40, 200, 7, 29, 12}, // wider than a panel, ends mid-row
		{8, 16, 16, 255, 1, 71, 1, 16}, // the last pixel, the last tap
		{5, 4, 64, 3, 250, 9, 36, 4},
	}
	for range 40 {
		cin, h, w := 1+r.IntN(6), 1+r.IntN(20), 1+r.IntN(40)
		pix0 := r.IntN(h * w)
		nc := 1 + r.IntN(h*w-pix0)
		k0 := r.IntN(cin * 9)
		kc := 1 + r.IntN(cin*9-k0)
		cases = append(cases, tc{cin, h, w, pix0, nc, k0, kc, []int{4, 8, 12, 16}[r.IntN(4)]})
	}
	for _, c := range cases {
		name := fmt.Sprintf("%+v", c)
		src := kerneltest.Uniform(r, c.cin*c.h*c.w, -1, 1)
		n := (c.nc + c.nr - 1) / c.nr * c.nr * c.kc
		want, got := make([]float32, n), make([]float32, n)
		for i := range want {
			want[i], got[i] = float32(math.NaN()), float32(math.NaN())
		}
		cpu.PackConvGo(want, src, c.h, c.w, c.pix0, c.nc, c.k0, c.kc, c.nr)
		pack(got, src, c.h, c.w, c.pix0, c.nc, c.k0, c.kc, c.nr)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: element %d (panel %d, row %d, column %d) is %v, want %v", name, i,
					i/(c.nr*c.kc), i%(c.nr*c.kc)/c.nr, i%c.nr, got[i], want[i])
			}
		}
	}
}
