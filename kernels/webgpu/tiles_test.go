package webgpu

import "testing"

// TestPickConvTile: the cost model takes the general 64×64 tile for big
// outputs and thin tiles where M or N is small, and on hardware GPUs never a
// tile of fewer than 32 threads.
func TestPickConvTile(t *testing.T) {
	for _, c := range []struct {
		name     string
		m, n     int
		software bool
		want     convTile
	}{
		{"conv3_2 at 64²", 256, 64 * 64, false, convTile{64, 64}},
		{"conv1_1 input gradient, hardware", 3, 64 * 64, false, convTile{8, 64}},
		{"conv1_1 input gradient, software", 3, 64 * 64, true, convTile{4, 64}},
		{"conv5_1 at 32², hardware", 512, 2 * 2, false, convTile{64, 16}},
		{"conv5_1 at 32², software", 512, 2 * 2, true, convTile{64, 4}},
	} {
		got := pickConvTile(c.m, c.n, c.software)
		if got != c.want {
			t.Errorf("%s (%d×%d): %v, want %v", c.name, c.m, c.n, got, c.want)
		}
		if !c.software && got.tm*got.tn/16 < 32 {
			t.Errorf("%s: %v has fewer than 32 threads on a hardware GPU", c.name, got)
		}
	}
	// Every tile shape is someone's best.
	for _, tile := range convTiles {
		found := false
		for m := 1; m <= 512 && !found; m *= 2 {
			for n := 1; n <= 1<<14 && !found; n *= 2 {
				found = pickConvTile(m, n, true) == tile
			}
		}
		if !found {
			t.Errorf("tile %v is never picked", tile)
		}
	}
}
