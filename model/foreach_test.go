package model

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/kerneltest"
)

// logged records the order of a backend's convolutions and pools, by the
// layer whose activation each writes.
type logged struct {
	kernels.Backend
	names map[kernels.Tensor]string
	log   *[]string
}

func (l logged) Conv3x3(dst, x, w, b kernels.Tensor, s kernels.ConvShape) {
	*l.log = append(*l.log, "issue "+l.names[dst])
	l.Backend.Conv3x3(dst, x, w, b, s)
}

func (l logged) Pool2x2(dst, x kernels.Tensor, s kernels.PoolShape, p kernels.Pooling) {
	*l.log = append(*l.log, "issue "+l.names[dst])
	l.Backend.Pool2x2(dst, x, s, p)
}

// TestForwardEach: ready is called once per step, in order, each right
// after the next step is issued (the last one's after it), with the
// activation final (Forward's), so that work on it comes after the next
// step in the backend's order.
func TestForwardEach(t *testing.T) {
	var log []string
	l := logged{Backend: naiveBackend(), names: map[kernels.Tensor]string{}, log: &log}
	net, err := New(l, NewSynthetic(1, "conv2_1"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := net.NewPass(6, 4, kernels.MaxPool, []string{"relu2_1"})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"conv1_1", "conv1_2", "pool1", "conv2_1"}
	for _, n := range names {
		a, _, err := p.Feature(n)
		if err != nil {
			t.Fatal(err)
		}
		l.names[a] = n
	}
	x := kerneltest.Upload(t, l, kerneltest.Normal(rand.New(rand.NewPCG(1, 1)), 3*6*4, 20))
	seen := map[string][]float32{}
	p.ForwardEach(x, func(layer string) {
		log = append(log, "ready "+layer)
		a, _, _ := p.Feature(layer)
		seen[layer] = kerneltest.Download(t, l, a)
	})
	want := "issue conv1_1,issue conv1_2,ready conv1_1,issue pool1,ready conv1_2,issue conv2_1,ready pool1,ready conv2_1"
	if got := strings.Join(log, ","); got != want {
		t.Errorf("order:\n got %s\nwant %s", got, want)
	}
	p.Forward(x)
	for _, n := range names {
		a, _, _ := p.Feature(n)
		if got, final := seen[n], kerneltest.Download(t, l, a); !slices.Equal(got, final) {
			t.Errorf("%s at ready: %v, want the final activation %v", n, got, final)
		}
	}
}
