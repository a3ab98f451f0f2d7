package cremabench

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/weights"
)

// The smallest image that reaches conv5_1: 32×32 (2×2 there).
const testSize = 32

// The benchmark's work goes through the product's path (a session and
// transfer.Run): timed updates, falling losses and a first preview.
func TestBenchThroughTheSession(t *testing.T) {
	b := kernels.Checked(cpu.New(0))
	res, err := Bench(context.Background(), b, model.NewSynthetic(1, Deepest), Options{Size: testSize, Iterations: 3, Preview: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Backend != "cpu" || len(res.IterMS) != 3 || len(res.Losses) != 3 {
		t.Fatalf("backend %q, %d iteration times and %d losses, want cpu, 3 and 3", res.Backend, len(res.IterMS), len(res.Losses))
	}
	for i, l := range res.Losses {
		if !(l > 0) || math.IsInf(l, 0) || res.IterMS[i] <= 0 {
			t.Errorf("update %d: loss %g in %g ms, want a finite positive loss and time", i, l, res.IterMS[i])
		}
	}
	if res.Losses[2] >= res.Losses[0] {
		t.Errorf("loss went from %g to %g, want it to fall", res.Losses[0], res.Losses[2])
	}
	if res.FirstPreviewMS <= res.SetupMS {
		t.Errorf("first preview at %g ms, before the end of the setup at %g ms", res.FirstPreviewMS, res.SetupMS)
	}
}

func TestBenchRejectsBadOptions(t *testing.T) {
	b := kernels.Checked(cpu.New(0))
	for _, c := range []struct {
		opt  Options
		want string
	}{
		{Options{Size: 16}, "cremabench: size 16 is below 32"},
		{Options{Size: 32, Pooling: "min"}, `cremabench: pooling "min"`},
	} {
		_, err := Bench(context.Background(), b, model.NewSynthetic(1, Deepest), c.opt)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want prefix %q", c.opt, err, c.want)
		}
	}
}

func TestProfileLabelsEveryConv(t *testing.T) {
	b := kernels.Checked(cpu.New(0))
	p, err := RunProfile(context.Background(), b, model.NewSynthetic(1, Deepest), Options{Size: testSize})
	if err != nil {
		t.Fatal(err)
	}
	var fwd, bwd []string
	for _, o := range p.Ops {
		switch o.Op {
		case "Conv3x3":
			fwd = append(fwd, o.Layer)
		case "Conv3x3Backward":
			bwd = append(bwd, o.Layer)
		}
		if o.MS < 0 {
			t.Errorf("%s %s: %g ms", o.Op, o.Shape, o.MS)
		}
	}
	var want []string
	for _, c := range weights.VGG19 {
		want = append(want, c.Name)
		if c.Name == Deepest {
			break
		}
	}
	if strings.Join(fwd, " ") != strings.Join(want, " ") {
		t.Errorf("forward convs %v, want %v", fwd, want)
	}
	for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
		want[i], want[j] = want[j], want[i]
	}
	if strings.Join(bwd, " ") != strings.Join(want, " ") {
		t.Errorf("backward convs %v, want %v", bwd, want)
	}
	// One update: at least the Gram of each style layer and its gradient,
	// and one Adam step.
	count := map[string]int{}
	for _, o := range p.Ops {
		count[o.Op]++
	}
	if count["MatMul"] < 2*len(StyleLayers) || count["Adam"] != 1 {
		t.Errorf("%d MatMuls and %d Adam steps, want at least %d and 1", count["MatMul"], count["Adam"], 2*len(StyleLayers))
	}
	// Peak memory holds at least the weights (float32).
	var weightBytes int64
	for _, c := range weights.VGG19 {
		weightBytes += 4 * int64(c.Cout*c.Cin*9+c.Cout)
		if c.Name == Deepest {
			break
		}
	}
	if p.PeakBytes < weightBytes {
		t.Errorf("peak %d bytes, below the weights' %d", p.PeakBytes, weightBytes)
	}
	if s := p.Summary(); len(s) == 0 || s[0].MS < s[len(s)-1].MS {
		t.Errorf("summary not sorted largest first: %+v", s)
	}
}
