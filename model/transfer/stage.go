package transfer

import (
	"fmt"
	"math"
	"slices"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/optim"
	"github.com/crema-app/crema/model/style"
)

// inputs are the host images of one stage (one image size), RGB planes
// [3, H, W] in [0, 1] as the losses see them (luminance only with
// original_colors).
type inputs struct {
	w, h    int
	content []float32   // [3, h, w]: what the content loss compares with
	colour  []float32   // [3, h, w]: the content in colour, for original_colors
	styles  [][]float32 // [3, sh_i, sw_i]
	sizes   [][2]int    // (sw_i, sh_i)
	blend   []float64   // per style, positive

	styleMasks [][]float32 // per style: [sh_i, sw_i] weights, or nil (all of it)
	regions    []region    // at least one when there are style layers

	// tile, for a tiled stage's losses (tile.go): the style targets are
	// computed through windows of at most tile pixels of the style images.
	tile int
}

// region is one region of the output at a stage's size.
type region struct {
	mask   []float32 // [h, w]: weights in [0, 1]; nil: the whole image
	styles []int     // indices into inputs.styles
	weight float64   // multiplies the region's style loss
}

// stage is everything on the device for optimising one image size.
type stage struct {
	b      kernels.Backend
	net    *model.Net
	s      Settings
	in     *inputs
	pass   *model.Pass
	layers []LayerWeight // style layers of weight > 0
	lnames []string      // their canonical names

	x, dx, xGood kernels.Tensor            // [3, h, w]: image (network units), gradient, last good image
	grads        map[string]kernels.Tensor // layer → ∂J/∂A: [C, H, W]
	losses       kernels.Tensor            // [len(contents) + len(styles) + 1]
	host         []float32
	contents     []*style.Content
	cnames       []string
	styles       []*style.Layer // [layer j][region r] at j·len(in.regions) + r
	opt          optim.Optimizer
	lr, maxStep  float64 // current Adam learning rate / L-BFGS step cap

	cur Progress // losses of the last evaluation

	// off, in a tiled stage: the style terms (j·len(regions) + r) left
	// out of the current tile (their region has no weight there).
	off []bool
}

// pixelUnit is one 0–255 pixel level in the network's input units.
func pixelUnit(net *model.Net) float64 {
	pre := net.Preprocess()
	return float64(pre.Scale) / 255 / float64(pre.Std[0])
}

