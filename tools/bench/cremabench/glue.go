package cremabench

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
)

// glue is the benchmark's work written directly over model.Pass and kernels
// ops: what transfer.Run does with optimizer adam, style_stat gram and
// style_cost mse, without its bookkeeping. Losses (all weights 1):
//
//	content: mean((F − P)²) over conv4_2;
//	style:   Σ_l (1/5)·mean((G_l − A_l)²), G_l = F_l·F_lᵀ / (H_l·W_l).
type glue struct {
	b     kernels.Backend
	net   *model.Net
	pass  *model.Pass
	x     kernels.Tensor // [3, H, W] the image being optimised
	dx    kernels.Tensor // [3, H, W]
	m, v  kernels.Tensor // [3, H, W] Adam moments
	p     kernels.Tensor // [C, H', W'] content target at conv4_2
	dc    kernels.Tensor // [C, H', W'] gradient at conv4_2
	grams []kernels.Tensor
	tgts  []kernels.Tensor // [C, C] style targets A_l
	dF    []kernels.Tensor // [C, H', W'] gradients at the style layers
	loss  kernels.Tensor   // [1+len(StyleLayers)]
	grads map[string]kernels.Tensor
	step  int
	host  []float32
}

func newGlue(b kernels.Backend, src model.WeightSource, opt Options) (g *glue, err error) {
	g = &glue{b: b, grads: map[string]kernels.Tensor{}}
	defer func() {
		if err != nil {
			g.free()
		}
	}()
	if g.net, err = model.New(b, src); err != nil {
		return g, err
	}
	layers := append([]string{ContentLayer}, StyleLayers...)
	if g.pass, err = g.net.NewPass(opt.Size, opt.Size, opt.pooling(), layers); err != nil {
		return g, err
	}
	n := 3 * opt.Size * opt.Size
	alloc := func(n int) kernels.Tensor {
		if err != nil {
			return nil
		}
		var t kernels.Tensor
		t, err = b.Alloc(n)
		return t
	}
	g.x, g.dx, g.m, g.v = alloc(n), alloc(n), alloc(n), alloc(n)
	g.loss = alloc(1 + len(StyleLayers))
	_, cs, ferr := g.pass.Feature(ContentLayer)
	if ferr != nil {
		return g, ferr
	}
	g.p, g.dc = alloc(cs.Len()), alloc(cs.Len())
	for _, name := range StyleLayers {
		_, s, ferr := g.pass.Feature(name)
		if ferr != nil {
			return g, ferr
		}
		g.grams = append(g.grams, alloc(s.C*s.C))
		g.tgts = append(g.tgts, alloc(s.C*s.C))
		g.dF = append(g.dF, alloc(s.Len()))
	}
	if err != nil {
		return g, fmt.Errorf("cremabench: buffers for %d×%d: %w", opt.Size, opt.Size, err)
	}
	g.grads[ContentLayer] = g.dc
	for i, name := range StyleLayers {
		g.grads[name] = g.dF[i]
	}

	// Targets: the content from one random image, the style from another
	// (values in the range of a Caffe-preprocessed photo).
	rng := rand.New(rand.NewPCG(opt.Seed, 7))
	img := make([]float32, n)
	randomImage(rng, img)
	b.Write(g.x, img)
	g.pass.Forward(g.x)
	f, _, _ := g.pass.Feature(ContentLayer)
	b.Copy(g.p, f)
	randomImage(rng, img)
	b.Write(g.x, img)
	g.pass.Forward(g.x)
	for i, name := range StyleLayers {
		f, s, _ := g.pass.Feature(name)
		hw := s.H * s.W
		b.MatMul(g.tgts[i], f, f, s.C, s.C, hw, false, true, 1/float32(hw), 0)
	}
	// Start from the content image (init "image").
	rng = rand.New(rand.NewPCG(opt.Seed, 7))
	randomImage(rng, img)
	b.Write(g.x, img)
	return g, nil
}

