//go:build js

package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
	"github.com/crema-app/crema/model"
)

// vggTol is the relative tolerance (max|diff| / max|ref|) between the
// WebGPU and CPU backends on whole VGG-19 passes: sixteen float32 GEMMs of
// up to K = 4608 in sequence, each within kerneltest.TolGemm of float64.
// Measured on SwiftShader: 2e-6 for conv5_4, 1e-6 for the input gradient;
// an indexing or masking mistake anywhere gives errors of order 1.
const vggTol = 1e-4

// TestWebGPUVGGMatchesCPU runs a full VGG-19 forward pass (conv1_1 …
// conv5_4, synthetic weights) and the input gradient of a loss on several
// layers on a 32×32 image, on WebGPU and on the CPU backend, and compares
// every feature and the gradient.
func TestWebGPUVGGMatchesCPU(t *testing.T) {
	gpu := openGPU(t)
	cpu := kernels.NewCPU(0)
	layers := []string{"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1", "conv5_4"}
	const h, w = 32, 32
	src := model.NewSynthetic(7, "")
	rng := rand.New(rand.NewPCG(7, 8))
	img := make([]float32, 3*h*w) // [3, H, W], Caffe-preprocessed range
	for i := range img {
		img[i] = 120 * (rng.Float32() - 0.5)
	}
	grads := map[string][]float32{} // layer → dL/dA, drawn once its shape is known

	run := func(b kernels.Backend, pool kernels.Pooling) (map[string][]float32, []float32) {
		net, err := model.New(b, src)
		if err != nil {
			t.Fatalf("%s: model.New: %v", b.Name(), err)
		}
		defer net.Close()
		p, err := net.NewPass(h, w, pool, layers)
		if err != nil {
			t.Fatalf("%s: NewPass: %v", b.Name(), err)
		}
		defer p.Free()
		x := mustAlloc(t, b, len(img))
		defer b.Free(x)
		b.Write(x, img)
		p.Forward(x)
		feats := map[string][]float32{}
		gt := map[string]kernels.Tensor{}
		for _, name := range layers {
			a, s, err := p.Feature(name)
			if err != nil {
				t.Fatal(err)
			}
			feats[name] = make([]float32, s.Len())
			if err := b.Read(feats[name], a); err != nil {
				t.Fatalf("%s: reading %s: %v", b.Name(), name, err)
			}
			if grads[name] == nil {
				g := make([]float32, s.Len())
				for i := range g {
					g[i] = rng.Float32() - 0.5
				}
				grads[name] = g
			}
			gt[name] = mustAlloc(t, b, s.Len())
			defer b.Free(gt[name])
			b.Write(gt[name], grads[name])
		}
		dx := mustAlloc(t, b, len(img))
		defer b.Free(dx)
		if err := p.Backward(dx, gt); err != nil {
			t.Fatalf("%s: Backward: %v", b.Name(), err)
		}
		out := make([]float32, len(img))
		if err := b.Read(out, dx); err != nil {
			t.Fatalf("%s: reading dx: %v", b.Name(), err)
		}
		return feats, out
	}

	for _, pool := range []kernels.Pooling{kernels.MaxPool, kernels.AvgPool} {
		t.Run(pool.String(), func(t *testing.T) {
			wantF, wantDx := run(cpu, pool)
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
			t.Logf("%s: conv5_4 %s, dx %s", pool, relErr(gotF["conv5_4"], wantF["conv5_4"]), relErr(gotDx, wantDx))
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

// relErr formats max|got-want| / max|want|.
func relErr(got, want []float32) string {
	var d, m float64
	for i := range want {
		d = max(d, abs64(float64(got[i])-float64(want[i])))
		m = max(m, abs64(float64(want[i])))
	}
	return fmt.Sprintf("max|diff|/max|ref| = %.2g", d/m)
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
