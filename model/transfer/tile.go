package transfer

// Tiled optimisation (issue 13): a stage whose image does not fit (or is
// larger than tile_size) is optimised tile by tile, so that the device
// holds one tile's pass, losses and optimiser whatever the image's size.
//
//   - Tiles are square windows of tile_size pixels (the image's side where
//     it is smaller), all of one size so that the stage is built once.
//     Each window is a core, which the tile optimises and writes back, and
//     a margin of context around it (TileMargin: the receptive-field
//     radius of the deepest layer in use, so that every feature at a core
//     position is computed from exactly the pixels the untiled pass uses).
//     The tile optimises a change z of its pixels, applied through a
//     feather: x = x₀ + f⊙z, f = 1 on the core, falling linearly to 0 over
//     the first half of the margin (the band) and 0 beyond, where the
//     pixels are held as they are (∂J/∂z = f⊙∂J/∂x, an exact
//     reparametrisation, so the optimisers' line searches stay exact). A
//     tile so adapts its core to its neighbours as they are, and the change
//     fades out across the band instead of stepping at the core's border;
//     the whole window is written back.
//   - The cores partition the image on a grid of step tile − 2·margin,
//     shifted by a random offset (a multiple of the deepest layer's
//     stride, so that the poolings see the windows they see in the whole
//     image) every pass, so that no seam stays in one place
//     (crowsonkb/style_transfer's technique). tile_passes passes share the
//     stage's iterations: every tile gets its share in every pass.
//   - Style targets are computed once per stage, at the style's scale
//     (style_scale × the stage's size, as untiled), through windows of at
//     most tile_size pixels: each window's core positions are weighted
//     into the statistics by a guide (style.AddGuidedTarget), each window
//     by its share of the positions, so that gram and mmd targets are the
//     whole image's exactly (cov and meanstd centre each window on its own
//     mean: an approximation, the closer the larger the windows);
//     swd, which keeps the style's sorted projections, computes them with
//     the style image scaled to the tile.
//   - A tile's style statistics are its core's (a guide carried to every
//     style layer: the core's features are the whole image's, the margin's
//     are not), times its part of each content_masks region (a region
//     absent from a tile leaves its loss out of that tile); swd, which
//     cannot be guided, takes the whole window's. Content targets are per
//     tile (the content's window through the network). Colour control and
//     original_colors act on the whole image, before and after, as
//     untiled.
//   - The optimiser's state is per tile: L-BFGS's history and Adam's
//     moments start afresh at every tile (a tile's curvature says nothing
//     about another's, and a shifted grid never visits the same tile
//     twice); the state is allocated once and reset.
//   - Progress reports the tile and pass (Progress.Tile …, omitted
//     untiled) and the tile's losses; Iter advances by the stage's
//     iterations in proportion to the tiles done; a preview follows every
//     tile when previews are on; cancelling stops between iterations with
//     the image so far; a GPU that fails moves the run to the fallback,
//     which redoes the tile.

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/optim"
	"github.com/crema-app/crema/model/style"
)

// ---- the geometry ----

// span is one tile's extent along one axis: its core [a, b) and its
// window's start (the window is the tile's side long).
type span struct{ a, b, start int }

// tileSpans cuts [0, L) into cores on a grid of step shifted by off, each
// inside a window of side t that keeps margin pixels of context on either
// side (within the image). A first or last core that fits in one window
// with its neighbour is merged into it.
func tileSpans(l, t, margin, step, off int) []span {
	if l <= t {
		return []span{{0, l, 0}}
	}
	bounds := []int{0}
	for x := off; x < l; x += step {
		if x > 0 {
			bounds = append(bounds, x)
		}
	}
	bounds = append(bounds, l)
	if len(bounds) > 2 && bounds[2]+margin <= t {
		bounds = append(bounds[:1], bounds[2:]...)
	}
	if n := len(bounds); n > 2 && l-bounds[n-3]+margin <= t {
		bounds = append(bounds[:n-2], bounds[n-1])
	}
	out := make([]span, 0, len(bounds)-1)
	for i := 0; i+1 < len(bounds); i++ {
		a, b := bounds[i], bounds[i+1]
		out = append(out, span{a, b, min(max(a-margin, 0), l-t)})
	}
	return out
}

// tileGrid is the geometry of a tiled stage of a w×h image.
type tileGrid struct {
	w, h         int // the image
	tw, th       int // every window
	margin, step int
	stride       int // of the deepest layer: offsets are multiples of it
}

