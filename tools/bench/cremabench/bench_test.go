package cremabench

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/weights"
)

// The smallest image that reaches conv5_1: 32×32 (2×2 there).
const testSize = 32

func TestBenchGlue(t *testing.T) {
	b := kernels.NewCPU(0)
	src := model.NewSynthetic(1, Deepest)
	res, err := Bench(context.Background(), b, src, Options{Size: testSize, Iterations: 3, Mode: "glue", Preview: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "glue" || res.Backend != "cpu" {
		t.Errorf("mode %q backend %q, want glue on cpu", res.Mode, res.Backend)
	}
	if len(res.IterMS) != 3 || len(res.Losses) != 3 {
		t.Fatalf("%d iteration times and %d losses, want 3 and 3", len(res.IterMS), len(res.Losses))
	}
	for i, l := range res.Losses {
		if !(l > 0) || math.IsInf(l, 0) {
			t.Errorf("loss %d = %g, want finite and positive", i, l)
		}
		if res.IterMS[i] <= 0 {
			t.Errorf("iteration %d took %g ms", i, res.IterMS[i])
		}
	}
	// Adam with lr 1 on a loss of this size must make progress in 3 steps.
	if res.Losses[2] >= res.Losses[0] {
		t.Errorf("loss went from %g to %g, want it to fall", res.Losses[0], res.Losses[2])
	}
	if res.FirstPreviewMS <= res.SetupMS {
		t.Errorf("first preview at %g ms, before the end of the setup at %g ms", res.FirstPreviewMS, res.SetupMS)
	}
}

func TestBenchAutoFallsBackOnlyBeforeRunStarts(t *testing.T) {
	b := kernels.NewCPU(0)
	res, err := Bench(context.Background(), b, model.NewSynthetic(2, Deepest), Options{Size: testSize, Iterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	switch res.Mode {
	case "transfer.Run":
		if res.Note != "" {
			t.Errorf("note %q with transfer.Run", res.Note)
		}
	case "glue":
		if !strings.Contains(res.Note, "transfer.Run unavailable") {
			t.Errorf("glue without a note saying why: %q", res.Note)
		}
	default:
		t.Errorf("mode %q", res.Mode)
	}
	if len(res.IterMS) != 1 {
		t.Errorf("%d iteration times, want 1", len(res.IterMS))
	}
}

func TestBenchRejectsBadOptions(t *testing.T) {
	b := kernels.NewCPU(0)
	for _, c := range []struct {
		opt  Options
		want string
	}{
		{Options{Size: 16}, "cremabench: size 16 is below 32"},
		{Options{Size: 32, Pooling: "min"}, `cremabench: pooling "min"`},
		{Options{Size: 32, Mode: "fast"}, `cremabench: mode "fast"`},
	} {
		_, err := Bench(context.Background(), b, model.NewSynthetic(1, Deepest), c.opt)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want prefix %q", c.opt, err, c.want)
		}
	}
}

func TestBenchThroughTransferRun(t *testing.T) {
	b := kernels.NewCPU(0)
	res, err := Bench(context.Background(), b, model.NewSynthetic(3, Deepest), Options{Size: testSize, Iterations: 2, Mode: "run", Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "transfer.Run" || len(res.IterMS) != 2 {
		t.Fatalf("mode %q with %d iteration times, want transfer.Run and 2", res.Mode, len(res.IterMS))
	}
	if res.FirstPreviewMS <= 0 {
		t.Errorf("no first preview time with Preview set")
	}
}

func TestProfileLabelsEveryConv(t *testing.T) {
	for _, mode := range []string{"glue", "run"} {
		t.Run(mode, func(t *testing.T) { testProfile(t, mode) })
	}
}

func testProfile(t *testing.T, mode string) {
	b := kernels.NewCPU(0)
	p, err := RunProfile(context.Background(), b, model.NewSynthetic(1, Deepest), Options{Size: testSize, Mode: mode})
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
	// One update: the Gram of each style layer and its gradient, one Adam step.
	count := map[string]int{}
	for _, o := range p.Ops {
		count[o.Op]++
	}
	if mode == "glue" && (count["MatMul"] != 2*len(StyleLayers) || count["Adam"] != 1) {
		t.Errorf("%d MatMuls and %d Adam steps, want %d and 1", count["MatMul"], count["Adam"], 2*len(StyleLayers))
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
