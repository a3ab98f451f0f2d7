package transfer

import (
	"context"
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/model"
)

// The cores of a pass partition the image; every window is the tile's
// size, inside the image, and keeps the margin around its core wherever the
// image has pixels; a shift moves the interior borders; the tiles per pass
// are few.
func TestTileSpans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		margin := 1 + rng.IntN(20)
		step := 1 + rng.IntN(60)
		tile := step + 2*margin
		l := 1 + rng.IntN(400)
		off := rng.IntN(step)
		spans := tileSpans(l, tile, margin, step, off)
		next := 0
		for _, s := range spans {
			w := min(tile, l)
			if s.a != next || s.b <= s.a || s.start < 0 || s.start+w > l ||
				s.a-s.start < min(margin, s.a) || s.start+w-s.b < min(margin, l-s.b) {
				t.Fatalf("l %d tile %d margin %d step %d off %d: span %+v in %+v", l, tile, margin, step, off, s, spans)
			}
			next = s.b
		}
		if next != l || len(spans) > (l+step-1)/step+1 {
			t.Fatalf("l %d tile %d step %d off %d: %+v", l, tile, step, off, spans)
		}
	}
	// Interior borders follow the offset.
	a, b := tileSpans(300, 100, 10, 80, 0), tileSpans(300, 100, 10, 80, 40)
	if a[1].a != 80 || b[1].a != 40 {
		t.Errorf("borders at %d and %d, want 80 and 40", a[1].a, b[1].a)
	}
	g, err := newTileGrid(100, 60, 48, "conv3_1")
	if err != nil {
		t.Fatal(err)
	}
	cover := make([]int, 100*60)
	for _, tr := range g.tiles(8, 4) {
		for y := tr.cy0; y < tr.cy1; y++ {
			for x := tr.cx0; x < tr.cx1; x++ {
				cover[y*100+x]++
			}
		}
	}
	for i, c := range cover {
		if c != 1 {
			t.Fatalf("pixel %d is in %d cores", i, c)
		}
	}
	if _, err := newTileGrid(100, 60, 30, "conv3_1"); err == nil || !strings.Contains(err.Error(), "tile_size must be at least 32") {
		t.Errorf("a tile smaller than its margins: %v", err)
	}
}

// Style targets computed through windows of the tile's size are the whole
// style image's: exactly (to rounding) for gram and mmd, whose statistics
// are sums over positions, with or without a style mask; approximately for
// cov and meanstd, whose windows are centred on their own means (the loss
// of an image against them within 50 % here, with windows whose cores are
// 32 px; the larger the windows, the closer).
func TestWindowTargetsAreTheWholeImage(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv3_1")
	sty := planar(testImage(72, 60, 3))
	smask := make([]float32, 72*60)
	for i := range smask {
		smask[i] = float32(i%72) / 72
	}
	for _, c := range []struct {
		stat   string
		masked bool
		tile   int
		tol    float64
	}{{"gram", false, 40, 1e-4}, {"gram", true, 40, 1e-4}, {"mmd", false, 40, 1e-4}, {"cov", false, 56, 0.5}, {"meanstd", true, 56, 0.5}} {
		s := Defaults()
		s.StyleStat, s.ContentWeight = c.stat, 0
		layers := []LayerWeight{{"conv1_1", 1}, {"conv2_1", 1}, {"conv3_1", 1}}
		loss := func(tile int) Progress {
			in := &inputs{w: 24, h: 20, styles: [][]float32{sty}, sizes: [][2]int{{72, 60}}, blend: []float64{1},
				styleMasks: [][]float32{nil}, regions: []region{{styles: []int{0}, weight: 1}}, tile: tile}
			if c.masked {
				in.styleMasks[0] = smask
			}
			in.content = planar(testImage(24, 20, 1))
			x := make([]float32, 3*24*20)
			model.ToInput(x, in.content, net.Preprocess())
			st, err := newStage(b, net, s, layers, in, x)
			if err != nil {
				t.Fatal(err)
			}
			defer st.free()
			if _, err := st.eval(st.x, st.dx); err != nil {
				t.Fatal(err)
			}
			return st.cur
		}
		whole, windowed := loss(0), loss(c.tile)
		for _, l := range layers {
			w, g := whole.Style[l.Layer], windowed.Style[l.Layer]
			rel := math.Abs(g-w) / w
			t.Logf("%s (style mask %v) %s: windows of %d px give %.5g, the whole image %.5g (%.2g apart)", c.stat, c.masked, l.Layer, c.tile, g, w, rel)
			if !(rel <= c.tol) {
				t.Errorf("%s (style mask %v) %s: windows give %g, the whole image %g (%.2g apart, want ≤ %g)", c.stat, c.masked, l.Layer, g, w, rel, c.tol)
			}
		}
	}
}