// newTileGrid lays out tiles of side tile for a pass to layer deepest.
func newTileGrid(w, h, tile int, deepest string) (tileGrid, error) {
	if min := MinTile(deepest); tile < min {
		return tileGrid{}, fmt.Errorf("transfer: tile_size %d is too small for %s: a tile keeps %d px of context on each side (its receptive field) and a core of at least %d px, so tile_size must be at least %d",
			tile, deepest, TileMargin(deepest), min-2*TileMargin(deepest), min)
	}
	margin := TileMargin(deepest)
	_, stride := receptive(deepest)
	step := (tile - 2*margin) / stride * stride
	return tileGrid{w: w, h: h, tw: min(tile, w), th: min(tile, h), margin: margin, step: step, stride: stride}, nil
}

// tileRect is one tile: its window's origin and its core, in the image's
// pixels.
type tileRect struct {
	x0, y0             int // window origin (the window is tw×th)
	cx0, cy0, cx1, cy1 int // core
}

// tiles are the tiles of one pass whose grid is shifted by (ox, oy), in
// row-major order.
func (g tileGrid) tiles(ox, oy int) []tileRect {
	var out []tileRect
	for _, y := range tileSpans(g.h, g.th, g.margin, g.step, oy) {
		for _, x := range tileSpans(g.w, g.tw, g.margin, g.step, ox) {
			out = append(out, tileRect{x0: x.start, y0: y.start, cx0: x.a, cy0: y.a, cx1: x.b, cy1: y.b})
		}
	}
	return out
}

// offset draws a pass's shift: a multiple of the stride in [0, step).
func (g tileGrid) offset(r *runner) (int, int) {
	n := max(1, g.step/g.stride)
	return r.rng.IntN(n) * g.stride, r.rng.IntN(n) * g.stride
}

// styleWindow is one window of a style image for its targets: its extent
// and the core whose positions it contributes.
type styleWindow struct {
	x0, y0, w, h       int
	cx0, cy0, cx1, cy1 int
	guided             bool // one of several: its core is weighed in by a guide
}

// styleWindows cuts a sw×sh style image into windows of at most tile
// pixels for style layers to depth steps (the whole image when it fits,
// or when not tiled): cores on a grid of step tile − 2·margin from the
// origin (multiples of the stride), windows with margin pixels of context.
func styleWindows(sw, sh, tile, depth int, tiled bool) []styleWindow {
	if !tiled || tile <= 0 || depth == 0 || (sw <= tile && sh <= tile) {
		return []styleWindow{{w: sw, h: sh, cx1: sw, cy1: sh}}
	}
	var out []styleWindow
	for _, y := range windowSpans(sh, tile, depth) {
		for _, x := range windowSpans(sw, tile, depth) {
			out = append(out, styleWindow{x0: x[0], y0: y[0], w: x[1] - x[0], h: y[1] - y[0],
				cx0: x[2], cy0: y[2], cx1: x[3], cy1: y[3], guided: true})
		}
	}
	return out
}

// styleWindowSizes are the distinct sizes of styleWindows' windows, and
// whether they are guided (the memory model replays one of each).
func styleWindowSizes(sw, sh, tile, depth int, tiled bool) (sizes [][2]int, guided bool) {
	if !tiled || tile <= 0 || depth == 0 || (sw <= tile && sh <= tile) {
		return [][2]int{{sw, sh}}, false
	}
	lengths := func(l int) []int {
		var out []int
		for _, s := range windowSpans(l, tile, depth) {
			if n := s[1] - s[0]; !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	for _, h := range lengths(sh) {
		for _, w := range lengths(sw) {
			sizes = append(sizes, [2]int{w, h})
		}
	}
	return sizes, true
}

// windowSpans cuts [0, l) for styleWindows: {window start, end, core
// start, end} of each window.
func windowSpans(l, tile, depth int) [][4]int {
	if l <= tile {
		return [][4]int{{0, l, 0, l}}
	}
	layer := vgg[depth-1].name
	margin := TileMargin(layer)
	_, stride := receptive(layer)
	step := max(stride, (tile-2*margin)/stride*stride)
	var out [][4]int
	for a := 0; a < l; a += step {
		b := min(a+step, l)
		out = append(out, [4]int{max(0, a-margin), min(l, b+margin), a, b})
	}
	return out
}

// crop copies the window (x0, y0, w, h) of planes p: [c, ph, pw] into
// dst: [c, h, w].
func crop(dst, p []float32, c, ph, pw, x0, y0, w, h int) {
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			src := p[ch*ph*pw+(y0+y)*pw+x0:]
			copy(dst[ch*h*w+y*w:ch*h*w+(y+1)*w], src[:w])
		}
	}
}

