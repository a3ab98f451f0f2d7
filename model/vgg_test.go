package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/model/weights"
)

// naiveBackend is the oracle, shape-checked.
func naiveBackend() kernels.Backend { return kernels.Checked(naive.Backend{}) }

// TestInputGradient checks Backward against central differences of
// L = Σ_l ⟨R_l, A_l⟩ over several layers (pool included), for both poolings.
func TestInputGradient(t *testing.T) {
	for _, pool := range []kernels.Pooling{kernels.MaxPool, kernels.AvgPool} {
		t.Run(pool.String(), func(t *testing.T) {
			b := naiveBackend()
			net, err := New(b, NewSynthetic(1, "conv2_1"))
			if err != nil {
				t.Fatal(err)
			}
			const h, w = 5, 6
			layers := []string{"conv1_1", "pool1", "relu2_1"}
			p, err := net.NewPass(h, w, pool, layers)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(2, 3))
			x0 := kerneltest.Normal(rng, 3*h*w, 20) // [3, H, W]
			x := kerneltest.Upload(t, b, x0)
			grads := map[string]kernels.Tensor{}
			refs := map[string][]float32{}
			for _, name := range layers {
				_, s, err := p.Feature(name)
				if err != nil {
					t.Fatal(err)
				}
				r := kerneltest.Normal(rng, s.Len(), 1)
				refs[name] = r
				grads[name] = kerneltest.Upload(t, b, r)
			}
			loss := func(xs []float32) float64 {
				b.Write(x, xs)
				p.Forward(x)
				var l float64
				for _, name := range layers {
					a, _, _ := p.Feature(name)
					for i, v := range kerneltest.Download(t, b, a) {
						l += float64(v) * float64(refs[name][i])
					}
				}
				return l
			}
			b.Write(x, x0)
			p.Forward(x)
			dx := kerneltest.Upload(t, b, make([]float32, len(x0)))
			if err := p.Backward(dx, grads); err != nil {
				t.Fatal(err)
			}
			kerneltest.CheckGradient(t, loss, x0, kerneltest.Download(t, b, dx), kerneltest.GradCheck{Tol: 1e-3})
		})
	}
}

// TestBackwardIsLinear: gradients given at two layers at once equal the sum
// of the two single-layer backward passes (the accumulation path).
func TestBackwardIsLinear(t *testing.T) {
	b := naiveBackend()
	net, err := New(b, NewSynthetic(4, "conv2_2"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := net.NewPass(7, 9, kernels.MaxPool, []string{"conv1_2", "conv2_2"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x := kerneltest.Upload(t, b, kerneltest.Normal(rng, 3*7*9, 30))
	p.Forward(x)
	g := map[string]kernels.Tensor{}
	for _, name := range []string{"conv1_2", "conv2_2"} {
		_, s, _ := p.Feature(name)
		g[name] = kerneltest.Upload(t, b, kerneltest.Normal(rng, s.Len(), 1))
	}
	dx := kerneltest.Upload(t, b, make([]float32, 3*7*9))
	sum := make([]float64, dx.Len())
	for _, name := range []string{"conv1_2", "conv2_2"} {
		if err := p.Backward(dx, map[string]kernels.Tensor{name: g[name]}); err != nil {
			t.Fatal(err)
		}
		for i, v := range kerneltest.Download(t, b, dx) {
			sum[i] += float64(v)
		}
	}
	if err := p.Backward(dx, g); err != nil {
		t.Fatal(err)
	}
	both := kerneltest.Download(t, b, dx)
	var maxAbs, maxDiff float64
	for i, v := range both {
		maxAbs = math.Max(maxAbs, math.Abs(sum[i]))
		maxDiff = math.Max(maxDiff, math.Abs(float64(v)-sum[i]))
	}
	if maxAbs == 0 || maxDiff/maxAbs > 1e-5 {
		t.Fatalf("backward with two gradients differs from the sum of one-layer passes: %.3g of %.3g", maxDiff, maxAbs)
	}
}

func TestPassShapesAndDepth(t *testing.T) {
	net, err := New(naiveBackend(), NewSynthetic(1, "conv3_1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(net.Layers(), ","); got != "conv1_1,conv1_2,conv2_1,conv2_2,conv3_1" {
		t.Fatalf("Layers() = %s", got)
	}
	p, err := net.NewPass(17, 11, kernels.AvgPool, []string{"relu2_1"})
	if err != nil {
		t.Fatal(err)
	}
	_, s, err := p.Feature("conv2_1")
	if err != nil {
		t.Fatal(err)
	}
	if s != (Shape{128, 8, 5}) {
		t.Fatalf("conv2_1 shape %v, want {128 8 5}", s)
	}
	if _, _, err := p.Feature("conv2_2"); err == nil || !strings.Contains(err.Error(), "deeper than this pass") {
		t.Fatalf("Feature beyond the pass: err = %v", err)
	}
	if c, _ := net.Channels("pool3"); c != 256 {
		t.Fatalf("pool3 channels %d, want 256", c)
	}
}

func TestMissingLayers(t *testing.T) {
	net, err := New(naiveBackend(), NewSynthetic(1, "conv3_4"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		layers []string
		want   string
	}{
		{[]string{"conv4_1"}, "layer conv4_1 is not in the loaded weights (they hold conv1_1 … conv3_4)"},
		{[]string{"conv4_2"}, "layer conv4_2 is not in the loaded weights (they hold conv1_1 … conv3_4)"},
		{[]string{"conv1_1", "pool4"}, "layer pool4 needs conv4_1, which is not in the loaded weights"},
		{[]string{"conv9_9"}, `unknown layer "conv9_9"`},
		{nil, "at least one layer"},
	} {
		_, err := net.NewPass(32, 32, kernels.MaxPool, tc.layers)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPass(%v): err = %v, want it to mention %q", tc.layers, err, tc.want)
		}
	}
	if net.Has("conv4_1") || !net.Has("relu3_4") || !net.Has("pool3") {
		t.Error("Has disagrees with the loaded layers")
	}
	if _, err := net.NewPass(3, 3, kernels.MaxPool, []string{"conv3_1"}); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("3×3 image to conv3_1: err = %v, want too small", err)
	}
}

func TestWrongWeightShape(t *testing.T) {
	src := NewSynthetic(1, "conv1_2")
	src.shapes["conv1_2.weight"] = []int{64, 32, 3, 3}
	_, err := New(naiveBackend(), src)
	if err == nil || !strings.Contains(err.Error(), "conv1_2 has weight [64 32 3 3]") {
		t.Fatalf("err = %v", err)
	}
}

func TestPreprocessRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rgb := make([]float32, 3*4*5)
	for i := range rgb {
		rgb[i] = rng.Float32()
	}
	for _, pre := range []weights.Preprocess{weights.Caffe, weights.Torchvision} {
		in := make([]float32, len(rgb))
		ToInput(in, rgb, pre)
		back := make([]float32, len(rgb))
		FromInput(back, in, pre)
		for i := range rgb {
			if math.Abs(float64(back[i]-rgb[i])) > 1e-5 {
				t.Fatalf("%s: round trip %v → %v", pre.ChannelOrder, rgb[i], back[i])
			}
		}
	}
	// Caffe: the first input plane is blue, ×255, minus the blue mean.
	in := make([]float32, len(rgb))
	ToInput(in, rgb, weights.Caffe)
	if want := rgb[2*20]*255 - 103.939; math.Abs(float64(in[0]-want)) > 1e-3 {
		t.Fatalf("caffe in[0] = %v, want blue·255 − 103.939 = %v", in[0], want)
	}
}