func randomImage(rng *rand.Rand, dst []float32) {
	for i := range dst {
		dst[i] = float32(rng.Float64()*255 - 120)
	}
}

// iterate does one update and returns the total loss it evaluated (read back
// from the device, which waits for the update to finish).
func (g *glue) iterate() (float64, error) {
	b := g.b
	g.pass.Forward(g.x)
	f, cs, _ := g.pass.Feature(ContentLayer)
	b.Copy(g.dc, f)
	b.Axpy(g.dc, -1, g.p)
	b.Dot(g.loss, 0, g.dc, g.dc)
	nc := float32(cs.Len())
	b.Scale(g.dc, 2/nc)
	wl := 1 / float32(len(StyleLayers))
	for i, name := range StyleLayers {
		f, s, _ := g.pass.Feature(name)
		hw := s.H * s.W
		c := float32(s.C)
		b.MatMul(g.grams[i], f, f, s.C, s.C, hw, false, true, 1/float32(hw), 0)
		b.Axpy(g.grams[i], -1, g.tgts[i])
		b.Dot(g.loss, 1+i, g.grams[i], g.grams[i])
		// d/dF of wl·mean((G−A)²) = wl·(2/C²)·(2/HW)·(G−A)·F (G−A symmetric).
		b.MatMul(g.dF[i], g.grams[i], f, s.C, hw, s.C, false, false, wl*4/(c*c*float32(hw)), 0)
	}
	if err := g.pass.Backward(g.dx, g.grads); err != nil {
		return 0, err
	}
	g.step++
	b.Adam(g.x, g.dx, g.m, g.v, kernels.AdamParams{LR: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: g.step})
	var l [6]float32
	if err := b.ReadAt(l[:1+len(StyleLayers)], g.loss, 0); err != nil {
		return 0, err
	}
	total := float64(l[0]) / float64(nc)
	for i := range StyleLayers {
		_, s, _ := g.pass.Feature(StyleLayers[i])
		total += float64(wl) * float64(l[1+i]) / float64(s.C*s.C)
	}
	return total, nil
}

// preview reads the image back and converts it to 8-bit RGB, as a page
// would to show it.
func (g *glue) preview() ([]uint8, error) {
	if g.host == nil {
		g.host = make([]float32, g.x.Len())
	}
	if err := g.b.Read(g.host, g.x); err != nil {
		return nil, err
	}
	out := make([]uint8, len(g.host))
	for i, v := range g.host {
		out[i] = uint8(min(max(v+120, 0), 255))
	}
	return out, nil
}

func (g *glue) free() {
	b := g.b
	for _, t := range []kernels.Tensor{g.x, g.dx, g.m, g.v, g.p, g.dc, g.loss} {
		if t != nil {
			b.Free(t)
		}
	}
	for _, ts := range [][]kernels.Tensor{g.grams, g.tgts, g.dF} {
		for _, t := range ts {
			if t != nil {
				b.Free(t)
			}
		}
	}
	if g.pass != nil {
		g.pass.Free()
	}
	if g.net != nil {
		g.net.Close()
	}
}

func runGlue(ctx context.Context, b kernels.Backend, src model.WeightSource, opt Options, c *iterClock) error {
	c.begin()
	g, err := newGlue(b, src, opt)
	if err != nil {
		return err
	}
	defer g.free()
	if err := b.ReadAt(make([]float32, 1), g.x, 0); err != nil { // targets done
		return err
	}
	c.mark(0)
	for i := range opt.Iterations {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := g.iterate()
		if err != nil {
			return err
		}
		c.mark(l)
		if i == 0 && opt.Preview {
			if _, err := g.preview(); err != nil {
				return err
			}
			c.previewed()
			// The preview is not part of the update's time.
			c.marks[len(c.marks)-1] = timeNow()
		}
	}
	return nil
}