// ---- style targets through windows ----

// windowTargets adds style image i's targets to the regions users through
// windows of at most st.in.tile pixels (styleWindows), each window's core
// weighted by its share of the image's positions at every layer.
func (st *stage) windowTargets(pool kernels.Pooling, lnames []string, i int, users []int) error {
	in, b, pre := st.in, st.b, st.net.Preprocess()
	sw, sh := in.sizes[i][0], in.sizes[i][1]
	depth := 0
	for _, n := range lnames {
		d, _ := stepIndex(n)
		depth = max(depth, d+1)
	}
	windows := styleWindows(sw, sh, in.tile, depth, st.s.StyleCost != style.SWD)
	mask := in.styleMasks[i]
	// Each layer's total weight over the whole image: the positions (or
	// the style mask's weight) the windows' cores share out.
	totals := make([]float64, len(lnames))
	if len(windows) > 1 {
		full := mask
		if full == nil {
			full = ones(sw * sh)
		}
		ps := passShapes(sh, sw, depth)
		for j, name := range lnames {
			fs := ps.shapeOf(name)
			g, err := style.Guide(full, sh, sw, fs.H, fs.W, false)
			if err != nil {
				return regionError("style mask", i, name, fs.W, fs.H, err)
			}
			for _, v := range g {
				totals[j] += float64(v)
			}
		}
	}
	var sp *model.Pass
	var sx kernels.Tensor
	defer func() {
		if sp != nil {
			sp.Free()
			b.Free(sx)
		}
	}()
	for _, win := range windows {
		if sp == nil || sp.Input().H != win.h || sp.Input().W != win.w {
			if sp != nil {
				sp.Free()
				b.Free(sx)
				sp = nil
			}
			var err error
			if sp, err = st.net.NewPass(win.h, win.w, pool, lnames); err != nil {
				return fmt.Errorf("transfer: style image %d, window %d×%d: %s", i+1, win.w, win.h, trimModel(err))
			}
			if sx, err = b.Alloc(3 * win.w * win.h); err != nil {
				sp.Free()
				sp = nil
				return fmt.Errorf("transfer: device memory for a %d×%d style window: %w", win.w, win.h, err)
			}
		}
		rgb, buf := make([]float32, 3*win.w*win.h), make([]float32, 3*win.w*win.h)
		crop(rgb, in.styles[i], 3, sh, sw, win.x0, win.y0, win.w, win.h)
		model.ToInput(buf, rgb, pre)
		b.Write(sx, buf)
		sp.Forward(sx)
		if !win.guided {
			if err := st.addTargets(sp, lnames, i, users); err != nil {
				return err
			}
			continue
		}
		// The window's guide: its core (times the style mask).
		g := make([]float32, win.w*win.h)
		for y := win.cy0; y < win.cy1; y++ {
			for x := win.cx0; x < win.cx1; x++ {
				v := float32(1)
				if mask != nil {
					v = mask[y*sw+x]
				}
				g[(y-win.y0)*win.w+x-win.x0] = v
			}
		}
		for j, name := range lnames {
			feat, fs, err := sp.Feature(name)
			if err != nil {
				return fmt.Errorf("transfer: %s", trimModel(err))
			}
			guide, err := style.Guide(g, win.h, win.w, fs.H, fs.W, false)
			if style.IsEmptyGuide(err) {
				continue // no position of this layer in the core
			}
			if err != nil {
				return regionError("style mask", i, name, fs.W, fs.H, err)
			}
			var sum float64
			for _, v := range guide {
				sum += float64(v)
			}
			for _, r := range users {
				if err := st.styles[j*len(in.regions)+r].AddGuidedTarget(feat, fs.H*fs.W, in.blend[i]*sum/totals[j], guide); err != nil {
					return fmt.Errorf("transfer: %s", trimStyle(err))
				}
			}
		}
	}
	return nil
}

