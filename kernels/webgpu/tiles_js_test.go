package webgpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
)

// TestWebGPUConvTiles runs Conv3x3 and Conv3x3Backward in every tile shape
// of conv.wgsl (forced, whatever the shape would pick) against the naive
// oracle: partial tiles in M and N, the scalar (K % 4 != 0) and vec4 reads of
// A, more than one K step, and split-K into 3 slices (which software
// adapters, where these tests run, never choose on their own).
func TestWebGPUConvTiles(t *testing.T) {
	g, err := Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	gpu, ref := kernels.Checked(g), kernels.Checked(naive.Backend{})
	rng := rand.New(rand.NewPCG(21, 22))
	shapes := []kernels.ConvShape{
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
				x := kerneltest.Uniform(rng, s.Cin*s.H*s.W, -1, 1)   // [Cin, H, W]
				w := kerneltest.Uniform(rng, s.Cout*s.Cin*9, -1, 1)  // [Cout, Cin, 3, 3]
				bias := kerneltest.Uniform(rng, s.Cout, -0.5, 0.5)   // [Cout]
				dy := kerneltest.Uniform(rng, s.Cout*s.H*s.W, -1, 1) // [Cout, H, W]
				var res [2][2][]float32                              // backend → (y, dx)
				g.convTile, g.convS = tile, slices
				for bi, be := range []kernels.Backend{gpu, ref} {
					var ts []kernels.Tensor
					for _, v := range [][]float32{x, w, bias, dy, make([]float32, len(dy)), make([]float32, len(x))} {
						ts = append(ts, kerneltest.Upload(t, be, v))
					}
					be.Conv3x3(ts[4], ts[0], ts[1], ts[2], s)
					be.Conv3x3Backward(ts[5], ts[3], ts[4], ts[1], s)
					res[bi] = [2][]float32{kerneltest.Download(t, be, ts[4]), kerneltest.Download(t, be, ts[5])}
					for _, x := range ts {
						be.Free(x)
					}
				}
				g.convTile, g.convS = convTile{}, 0
				for j, name := range []string{"forward", "backward"} {
					if err := kerneltest.Compare(res[0][j], res[1][j], kerneltest.TolGemm); err != nil {
						t.Errorf("%s: WebGPU vs naive: %v", name, err)
					}
				}
			})
		}
	}
}

// TestWebGPUFoldedGrid: a convolution whose tiles outnumber the 65535
// workgroups a dispatch may have along x (one output channel of 512×512
// pixels in 64×4 tiles: 65536 tiles) is spread over x and y and still
// computes every tile, forward and backward.
func TestWebGPUFoldedGrid(t *testing.T) {
	g, err := Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer g.Close()
	gpu, ref := kernels.Checked(g), kernels.Checked(naive.Backend{})
	rng := rand.New(rand.NewPCG(23, 24))
	s := kernels.ConvShape{Cin: 1, Cout: 1, H: 512, W: 512}
	x := kerneltest.Uniform(rng, s.H*s.W, -1, 1)
	w := kerneltest.Uniform(rng, 9, -1, 1)
	dy := kerneltest.Uniform(rng, s.H*s.W, -1, 1)
	var res [2][2][]float32
	g.convTile = convTile{64, 4}
	for bi, be := range []kernels.Backend{gpu, ref} {
		var ts []kernels.Tensor
		for _, v := range [][]float32{x, w, {0.1}, dy, make([]float32, len(x)), make([]float32, len(x))} {
			ts = append(ts, kerneltest.Upload(t, be, v))
		}
		be.Conv3x3(ts[4], ts[0], ts[1], ts[2], s)
		be.Conv3x3Backward(ts[5], ts[3], ts[4], ts[1], s)
		res[bi] = [2][]float32{kerneltest.Download(t, be, ts[4]), kerneltest.Download(t, be, ts[5])}
	}
	g.convTile = convTile{}
	if tiles := (s.H*s.W + 3) / 4; tiles <= maxGroups {
		t.Fatalf("%d tiles: the case does not need folding", tiles)
	}
	for j, name := range []string{"forward", "backward"} {
		if err := kerneltest.Compare(res[0][j], res[1][j], kerneltest.TolGemm); err != nil {
			t.Errorf("%s: WebGPU vs naive: %v", name, err)
		}
	}
}