// newStage uploads x0: [3, h, w] (network units) and builds the losses'
// targets from in.
func newStage(b kernels.Backend, net *model.Net, s Settings, layers []LayerWeight, in *inputs, x0 []float32) (st *stage, err error) {
	st = &stage{b: b, net: net, s: s, in: in, layers: layers, grads: map[string]kernels.Tensor{}}
	defer func() {
		if err != nil {
			st.free()
			st = nil
		}
	}()
	pool := kernels.MaxPool
	if s.Pooling == kernels.AvgPool.String() {
		pool = kernels.AvgPool
	}
	var names []string
	if s.ContentWeight > 0 {
		for _, l := range s.ContentLayers {
			st.cnames = append(st.cnames, model.Canonical(l))
		}
	}
	names = append(names, st.cnames...)
	for _, l := range layers {
		st.lnames = append(st.lnames, model.Canonical(l.Layer))
	}
	names = append(names, st.lnames...)
	if len(names) == 0 {
		names = []string{"conv1_1"} // tv only: a pass still needs a layer
	}
	n := 3 * in.h * in.w
	if st.pass, err = net.NewPass(in.h, in.w, pool, names); err != nil {
		return nil, fmt.Errorf("transfer: %s", trimModel(err))
	}
	alloc := func(n int) (kernels.Tensor, error) {
		t, err := b.Alloc(n)
		if err != nil {
			return nil, fmt.Errorf("transfer: device memory for a %d×%d image: %w", in.w, in.h, err)
		}
		return t, nil
	}
	for _, p := range []*kernels.Tensor{&st.x, &st.dx, &st.xGood} {
		if *p, err = alloc(n); err != nil {
			return nil, err
		}
	}
	nterms := len(layers) * len(in.regions)
	if st.losses, err = alloc(len(st.cnames) + nterms + 1); err != nil {
		return nil, err
	}
	st.host = make([]float32, len(st.cnames)+nterms+1)
	pre := net.Preprocess()
	buf := make([]float32, n)

	// Content targets.
	if len(st.cnames) > 0 {
		model.ToInput(buf, in.content, pre)
		b.Write(st.x, buf)
		st.pass.Forward(st.x)
		for _, name := range st.cnames {
			feat, sh, err := st.pass.Feature(name)
			if err != nil {
				return nil, err
			}
			c, err := style.NewContent(b, feat, sh.C, sh.H*sh.W)
			if err != nil {
				return nil, err
			}
			st.contents = append(st.contents, c)
			if err := st.grad(name, sh); err != nil {
				return nil, err
			}
		}
	}
	// Style losses: one per layer and region, each region's mask carried
	// down to the layer (style.Guide).
	if len(layers) > 0 {
		lnames := st.lnames
		for i, name := range lnames {
			_, sh, err := st.pass.Feature(name)
			if err != nil {
				return nil, err
			}
			for r, rg := range in.regions {
				var guide []float32
				if rg.mask != nil {
					if guide, err = style.Guide(rg.mask, in.h, in.w, sh.H, sh.W, s.MaskErode); err != nil {
						return nil, regionError("region", r, name, sh.W, sh.H, err)
					}
				}
				spec := style.Spec{Stat: s.StyleStat, Cost: s.StyleCost, Seed: uint64(s.Seed)*0x9e3779b97f4a7c15 + uint64(i) + 1 + uint64(r)<<32}
				sl, err := style.NewGuidedLayer(b, spec, sh.C, sh.H*sh.W, guide)
				if err != nil {
					return nil, fmt.Errorf("transfer: %s", trimStyle(err))
				}
				st.styles = append(st.styles, sl)
			}
			if err := st.grad(name, sh); err != nil {
				return nil, err
			}
		}
		// Style targets: one pass per style image at its own size (or,
		// in a tiled stage, per window of it: tile.go), added to every
		// region that takes the style.
		for i, img := range in.styles {
			users := regionsUsing(in.regions, i)
			if len(users) == 0 {
				continue
			}
			if in.tile > 0 {
				if err := st.windowTargets(pool, lnames, i, users); err != nil {
					return nil, err
				}
				continue
			}
			sw, sh := in.sizes[i][0], in.sizes[i][1]
			sp, err := net.NewPass(sh, sw, pool, lnames)
			if err != nil {
				return nil, fmt.Errorf("transfer: style image %d at %d×%d: %s", i+1, sw, sh, trimModel(err))
			}
			sx, err := alloc(3 * sw * sh)
			if err != nil {
				sp.Free()
				return nil, err
			}
			sbuf := make([]float32, 3*sw*sh)
			model.ToInput(sbuf, img, pre)
			b.Write(sx, sbuf)
			sp.Forward(sx)
			err = st.addTargets(sp, lnames, i, users)
			sp.Free()
			b.Free(sx)
			if err != nil {
				return nil, err
			}
		}
		for _, sl := range st.styles {
			if err := sl.Finish(); err != nil {
				return nil, fmt.Errorf("transfer: %s", trimStyle(err))
			}
		}
	}
	b.Write(st.x, x0)
	b.Copy(st.xGood, st.x)

	unit := pixelUnit(net)
	switch s.Optimizer {
	case optim.NameAdam:
		st.lr = s.LearningRate * unit
		st.opt, err = optim.NewAdam(b, n, optim.AdamOptions{LR: st.lr})
	default:
		st.maxStep = 64 * unit
		st.opt, err = optim.NewLBFGS(b, n, optim.LBFGSOptions{History: s.LBFGSHistory, FirstStep: 2 * unit, MaxStep: st.maxStep})
	}
	if err != nil {
		return nil, fmt.Errorf("transfer: %s", trimPrefixWord(err, "optim: "))
	}
	return st, nil
}

// addTargets adds style image i's activations (sp has run on it) at every
// style layer to the losses of the regions that take it (users), weighted
// by its style mask when it has one.
func (st *stage) addTargets(sp *model.Pass, lnames []string, i int, users []int) error {
	in := st.in
	sw, sh := in.sizes[i][0], in.sizes[i][1]
	for j, name := range lnames {
		feat, fs, err := sp.Feature(name)
		if err != nil {
			return fmt.Errorf("transfer: %s", trimModel(err))
		}
		var guide []float32
		if in.styleMasks[i] != nil {
			if guide, err = style.Guide(in.styleMasks[i], sh, sw, fs.H, fs.W, st.s.MaskErode); err != nil {
				return regionError("style mask", i, name, fs.W, fs.H, err)
			}
		}
		for _, r := range users {
			if err := st.styles[j*len(in.regions)+r].AddGuidedTarget(feat, fs.H*fs.W, in.blend[i], guide); err != nil {
				return fmt.Errorf("transfer: %s", trimStyle(err))
			}
		}
	}
	return nil
}

// regionsUsing lists the regions that take style image i.
func regionsUsing(regions []region, i int) []int {
	var out []int
	for r, rg := range regions {
		if slices.Contains(rg.styles, i) {
			out = append(out, r)
		}
	}
	return out
}

