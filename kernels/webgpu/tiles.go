package webgpu

// The tile cost model of conv.wgsl: which tile shape a convolution's output
// [m, n] (m output channels × n pixels) is computed in.

// convTile is one tile shape of conv.wgsl: TM rows of M × TN pixels, computed
// by TM·TN/16 threads.
type convTile struct{ tm, tn int }

// convTiles are the tile shapes conv picks from (see conv.wgsl's header): the
// general 64×64 first, then thin ones for the few pixels of deep layers of
// small images (64×16, 64×4), for a few output channels (conv1_1's input
// gradient, M = 3: 4×64, 8×64) and a square 32×32 between. At BK = 32 each
// needs at most 16 KiB of workgroup memory.
var convTiles = []convTile{{64, 64}, {64, 16}, {64, 4}, {32, 32}, {16, 64}, {8, 64}, {4, 64}}

// convCost estimates, in units of one multiply-add, what a tile shape costs
// per tap of K for out [m, n]: the multiply-adds of the padded tiles, the
// gathers of B (one per pixel per row of tiles, each worth ~16 multiply-adds:
// the tap's index arithmetic, bounds and ReLU-mask tests) and the reads of A.
func convCost(t convTile, m, n int) int {
	mt, nt := (m+t.tm-1)/t.tm, (n+t.tn-1)/t.tn
	return mt*t.tm*nt*t.tn + 16*mt*nt*t.tn + 2*nt*mt*t.tm
}

// pickConvTile picks the cheapest tile shape for out [m, n]; hardware GPUs
// (software false) skip tiles of fewer than 32 threads (a fraction of one
// SIMD group).
func pickConvTile(m, n int, software bool) convTile {
	best, bestCost := convTiles[0], convCost(convTiles[0], m, n)
	for _, t := range convTiles[1:] {
		if t.tm*t.tn/16 < 32 && !software {
			continue
		}
		if c := convCost(t, m, n); c < bestCost {
			best, bestCost = t, c
		}
	}
	return best
}

// convTileFor is the tile conv uses for out [m, n]: the forced one of a
// test, else pickConvTile's.
func (g *Backend) convTileFor(m, n int) convTile {
	if g.convTile.tm != 0 {
		return g.convTile
	}
	return pickConvTile(m, n, g.software)
}
