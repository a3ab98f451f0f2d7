// Package model is crema's VGG-19: the convolutional part of the network
// (conv1_1 … conv5_4 with their ReLUs and pool1 … pool5) running on a
// kernels.Backend, with a forward pass that stops at the deepest layer asked
// for and a backward pass that returns the gradient with respect to the input
// image only (weights are never trained).
//
// Layer names are the literature's. crema's convX_Y feature is the
// post-ReLU activation (as in Gatys et al.'s series and in Keras), so reluX_Y
// names the same tensor. Pooling is max or average, chosen per Pass.
//
// A Net holds the weights on the device. A Pass holds the activations and
// gradient buffers for one image size and depth, allocated once and reused
// every iteration, so the optimisation loop allocates nothing.
package model

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model/weights"
)

// WeightSource is what a Net is built from: *weights.Weights, or synthetic
// weights for tests.
type WeightSource interface {
	// Tensor returns the tensor called name ("conv1_1.weight" [Cout, Cin, 3, 3],
	// "conv1_1.bias" [Cout]) and whether it exists.
	Tensor(name string) (data []float32, shape []int, ok bool)
	// Preprocess is the input normalisation the weights were trained with.
	Preprocess() weights.Preprocess
	// Info is where the weights came from and their licence, for the user.
	Info() (source, license string)
}

// Net is VGG-19's convolutional layers on a backend.
type Net struct {
	b     kernels.Backend
	pre   weights.Preprocess
	steps []layer // the whole network in order; convs absent from the weights have nil w
}

// layer is one step of the network: a conv (with its ReLU) or a pooling.
type layer struct {
	name  string // "conv1_1" or "pool1"
	block int    // 1..5
	pool  bool
	cin   int // input channels
	cout  int // output channels
	w     kernels.Tensor
	b     kernels.Tensor
}

// New uploads the conv layers present in src to b. Layers may be missing
// (a partial file); a pass that needs one fails with an error naming it.
func New(b kernels.Backend, src WeightSource) (*Net, error) {
	n := &Net{b: b, pre: src.Preprocess()}
	block := 1
	for _, spec := range weights.VGG19 {
		bl := Block(spec.Name)
		if bl != block {
			n.steps = append(n.steps, layer{name: fmt.Sprintf("pool%d", block), block: block, pool: true, cin: spec.Cin, cout: spec.Cin})
			block = bl
		}
		l := layer{name: spec.Name, block: bl, cin: spec.Cin, cout: spec.Cout}
		wd, wshape, okw := src.Tensor(spec.Name + ".weight")
		bd, bshape, okb := src.Tensor(spec.Name + ".bias")
		if okw && okb {
			if !sameShape(wshape, []int{spec.Cout, spec.Cin, 3, 3}) || !sameShape(bshape, []int{spec.Cout}) {
				n.Close()
				return nil, fmt.Errorf("model: %s has weight %v and bias %v, want [%d %d 3 3] and [%d]",
					spec.Name, wshape, bshape, spec.Cout, spec.Cin, spec.Cout)
			}
			var err error
			if l.w, err = upload(b, wd); err == nil {
				l.b, err = upload(b, bd)
			}
			if err != nil {
				n.Close()
				return nil, fmt.Errorf("model: uploading %s: %w", spec.Name, err)
			}
		}
		n.steps = append(n.steps, l)
	}
	last := weights.VGG19[len(weights.VGG19)-1].Cout
	n.steps = append(n.steps, layer{name: "pool5", block: 5, pool: true, cin: last, cout: last})
	return n, nil
}

func upload(b kernels.Backend, data []float32) (kernels.Tensor, error) {
	t, err := b.Alloc(len(data))
	if err != nil {
		return nil, err
	}
	b.Write(t, data)
	return t, nil
}

// Block is the block number of a convolution, 3 for conv3_2: an image
// passes Block−1 poolings before it.
func Block(conv string) int {
	var bl, i int
	fmt.Sscanf(conv, "conv%d_%d", &bl, &i)
	return bl
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Backend is the backend the net runs on.
func (n *Net) Backend() kernels.Backend { return n.b }

// Preprocess is the input normalisation of the loaded weights.
func (n *Net) Preprocess() weights.Preprocess { return n.pre }

// Layers lists the conv layers whose weights are loaded, in network order.
func (n *Net) Layers() []string {
	var out []string
	for _, l := range n.steps {
		if !l.pool && l.w != nil {
			out = append(out, l.name)
		}
	}
	return out
}

// Has reports whether layer (a conv, relu or pool name) can be computed:
// every conv up to and including it is loaded.
func (n *Net) Has(layer string) bool {
	_, err := n.depth(layer)
	return err == nil
}

// Channels returns the channel count of a layer's output.
func (n *Net) Channels(layer string) (int, error) {
	i, err := n.index(layer)
	if err != nil {
		return 0, err
	}
	return n.steps[i].cout, nil
}

// Close frees the weights on the device.
func (n *Net) Close() {
	for i := range n.steps {
		n.b.Free(n.steps[i].w)
		n.b.Free(n.steps[i].b)
		n.steps[i].w, n.steps[i].b = nil, nil
	}
}

// index finds a layer by name without checking that its weights exist.
func (n *Net) index(name string) (int, error) {
	c := Canonical(name)
	for i, l := range n.steps {
		if l.name == c {
			return i, nil
		}
	}
	return 0, fmt.Errorf("model: unknown layer %q (VGG-19 has conv1_1 … conv5_4, relu1_1 … relu5_4, pool1 … pool5)", name)
}

// depth is the number of steps needed to compute layer, checking that every
// conv on the way is loaded.
func (n *Net) depth(name string) (int, error) {
	i, err := n.index(name)
	if err != nil {
		return 0, err
	}
	if l := n.steps[i]; !l.pool && l.w == nil {
		return 0, fmt.Errorf("model: layer %s is not in the loaded weights (they hold %s)", l.name, n.Held())
	}
	for _, l := range n.steps[:i] {
		if !l.pool && l.w == nil {
			return 0, fmt.Errorf("model: layer %s needs %s, which is not in the loaded weights (they hold %s)",
				n.steps[i].name, l.name, n.Held())
		}
	}
	return i + 1, nil
}
