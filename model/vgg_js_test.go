package model

import (
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/kernels/webgpu"
)

// vggTol is the relative tolerance (max|diff| / max|ref|) between the
// WebGPU and CPU backends on whole VGG-19 passes: sixteen float32 GEMMs of
// up to K = 4608 in sequence, each within kerneltest.TolGemm of float64.
// Measured on SwiftShader: 2e-6 for conv5_4, 1e-6 for the input gradient;
// an indexing or masking mistake anywhere gives errors of order 1.
const vggTol = 1e-4

// TestWebGPUVGGMatchesCPU runs a full VGG-19 forward pass (conv1_1 …
// conv5_4, synthetic weights) and the input gradient of a loss on several
// layers on a 32×32 image, on WebGPU (in the browser: make test-browser) and
// on the CPU backend, and compares every feature and the gradient.
func TestWebGPUVGGMatchesCPU(t *testing.T) {
	g, err := webgpu.Open()
	if err != nil {
		t.Fatalf("webgpu.Open: %v", err)
	}
	gpu, ref := kernels.Checked(g), kernels.Checked(cpu.New(0))
	layers := []string{"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1", "conv5_4"}
	const h, w = 32, 32
	src := NewSynthetic(7, "")
	rng := rand.New(rand.NewPCG(7, 8))
	img := kerneltest.Uniform(rng, 3*h*w, -60, 60) // [3, H, W], Caffe-preprocessed range
	grads := map[string][]float32{}                // layer → dL/dA, drawn once its shape is known

	run := func(b kernels.Backend, pool kernels.Pooling) (map[string][]float32, []float32) {
		net, err := New(b, src)
		if err != nil {
			t.Fatalf("%s: New: %v", b.Name(), err)
		}
		defer net.Close()
		p, err := net.NewPass(h, w, pool, layers)
		if err != nil {
			t.Fatalf("%s: NewPass: %v", b.Name(), err)
		}
		defer p.Free()
		x := kerneltest.Upload(t, b, img) // [3, H, W]
		defer b.Free(x)
		p.Forward(x)
		feats := map[string][]float32{}
		gt := map[string]kernels.Tensor{}
		for _, name := range layers {
			a, s, err := p.Feature(name)
			if err != nil {
				t.Fatal(err)
			}
			feats[name] = kerneltest.Download(t, b, a)
			if grads[name] == nil {
				grads[name] = kerneltest.Uniform(rng, s.Len(), -0.5, 0.5)
			}
			gt[name] = kerneltest.Upload(t, b, grads[name])
			defer b.Free(gt[name])
		}
		dx := kerneltest.Upload(t, b, make([]float32, len(img))) // [3, H, W]
		defer b.Free(dx)
		if err := p.Backward(dx, gt); err != nil {
			t.Fatalf("%s: Backward: %v", b.Name(), err)
		}
		return feats, kerneltest.Download(t, b, dx)
	}

	for _, pool := range []kernels.Pooling{kernels.MaxPool, kernels.AvgPool} {
		t.Run(pool.String(), func(t *testing.T) {
			wantF, wantDx := run(ref, pool)
			gotF, gotDx := run(gpu, pool)
			for _, name := range layers {
				if err := kerneltest.Compare(gotF[name], wantF[name], vggTol); err != nil {
					t.Errorf("feature %s: %v", name, err)
				}
				if nonzero(wantF[name]) == 0 {
					t.Errorf("feature %s is all zero on the CPU: the comparison proves nothing", name)
				}
			}
			if err := kerneltest.Compare(gotDx, wantDx, vggTol); err != nil {
				t.Errorf("input gradient: %v", err)
			}
			if nonzero(wantDx) == 0 {
				t.Error("input gradient is all zero on the CPU: the comparison proves nothing")
			}
		})
	}
}

func nonzero(s []float32) int {
	n := 0
	for _, v := range s {
		if v != 0 {
			n++
		}
	}
	return n
}
