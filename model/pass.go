package model

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
)

// Shape is the [C, H, W] shape of one activation.
type Shape struct{ C, H, W int }

// Len is C·H·W.
func (s Shape) Len() int { return s.C * s.H * s.W }

// Pass holds everything one image size needs for forward and backward passes
// down to a fixed depth: the activations of every layer on the way (Backward
// needs them) and the gradient buffers. Make one per image size with
// Net.NewPass, reuse it every iteration, Free it when done.
type Pass struct {
	net   *Net
	pool  kernels.Pooling
	in    Shape            // [3, H, W]
	steps []layer          // net.steps[:depth]
	out   []Shape          // output shape of each step
	acts  []kernels.Tensor // output of each step, out[i]
	// grads holds two gradient buffers per distinct activation length, so
	// that a step can read the gradient of its output from one and write
	// that of its input into the other.
	grads map[int]*[2]kernels.Tensor
	// given is Backward's per-step view of its grads argument, kept here so
	// that the iteration loop allocates nothing.
	given []kernels.Tensor
}

// NewPass prepares passes over an H×W image that compute every layer in
// layers (conv, relu or pool names). It fails, naming the layer, when a
// layer is unknown or its weights (or those of a layer before it) are not
// loaded, or when the image is too small to pool down to it.
func (n *Net) NewPass(h, w int, pool kernels.Pooling, layers []string) (*Pass, error) {
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("model: image size %d×%d is empty", w, h)
	}
	depth := 0
	for _, name := range layers {
		d, err := n.depth(name)
		if err != nil {
			return nil, err
		}
		depth = max(depth, d)
	}
	if depth == 0 {
		return nil, fmt.Errorf("model: a pass needs at least one layer")
	}
	p := &Pass{net: n, pool: pool, in: Shape{3, h, w}, steps: n.steps[:depth], grads: map[int]*[2]kernels.Tensor{}}
	cur := p.in
	for _, l := range p.steps {
		if l.pool {
			if cur.H < 2 || cur.W < 2 {
				return nil, fmt.Errorf("model: a %d×%d image is too small to reach %s (it is %d×%d before it)",
					w, h, p.steps[len(p.steps)-1].name, cur.W, cur.H)
			}
			cur = Shape{cur.C, cur.H / 2, cur.W / 2}
		} else {
			cur = Shape{l.cout, cur.H, cur.W}
		}
		p.out = append(p.out, cur)
	}
	p.given = make([]kernels.Tensor, len(p.steps))
	for _, s := range p.out {
		t, err := n.b.Alloc(s.Len())
		if err != nil {
			p.Free()
			return nil, fmt.Errorf("model: activations for a %d×%d image: %w", w, h, err)
		}
		p.acts = append(p.acts, t)
	}
	// Gradient buffers: the gradient of every step's output and input.
	for i, s := range p.out {
		for _, length := range []int{s.Len(), p.inShape(i).Len()} {
			if p.grads[length] != nil {
				continue
			}
			var pair [2]kernels.Tensor
			for j := range pair {
				t, err := n.b.Alloc(length)
				if err != nil {
					p.Free()
					return nil, fmt.Errorf("model: gradients for a %d×%d image: %w", w, h, err)
				}
				pair[j] = t
			}
			p.grads[length] = &pair
		}
	}
	return p, nil
}

// inShape is the input shape of step i.
func (p *Pass) inShape(i int) Shape {
	if i == 0 {
		return p.in
	}
	return p.out[i-1]
}

// Input is the [3, H, W] shape the pass takes.
func (p *Pass) Input() Shape { return p.in }

// Pooling is the pooling the pass uses.
func (p *Pass) Pooling() kernels.Pooling { return p.pool }

// Forward computes every activation of the pass from x: [3, H, W], the
// preprocessed image.
func (p *Pass) Forward(x kernels.Tensor) { p.ForwardEach(x, nil) }