// A tiled stage reports its tiles and passes, reaches the run's last
// iteration with iterations that never go back, previews after every tile,
// and its first (coarse, untiled) stage reports no tile.
func TestTiledRunReports(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	s := smallSettings()
	s.ImageSize, s.Iterations, s.TileSize, s.CoarseToFine, s.PreviewEvery = 64, 8, 36, true, 1
	var rec recorder
	previews := 0
	img, err := Run(context.Background(), b, net, Job{Content: testImage(64, 48, 1), Styles: []image.Image{testImage(40, 40, 3)}, Settings: s},
		Hooks{Progress: rec.hook, Preview: func(int, *image.RGBA) { previews++ }})
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 64 || img.Bounds().Dy() != 48 {
		t.Fatalf("output %v", img.Bounds())
	}
	prev, tiles := 0, map[[2]int]bool{}
	for _, p := range rec.p {
		if p.Iter < prev {
			t.Fatalf("iteration %d after %d", p.Iter, prev)
		}
		prev = p.Iter
		if (p.Iter < 4) != (p.Tiles == 0) && p.Iter != 4 {
			t.Fatalf("iteration %d: %+v (the coarse stage is untiled, the fine one tiled)", p.Iter, p)
		}
		if p.Tiles > 0 {
			if p.Passes != 2 || p.Pass < 1 || p.Pass > 2 || p.Tile < 1 || p.Tile > p.Tiles || p.TileRect == nil {
				t.Fatalf("tile fields %+v", p)
			}
			tiles[[2]int{p.Pass, p.Tile}] = true
		}
	}
	last := rec.p[len(rec.p)-1]
	if last.Iter != 8 || len(tiles) < 4 || !strings.Contains(rec.p[0].Note+noteOf(rec.p), "tiled: 64×48 in 36×36 tiles") {
		t.Fatalf("last %+v, %d tiles, notes %q", last, len(tiles), noteOf(rec.p))
	}
	if previews < len(tiles) {
		t.Errorf("%d previews for %d tiles", previews, len(tiles))
	}
}

func noteOf(ps []Progress) string {
	var out []string
	for _, p := range ps {
		if p.Note != "" {
			out = append(out, p.Note)
		}
	}
	return strings.Join(out, " | ")
}

// Loading a tile and storing it back without optimising leaves the image
// as it was, bit for bit (the feather's change is zero, the margins are
// never touched).
func TestTileRoundTrip(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	s := smallSettings().normalized()
	r := &runner{s: s, layers: s.StyleLayers, job: Job{Content: testImage(50, 40, 1), Styles: []image.Image{testImage(30, 30, 2)}},
		b: b, net: net, rng: rand.New(rand.NewPCG(1, 1))}
	if err := r.planRegions(); err != nil {
		t.Fatal(err)
	}
	in := r.prepare(50, 40)
	g, err := newTileGrid(50, 40, 30, r.deepestLayer())
	if err != nil {
		t.Fatal(err)
	}
	ti, err := r.newTiled(in, g)
	if err != nil {
		t.Fatal(err)
	}
	defer ti.free()
	x := r.initial(in)
	want := append([]float32(nil), x...)
	for _, tr := range g.tiles(g.offset(r)) {
		if err := ti.load(x, tr); err != nil {
			t.Fatal(err)
		}
		if err := ti.store(x, tr); err != nil {
			t.Fatal(err)
		}
	}
	for i := range x {
		if x[i] != want[i] {
			t.Fatalf("element %d changed: %g → %g", i, want[i], x[i])
		}
	}
}

// Content masks are cropped to each tile: a region that a tile does not
// reach is left out of that tile (its loss reads 0 there), and the run
// completes.
func TestTiledRunMasks(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	s := smallSettings()
	s.ImageSize, s.Iterations, s.TileSize, s.TilePasses = 96, 2, 32, 1
	s.ContentMasks = []string{halfMask(96, 64, true), halfMask(96, 64, false)}
	var rec recorder
	_, err := Run(context.Background(), b, net, Job{Content: testImage(96, 64, 1), Styles: []image.Image{testImage(32, 32, 2), testImage(32, 32, 3)}, Settings: s},
		Hooks{Progress: rec.hook})
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for _, p := range rec.p {
		if p.TileRect == nil {
			continue
		}
		r := *p.TileRect
		left, right := r[0] < 48, r[2] > 48
		for l, v := range p.Regions {
			if (v[0] == 0) == left || (v[1] == 0) == right {
				t.Fatalf("tile %v at %s: region losses %v", r, l, v)
			}
			if v[0] == 0 || v[1] == 0 {
				off++
			}
		}
	}
	if off == 0 {
		t.Fatal("no tile left a region out")
	}
}

// Cancelling a tiled run stops it within a tile and returns the image so
// far with ctx's error.
func TestTiledRunCancel(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	s := smallSettings()
	s.ImageSize, s.Iterations, s.TileSize = 64, 40, 32
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	img, err := Run(ctx, b, net, Job{Content: testImage(64, 64, 1), Styles: []image.Image{testImage(32, 32, 2)}, Settings: s},
		Hooks{Progress: func(p Progress) {
			if n++; n == 5 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || img == nil || img.Bounds().Dx() != 64 || n > 6 {
		t.Fatalf("err %v, image %v, %d reports", err, img != nil, n)
	}
}

// A GPU lost during a tiled stage: the run moves to the fallback and
// redoes the tile there.
func TestTiledRunFallsBack(t *testing.T) {
	lossy := &kerneltest.Lossy{Backend: naive.Backend{}, FailAfter: 60}
	net := syntheticNet(t, lossy, "conv1_2")
	s := smallSettings()
	s.ImageSize, s.Iterations, s.TileSize, s.Optimizer = 40, 6, 20, "adam"
	s.ContentLayers = []string{"conv1_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 1}}
	c := kernels.Checked(cpu.New(1))
	var rec recorder
	img, err := Run(context.Background(), lossy, net, Job{Content: testImage(40, 40, 1), Styles: []image.Image{testImage(20, 20, 2)}, Settings: s},
		Hooks{Progress: rec.hook, Fallback: func() (kernels.Backend, *model.Net, error) {
			n, err := model.New(c, model.NewSynthetic(1, "conv1_2"))
			return c, n, err
		}})
	if err != nil || img == nil {
		t.Fatalf("Run: %v", err)
	}
	if notes := noteOf(rec.p); !strings.Contains(notes, "the GPU was lost at iteration") || !strings.Contains(notes, "continuing on cpu from the tile in progress") {
		t.Fatalf("notes %q", notes)
	}
	if rec.p[len(rec.p)-1].Iter != 6 {
		t.Fatalf("ended at %+v", rec.p[len(rec.p)-1])
	}
}
