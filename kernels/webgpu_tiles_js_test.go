//go:build js

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestWebGPUConvTiles runs Conv3x3 and Conv3x3Backward in every tile shape
// of conv.wgsl (forced, whatever the shape would pick) against Naive: partial
// tiles in M and N, the scalar (K % 4 != 0) and vec4 reads of A, more than
// one K step, and split-K into 3 slices (which software adapters, where these
// tests run, never choose on their own).
func TestWebGPUConvTiles(t *testing.T) {
	b, err := openWebGPU()
	if err != nil {
		t.Fatalf("openWebGPU: %v", err)
	}
	g := b.(*WebGPU)
	rng := rand.New(rand.NewPCG(21, 22))
	vals := func(n int, lo, hi float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float32()
		}
		return v
	}
	shapes := []ConvShape{
		{Cin: 5, Cout: 7, H: 9, W: 6},    // forward K = 45: scalar A
		{Cin: 8, Cout: 70, H: 7, W: 10},  // N = 70, M = 70: two tiles of 64 each way
		{Cin: 12, Cout: 3, H: 17, W: 5},  // backward K = 27, forward M = 3
		{Cin: 40, Cout: 36, H: 3, W: 11}, // K = 360, 324: several K steps, split-K
	}
	for _, tile := range convTiles {
		for i, s := range shapes {
			slices := 0
			if i == len(shapes)-1 {
				slices = 3
			}
			t.Run(fmt.Sprintf("%dx%d/%d-%d-%dx%d/S%d", tile.tm, tile.tn, s.Cin, s.Cout, s.H, s.W, max(slices, 1)), func(t *testing.T) {
				x := vals(s.Cin*s.H*s.W, -1, 1)   // [Cin, H, W]
				w := vals(s.Cout*s.Cin*9, -1, 1)  // [Cout, Cin, 3, 3]
				bias := vals(s.Cout, -0.5, 0.5)   // [Cout]
				dy := vals(s.Cout*s.H*s.W, -1, 1) // [Cout, H, W]
				var res [2][2][]float32           // backend → (y, dx)
				g.convTile, g.convS = tile, slices
				for bi, be := range []Backend{g, Naive{}} {
					ts := make([]Tensor, 6)
					for i, v := range [][]float32{x, w, bias, dy, make([]float32, len(dy)), make([]float32, len(x))} {
						if ts[i], err = be.Alloc(len(v)); err != nil {
							t.Fatal(err)
						}
						be.Write(ts[i], v)
					}
					be.Conv3x3(ts[4], ts[0], ts[1], ts[2], s)
					be.Conv3x3Backward(ts[5], ts[3], ts[4], ts[1], s)
					for j, o := range []Tensor{ts[4], ts[5]} {
						res[bi][j] = make([]float32, o.Len())
						if err := be.Read(res[bi][j], o); err != nil {
							t.Fatalf("%s: %v", be.Name(), err)
						}
					}
					for _, x := range ts {
						be.Free(x)
					}
				}
				g.convTile, g.convS = convTile{}, 0
				for j, name := range []string{"forward", "backward"} {
					got, ref := res[0][j], res[1][j]
					var diff, scale float64
					for i := range ref {
						diff = max(diff, math.Abs(float64(got[i]-ref[i])))
						scale = max(scale, math.Abs(float64(ref[i])))
					}
					if diff > 1e-4*max(scale, 1) {
						t.Errorf("%s: max |WebGPU − Naive| = %g (max |Naive| %g), want ≤ 1e-4 relative", name, diff, scale)
					}
				}
			})
		}
	}
}