// ForwardEach is Forward that calls ready with each step's layer name
// (conv1_1, pool1, …, as Feature takes them) once that step's activation
// is final: right after the next step has been issued (the last step's
// after it). Work that ready issues on the activation thus comes after the
// next step in the backend's order, and on a backend that computes a
// convolution while its caller goes on (kernels/pool), it overlaps that
// convolution. A nil ready is Forward.
func (p *Pass) ForwardEach(x kernels.Tensor, ready func(layer string)) {
	b := p.net.b
	if x.Len() != p.in.Len() {
		panic(fmt.Sprintf("model: Forward input has %d elements, want %d", x.Len(), p.in.Len()))
	}
	in := x
	for i, l := range p.steps {
		s := p.inShape(i)
		if l.pool {
			b.Pool2x2(p.acts[i], in, kernels.PoolShape{C: s.C, H: s.H, W: s.W}, p.pool)
		} else {
			b.Conv3x3(p.acts[i], in, l.w, l.b, kernels.ConvShape{Cin: l.cin, Cout: l.cout, H: s.H, W: s.W})
		}
		if i > 0 && ready != nil {
			ready(p.steps[i-1].name)
		}
		in = p.acts[i]
	}
	if ready != nil {
		ready(p.steps[len(p.steps)-1].name)
	}
}

// Feature returns the activation of layer computed by the last Forward and
// its shape. The tensor belongs to the pass: it is overwritten by the next
// Forward.
func (p *Pass) Feature(name string) (kernels.Tensor, Shape, error) {
	i, err := p.net.index(name)
	if err != nil {
		return nil, Shape{}, err
	}
	if i >= len(p.steps) {
		return nil, Shape{}, fmt.Errorf("model: layer %s is deeper than this pass (it stops at %s)",
			Canonical(name), p.steps[len(p.steps)-1].name)
	}
	return p.acts[i], p.out[i], nil
}

// Backward sets dx: [3, H, W] to the gradient, with respect to the input of
// the last Forward, of a loss whose gradients with respect to some
// activations are given in grads (layer name → tensor of that layer's shape).
// grads is not modified.
func (p *Pass) Backward(dx kernels.Tensor, grads map[string]kernels.Tensor) error {
	b := p.net.b
	if dx.Len() != p.in.Len() {
		return fmt.Errorf("model: Backward dx has %d elements, want %d", dx.Len(), p.in.Len())
	}
	at := p.given
	clear(at)
	top := -1
	for name, g := range grads {
		i, err := p.net.index(name)
		if err != nil {
			return err
		}
		if i >= len(p.steps) {
			return fmt.Errorf("model: gradient given at %s, deeper than this pass", Canonical(name))
		}
		if g.Len() != p.out[i].Len() {
			return fmt.Errorf("model: gradient at %s has %d elements, want %d", Canonical(name), g.Len(), p.out[i].Len())
		}
		if at[i] != nil {
			return fmt.Errorf("model: two gradients given for %s", Canonical(name))
		}
		at[i] = g
		top = max(top, i)
	}
	if top < 0 {
		b.Fill(dx, 0)
		return nil
	}
	// cur is the gradient with respect to the output of step i.
	cur := p.buffer(p.out[top].Len(), nil)
	b.Copy(cur, at[top])
	for i := top; i >= 0; i-- {
		if i != top && at[i] != nil {
			b.Axpy(cur, 1, at[i])
		}
		s := p.inShape(i)
		next := dx
		if i > 0 {
			next = p.buffer(s.Len(), cur)
		}
		l := p.steps[i]
		if l.pool {
			b.Pool2x2Backward(next, cur, p.inputOf(i), kernels.PoolShape{C: s.C, H: s.H, W: s.W}, p.pool)
		} else {
			b.Conv3x3Backward(next, cur, p.acts[i], l.w, kernels.ConvShape{Cin: l.cin, Cout: l.cout, H: s.H, W: s.W})
		}
		cur = next
	}
	return nil
}

// buffer returns a gradient buffer of length n that is not busy.
func (p *Pass) buffer(n int, busy kernels.Tensor) kernels.Tensor {
	pair := p.grads[n]
	if pair[0] == busy {
		return pair[1]
	}
	return pair[0]
}

// inputOf is the activation step i reads. Only pools call it, and a pool is
// never the first step, so the image itself is not needed.
func (p *Pass) inputOf(i int) kernels.Tensor { return p.acts[i-1] }

// Free releases the pass's device memory.
func (p *Pass) Free() {
	for _, t := range p.acts {
		p.net.b.Free(t)
	}
	for _, pair := range p.grads {
		p.net.b.Free(pair[0])
		p.net.b.Free(pair[1])
	}
	p.acts, p.grads = nil, nil
}