// regionError explains a mask that Guide cannot carry to a layer (what is
// "region" or "style mask", i its index).
func regionError(what string, i int, layer string, w, h int, err error) error {
	if style.IsEmptyGuide(err) {
		return fmt.Errorf("transfer: %s %d is empty at %s (%d×%d): its mask covers too little of the image at that layer's resolution", what, i+1, layer, w, h)
	}
	return fmt.Errorf("transfer: %s %d at %s: %s", what, i+1, layer, trimStyle(err))
}

// grad makes the gradient buffer of a layer (shared by its losses).
func (st *stage) grad(name string, sh model.Shape) error {
	if st.grads[name] != nil {
		return nil
	}
	t, err := st.b.Alloc(sh.Len())
	if err != nil {
		return fmt.Errorf("transfer: gradient buffer for %s: %w", name, err)
	}
	st.grads[name] = t
	return nil
}

// eval is the objective: J(x) and ∂J/∂x into dx, with one read of the
// per-layer losses.
func (st *stage) eval(x, dx kernels.Tensor) (float64, error) {
	b, s := st.b, st.s
	for _, g := range st.grads {
		b.Fill(g, 0)
	}
	// Each layer's losses as soon as its activation is final, while the
	// next convolution runs (on the helper pool, kernels/pool).
	st.pass.ForwardEach(x, st.lossesAt)
	if err := st.pass.Backward(dx, st.grads); err != nil {
		return 0, err
	}
	if s.TVWeight > 0 {
		b.TV(st.losses, len(st.cnames)+len(st.styles), dx, x, 3, st.in.h, st.in.w, float32(s.TVWeight))
	}
	if err := b.ReadAt(st.host, st.losses, 0); err != nil {
		return math.NaN(), err
	}
	for k, off := range st.off { // tile.go: terms left out of this tile
		if off {
			st.host[len(st.cnames)+k] = 0
		}
	}
	return st.record(), nil
}

// lossesAt computes the losses at layer (a canonical name) of the last
// Forward: the content losses, then the style terms, in the order of
// their slots (the gradient at a layer sums them in that order). Slots:
// the content layers first, then style term k = j·len(regions) + r at
// len(cnames) + k.
func (st *stage) lossesAt(layer string) {
	if st.grads[layer] == nil {
		return // no loss at this layer
	}
	s := st.s
	feat, _, _ := st.pass.Feature(layer)
	for i, name := range st.cnames {
		if name == layer {
			st.contents[i].Forward(st.losses, i, st.grads[name], feat, float32(s.ContentWeight))
		}
	}
	for j, l := range st.layers {
		if st.lnames[j] != layer {
			continue
		}
		for r, rg := range st.in.regions {
			if k := j*len(st.in.regions) + r; st.off == nil || !st.off[k] { // off: tile.go
				st.styles[k].Forward(st.losses, len(st.cnames)+k, st.grads[layer], feat, float32(s.StyleWeight*l.Weight*rg.weight))
			}
		}
	}
}

// record turns the read-back slots into st.cur and returns J.
func (st *stage) record() float64 {
	s := st.s
	var content float64
	slot := 0
	for range st.cnames {
		content += float64(st.host[slot])
		slot++
	}
	total := s.ContentWeight * content
	sty := make(map[string]float64, len(st.layers))
	var regions map[string][]float64
	if len(s.ContentMasks) > 0 {
		regions = make(map[string][]float64, len(st.layers))
	}
	for _, l := range st.layers {
		name := model.Canonical(l.Layer)
		var v float64
		for _, rg := range st.in.regions {
			j := float64(st.host[slot])
			v += rg.weight * j
			if regions != nil {
				regions[name] = append(regions[name], j)
			}
			slot++
		}
		sty[name] = v
		total += s.StyleWeight * l.Weight * v
	}
	var tv float64
	if s.TVWeight > 0 {
		tv = float64(st.host[slot]) / s.TVWeight
		total += float64(st.host[slot])
	}
	st.cur = Progress{Total: total, Content: content, Style: sty, Regions: regions, TV: tv}
	return total
}

// readX copies the image (network units) to the host.
func (st *stage) readX() ([]float32, error) {
	v := make([]float32, st.x.Len())
	if err := st.b.Read(v, st.x); err != nil {
		return nil, err
	}
	return v, nil
}

func (st *stage) free() {
	if st == nil {
		return
	}
	if st.opt != nil {
		st.opt.Free()
	}
	for _, c := range st.contents {
		c.Free()
	}
	for _, l := range st.styles {
		l.Free()
	}
	for _, g := range st.grads {
		st.b.Free(g)
	}
	for _, t := range []kernels.Tensor{st.x, st.dx, st.xGood, st.losses} {
		if t != nil {
			st.b.Free(t)
		}
	}
	if st.pass != nil {
		st.pass.Free()
	}
}

func trimModel(err error) string { return trimPrefixWord(err, "model: ") }
func trimStyle(err error) string { return trimPrefixWord(err, "style: ") }

func trimPrefixWord(err error, p string) string {
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
