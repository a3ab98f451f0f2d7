package transfer

import (
	"fmt"
	"math"

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
}

// stage is everything on the device for optimising one image size.
type stage struct {
	b      kernels.Backend
	net    *model.Net
	s      Settings
	in     *inputs
	pass   *model.Pass
	layers []LayerWeight // style layers of weight > 0

	x, dx, xGood kernels.Tensor            // [3, h, w]: image (network units), gradient, last good image
	grads        map[string]kernels.Tensor // layer → ∂J/∂A: [C, H, W]
	losses       kernels.Tensor            // [len(contents) + len(styles) + 1]
	host         []float32
	contents     []*style.Content
	cnames       []string
	styles       []*style.Layer
	opt          optim.Optimizer
	lr, maxStep  float64 // current Adam learning rate / L-BFGS step cap

	cur Progress // losses of the last evaluation
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
		names = append(names, model.Canonical(l.Layer))
	}
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
	if st.losses, err = alloc(len(st.cnames) + len(layers) + 1); err != nil {
		return nil, err
	}
	st.host = make([]float32, len(st.cnames)+len(layers)+1)
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
	// Style targets: one pass per style image at its own size.
	if len(layers) > 0 {
		var lnames []string
		for i, l := range layers {
			name := model.Canonical(l.Layer)
			lnames = append(lnames, name)
			_, sh, err := st.pass.Feature(name)
			if err != nil {
				return nil, err
			}
			sl, err := style.NewLayer(b, style.Spec{Stat: s.StyleStat, Cost: s.StyleCost, Seed: uint64(s.Seed)*0x9e3779b97f4a7c15 + uint64(i) + 1}, sh.C, sh.H*sh.W)
			if err != nil {
				return nil, fmt.Errorf("transfer: %s", trimStyle(err))
			}
			st.styles = append(st.styles, sl)
			if err := st.grad(name, sh); err != nil {
				return nil, err
			}
		}
		for i, img := range in.styles {
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
			for j, name := range lnames {
				feat, fs, ferr := sp.Feature(name)
				if ferr == nil {
					ferr = st.styles[j].AddTarget(feat, fs.H*fs.W, in.blend[i])
				}
				if ferr != nil {
					sp.Free()
					b.Free(sx)
					return nil, fmt.Errorf("transfer: %s", trimStyle(ferr))
				}
			}
			sp.Free()
			b.Free(sx)
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
	st.pass.Forward(x)
	for _, g := range st.grads {
		b.Fill(g, 0)
	}
	slot := 0
	for i, name := range st.cnames {
		feat, _, _ := st.pass.Feature(name)
		st.contents[i].Forward(st.losses, slot, st.grads[name], feat, float32(s.ContentWeight))
		slot++
	}
	for i, l := range st.layers {
		name := model.Canonical(l.Layer)
		feat, _, _ := st.pass.Feature(name)
		st.styles[i].Forward(st.losses, slot, st.grads[name], feat, float32(s.StyleWeight*l.Weight))
		slot++
	}
	if err := st.pass.Backward(dx, st.grads); err != nil {
		return 0, err
	}
	if s.TVWeight > 0 {
		b.TV(st.losses, slot, dx, x, 3, st.in.h, st.in.w, float32(s.TVWeight))
	}
	if err := b.ReadAt(st.host, st.losses, 0); err != nil {
		return math.NaN(), err
	}
	return st.record(), nil
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
	for _, l := range st.layers {
		v := float64(st.host[slot])
		sty[model.Canonical(l.Layer)] = v
		total += s.StyleWeight * l.Weight * v
		slot++
	}
	var tv float64
	if s.TVWeight > 0 {
		tv = float64(st.host[slot]) / s.TVWeight
		total += float64(st.host[slot])
	}
	st.cur = Progress{Total: total, Content: content, Style: sty, TV: tv}
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