func ones(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// ---- the tiled stage ----

// tiled is a tiled stage: the losses and optimiser at the tile's size
// (stage), the whole image's inputs and the grid.
type tiled struct {
	*stage
	full *inputs // the stage's inputs at the image's size
	grid tileGrid
	// The tile's feather f and its pixels: x = x₀ + f⊙z, z being the
	// optimised stage.x. All [3, th, tw].
	feather, x0, xin kernels.Tensor
	buf              []float32 // [3, th, tw]: host scratch
	cnet             []float32 // [3, h, w]: the content in network units
}

func (t *tiled) free() {
	if t == nil {
		return
	}
	for _, x := range []kernels.Tensor{t.feather, t.x0, t.xin} {
		if x != nil {
			t.b.Free(x)
		}
	}
	t.stage.free()
}

// deepestLayer is the deepest layer the stage's pass computes.
func (r *runner) deepestLayer() string {
	d := 1
	if r.s.ContentWeight > 0 {
		for _, l := range r.s.ContentLayers {
			if i, ok := stepIndex(l); ok {
				d = max(d, i+1)
			}
		}
	}
	for _, l := range r.layers {
		if i, ok := stepIndex(l.Layer); ok {
			d = max(d, i+1)
		}
	}
	return vgg[d-1].name
}

// newTiled builds a tiled stage for in (the whole image's inputs) on the
// runner's backend: the losses at the window's size (built on the first
// window, their style targets through windows of the tile's size; every
// style term guided, so that each tile can give it its core), the feather
// and the tile's pixels.
func (r *runner) newTiled(in *inputs, g tileGrid) (*tiled, error) {
	tw, th := g.tw, g.th
	ti := &inputs{w: tw, h: th, styles: in.styles, sizes: in.sizes, blend: in.blend, styleMasks: in.styleMasks, tile: max(tw, th)}
	ti.content = make([]float32, 3*tw*th)
	crop(ti.content, in.content, 3, in.h, in.w, 0, 0, tw, th)
	ti.colour = ti.content
	for _, rg := range in.regions {
		t := region{styles: rg.styles, weight: rg.weight}
		if rg.mask != nil || r.s.StyleCost != style.SWD {
			// Guided: SetGuide gives each tile its core (and its part of
			// the region's mask).
			t.mask = ones(tw * th)
		}
		ti.regions = append(ti.regions, t)
	}
	x0 := make([]float32, 3*tw*th)
	st, err := newStage(r.b, r.net, r.s, r.layers, ti, x0)
	if err != nil {
		return nil, err
	}
	t := &tiled{stage: st, full: in, grid: g, buf: make([]float32, 3*tw*th)}
	for _, p := range []*kernels.Tensor{&t.feather, &t.x0, &t.xin} {
		if *p, err = r.b.Alloc(3 * tw * th); err != nil {
			t.free()
			return nil, fmt.Errorf("transfer: device memory for a %d×%d tile: %w", tw, th, err)
		}
	}
	t.off = make([]bool, len(st.styles))
	t.cnet = make([]float32, len(in.content))
	model.ToInput(t.cnet, in.content, r.net.Preprocess())
	return t, nil
}

// load prepares the tile tr of x (the whole image, network units): its
// content targets, its regions' guides, its feather and its pixels.
func (t *tiled) load(x []float32, tr tileRect) error {
	b, in, g := t.b, t.full, t.grid
	tw, th := g.tw, g.th
	// Content targets: the content's window through the network.
	if len(t.cnames) > 0 {
		crop(t.buf, t.cnet, 3, in.h, in.w, tr.x0, tr.y0, tw, th)
		b.Write(t.dx, t.buf)
		t.pass.Forward(t.dx)
		for i, name := range t.cnames {
			feat, _, err := t.pass.Feature(name)
			if err != nil {
				return err
			}
			if err := t.contents[i].SetTarget(feat); err != nil {
				return fmt.Errorf("transfer: %s", trimStyle(err))
			}
		}
	}
	// The feather.
	band := g.band()
	fx := featherRamp(tw, tr.x0, tr.cx0, tr.cx1, band)
	fy := featherRamp(th, tr.y0, tr.cy0, tr.cy1, band)
	for y := 0; y < th; y++ {
		for x := 0; x < tw; x++ {
			t.buf[y*tw+x] = fy[y] * fx[x]
		}
	}
	copy(t.buf[tw*th:], t.buf[:tw*th])
	copy(t.buf[2*tw*th:], t.buf[:tw*th])
	b.Write(t.feather, t.buf)
	// The core, for the guides.
	clear(t.buf[:tw*th])
	for y := tr.cy0; y < tr.cy1; y++ {
		for x := tr.cx0; x < tr.cx1; x++ {
			t.buf[(y-tr.y0)*tw+x-tr.x0] = 1
		}
	}
	// The style statistics are the core's (its features see the whole
	// image's pixels: the margin is their receptive field), times each
	// region's mask: guides carried to every style layer. swd, which
	// cannot be guided, takes the whole window's.
	nr := len(in.regions)
	for r, rg := range in.regions {
		if !t.styles[r].Guided() {
			continue
		}
		var m []float32
		if rg.mask != nil {
			m = make([]float32, tw*th)
			crop(m, rg.mask, 1, in.h, in.w, tr.x0, tr.y0, tw, th)
		}
		for j, l := range t.layers {
			name := model.Canonical(l.Layer)
			_, sh, err := t.pass.Feature(name)
			if err != nil {
				return err
			}
			k := j*nr + r
			guide, err := style.Guide(t.buf[:tw*th], th, tw, sh.H, sh.W, false)
			if err == nil && m != nil {
				var rg []float32
				if rg, err = style.Guide(m, th, tw, sh.H, sh.W, t.s.MaskErode); err == nil {
					for i := range guide {
						guide[i] *= rg[i]
					}
				}
			}
			if err == nil {
				err = t.styles[k].SetGuide(guide)
			}
			t.off[k] = style.IsEmptyGuide(err)
			if err != nil && !t.off[k] {
				return regionError("region", r, name, sh.W, sh.H, err)
			}
		}
	}
	crop(t.buf, x, 3, in.h, in.w, tr.x0, tr.y0, tw, th)
	b.Write(t.x0, t.buf)
	b.Fill(t.x, 0)
	b.Copy(t.xGood, t.x)
	return nil
}

// featherRamp is the feather along one axis of a window of n pixels at
// origin o whose core is [a, b): 1 on the core, falling linearly to 0
// over band pixels on either side.
func featherRamp(n, o, a, b, band int) []float32 {
	out := make([]float32, n)
	for i := range out {
		p := o + i
		d := max(a-p, p-(b-1), 0) // distance from the core
		if d < band {
			out[i] = 1 - float32(d)/float32(band)
		}
	}
	return out
}

// band is the width of the feather: half the margin.
func (g tileGrid) band() int { return max(1, g.margin/2) }

// pixels sets xin = x₀ + f⊙z.
func (t *tiled) pixels(z kernels.Tensor) {
	t.b.Copy(t.xin, z)
	t.b.Mul(t.xin, t.xin, t.feather)
	t.b.Axpy(t.xin, 1, t.x0)
}

// eval is the tile's objective as a function of z: the stage's at
// x₀ + f⊙z, with ∂J/∂z = f⊙∂J/∂x.
func (t *tiled) eval(z, dz kernels.Tensor) (float64, error) {
	t.pixels(z)
	loss, err := t.stage.eval(t.xin, dz)
	if err == nil {
		t.b.Mul(dz, dz, t.feather)
	}
	return loss, err
}

// store writes the tile's window back into x (the whole image): its pixels
// beyond the band are x₀'s exactly (f = 0 there).
func (t *tiled) store(x []float32, tr tileRect) error {
	in, g := t.full, t.grid
	t.pixels(t.x)
	v := t.buf
	if err := t.b.Read(v, t.xin); err != nil {
		return err
	}
	for c := 0; c < 3; c++ {
		for y := 0; y < g.th; y++ {
			copy(x[c*in.w*in.h+(tr.y0+y)*in.w+tr.x0:][:g.tw], v[c*g.tw*g.th+y*g.tw:][:g.tw])
		}
	}
	return nil
}

// tiledPrepare adapts a stage's inputs to tiles of side tile: swd keeps
// the style's sorted projections whole, so its style images are scaled to
// fit the tile (their sorted quantiles are resampled to the tile's
// positions anyway).
func (r *runner) tiledPrepare(in *inputs, tile int) {
	if r.s.StyleCost != style.SWD {
		return
	}
	for i, sz := range in.sizes {
		if max(sz[0], sz[1]) <= tile {
			continue
		}
		w, h := FitSize(sz[0], sz[1], tile)
		in.styles[i] = resizePlanar(in.styles[i], 3, sz[1], sz[0], h, w)
		in.sizes[i] = [2]int{w, h}
		if i < len(r.smasks) && r.smasks[i] != nil {
			in.styleMasks[i] = maskPlane(r.smasks[i], w, h)
		}
	}
}

// runTiled optimises a stage tile by tile, from x (network units, the whole
// image) up to iteration until, and returns the image (network units) and,
// on the last stage or an early end, the picture.
func (r *runner) runTiled(in *inputs, x []float32, until int, lastStage bool, tile int) ([]float32, *image.RGBA, error) {
	g, err := newTileGrid(in.w, in.h, tile, r.deepestLayer())
	if err != nil {
		return nil, nil, err
	}
	r.tiledPrepare(in, tile)
	r.snapX, r.snapIter = x, r.iter
	prev := kernels.LastError(r.b)
	t, err := r.newTiled(in, g)
	for err != nil {
		if last := kernels.LastError(r.b); last != nil && last != prev && !errors.Is(err, kernels.ErrDevice) {
			err = gpuCause{err, last}
		}
		if !r.canFallBack(err) {
			return nil, nil, err
		}
		if err = r.tiledFallBack(err); err != nil {
			return nil, r.image(in, x), err
		}
		t, err = r.newTiled(in, g)
	}
	defer func() { t.free() }()

	from := r.iter
	total := until - from
	passes := min(r.s.TilePasses, total)
	done := 0 // iterations of the stage done, summed over the passes before
	for p := 0; p < passes; p++ {
		k := total / passes
		if p < total%passes {
			k++
		}
		ox, oy := g.offset(r)
		tiles := g.tiles(ox, oy)
		if p == 0 {
			r.note = joinNote(r.note, fmt.Sprintf("tiled: %d×%d in %d×%d tiles (%d px of context around each core), %d tiles a pass, %d passes of %d iterations per tile",
				in.w, in.h, g.tw, g.th, g.margin, len(tiles), passes, k))
		}
		for i := 0; i < len(tiles); i++ {
			tr := tiles[i]
			pos := tilePos{pass: p + 1, passes: passes, tile: i + 1, tiles: len(tiles), k: k, base: from + done,
				rect: [4]int{tr.cx0, tr.cy0, tr.cx1, tr.cy1}}
			stop, err := r.tileLoop(t, x, tr, pos)
			if r.canFallBack(err) {
				t.free()
				if err = r.tiledFallBack(err); err == nil {
					t, err = r.newTiled(in, g)
				}
				if err != nil {
					t = nil
					return x, r.image(in, x), err
				}
				i-- // the tile again, on the fallback
				continue
			}
			if err != nil {
				return x, r.image(in, x), err
			}
			r.snapX, r.snapIter = x, r.iter
			if r.hooks.Preview != nil && r.s.PreviewEvery > 0 {
				r.hooks.Preview(r.iter, r.image(in, x))
			}
			if stop {
				return x, r.image(in, x), nil
			}
		}
		done += k
	}
	r.iter = until
	if !lastStage {
		return x, nil, nil
	}
	if r.note != "" {
		r.emit(t.stage, r.iter)
	}
	return x, r.image(in, x), nil
}

// tiledFallBack moves the run to hooks.Fallback's backend after the GPU
// failed with cause.
func (r *runner) tiledFallBack(cause error) error {
	r.fellBack = true
	b, net, err := r.hooks.Fallback()
	if err != nil {
		return fmt.Errorf("transfer: the GPU failed (%v) and the fallback failed: %v", cause, err)
	}
	r.b, r.net = b, net
	what := fmt.Sprintf("the GPU failed at iteration %d (%v)", r.iter, cause)
	if errors.Is(cause, kernels.ErrDeviceLost) {
		what = fmt.Sprintf("the GPU was lost at iteration %d (%v)", r.iter, cause)
	}
	r.note = joinNote(r.note, fmt.Sprintf("%s; continuing on %s from the tile in progress", what, b.Name()))
	return nil
}

// tilePos is where a tile stands in its stage.
type tilePos struct {
	pass, passes, tile, tiles int
	k                         int // iterations per tile in this pass
	base                      int // the stage's iteration at the pass's start
	rect                      [4]int
}

// iter is the stage's iteration after j of the tile's k: the pass's
// iterations in proportion to its tiles done.
func (p tilePos) iter(j int) int { return p.base + ((p.tile-1)*p.k+j)/p.tiles }

// tileLoop runs the optimiser on one tile for pos.k iterations (fewer
// when it converges) and writes its core back into x. stop: the run
// should end (rollbacks exhausted).
func (r *runner) tileLoop(t *tiled, x []float32, tr tileRect, pos tilePos) (stop bool, err error) {
	if err := t.load(x, tr); err != nil {
		return false, err
	}
	emit := func(j int) {
		r.iter = pos.iter(j)
		p := t.cur
		p.Tile, p.Tiles, p.Pass, p.Passes = pos.tile, pos.tiles, pos.pass, pos.passes
		rect := pos.rect
		p.TileRect = &rect
		t.cur = p
		r.emit(t.stage, r.iter)
	}
	t.opt.Reset()
	loss, err := t.opt.Start(t.x, t.eval)
	if err != nil {
		return false, err
	}
	if pos.pass == 1 && pos.tile == 1 && r.iter == 0 {
		emit(0)
	}
	best := loss
	for j := 0; j < pos.k; {
		if err := r.ctx.Err(); err != nil {
			if serr := t.store(x, tr); serr != nil {
				return false, serr
			}
			return false, err
		}
		res, err := t.opt.Step(t.x, t.eval)
		if err != nil {
			return false, err
		}
		if !finiteF(res.Loss) || res.Loss > divergeFactor*math.Max(best, 0) && best > 0 {
			r.rollbacks++
			t.b.Copy(t.x, t.xGood)
			t.opt.Reset()
			switch o := t.opt.(type) {
			case *optim.Adam:
				o.SetLR(o.LR() / 2)
			case *optim.LBFGS:
				t.maxStep /= 4
				o.SetMaxStep(t.maxStep)
			}
			if r.rollbacks > maxRollbacks {
				r.note = joinNote(r.note, fmt.Sprintf("the loss diverged %d times; stopped with the image of iteration %d", r.rollbacks, r.iter))
				emit(j)
				return true, t.store(x, tr)
			}
			r.note = joinNote(r.note, fmt.Sprintf("the loss of tile %d became %.3g; rolled the tile back and restarted its optimiser", pos.tile, res.Loss))
			if _, err := t.opt.Start(t.x, t.eval); err != nil {
				return false, err
			}
			continue
		}
		if !res.Moved {
			break // the tile is as good as its optimiser makes it
		}
		j++
		best = math.Min(best, res.Loss)
		t.b.Copy(t.xGood, t.x)
		emit(j)
		if res.Done && r.s.StyleCost != style.SWD {
			break
		}
		if res.Done {
			t.opt.Reset()
			if _, err := t.opt.Start(t.x, t.eval); err != nil {
				return false, err
			}
		}
	}
	if r.iter < pos.iter(pos.k) {
		emit(pos.k) // a tile that stopped early still counts its share
	}
	return false, t.store(x, tr)
}

// Evaluate is the objective of job's settings (its final stage, untiled)
// at the picture img (job.Content's size at image_size): the losses a run
// reports, without optimising. It compares a tiled run's result with an
// untiled one's on the same terms.
func Evaluate(b kernels.Backend, net *model.Net, job Job, img image.Image) (Progress, error) {
	if net == nil || b != net.Backend() {
		return Progress{}, errors.New("transfer: Evaluate needs the network on b")
	}
	s := job.Settings.normalized()
	if err := s.Validate(net); err != nil {
		return Progress{}, err
	}
	layers := s.styleInUse()
	if err := checkJob(job, s, len(layers) > 0); err != nil {
		return Progress{}, err
	}
	r := &runner{s: s, layers: layers, job: job, b: b, net: net}
	if len(layers) > 0 {
		if err := r.planRegions(); err != nil {
			return Progress{}, err
		}
	}
	cb := job.Content.Bounds()
	w, h := FitSize(cb.Dx(), cb.Dy(), s.ImageSize)
	if ib := img.Bounds(); ib.Dx() != w || ib.Dy() != h {
		return Progress{}, fmt.Errorf("transfer: Evaluate: the picture is %d×%d, the settings make %d×%d", ib.Dx(), ib.Dy(), w, h)
	}
	in := r.prepare(w, h)
	x := make([]float32, 3*w*h)
	model.ToInput(x, planar(img), net.Preprocess())
	st, err := newStage(b, net, s, layers, in, x)
	if err != nil {
		return Progress{}, err
	}
	defer st.free()
	if _, err := st.eval(st.x, st.dx); err != nil {
		return Progress{}, err
	}
	return st.cur, nil
}
