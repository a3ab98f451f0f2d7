package backends

import (
	"strings"
	"testing"
	"time"
)

// TestWebGPUReleasedWhenTheCPUWins: when the CPU wins the measurement, the
// GPU's device is released (the GPU backend refuses work after), and the
// measurement is bounded: after a warm-up each candidate is timed until its
// runs took probeSpend, at most probeReps times; on SwiftShader, where one
// run takes hundreds of milliseconds, once.
func TestWebGPUReleasedWhenTheCPUWins(t *testing.T) {
	g, err := openGPU(options{}.gpu)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	o, err := chooseFaster(g, options{slow: true})
	took := time.Since(t0)
	if err != nil || o.Backend.Name() != "cpu" || o.Choice == nil {
		t.Fatalf("chooseFaster(slow) = %+v, %v; want the CPU", o, err)
	}
	if _, err := g.Alloc(4); err == nil || !strings.Contains(err.Error(), "webgpu: the backend was closed") {
		t.Fatalf("the GPU still allocates after losing (err %v)", err)
	}
	for _, tm := range o.Choice.Times {
		slow := tm.MS-tm.PenaltyMS >= float64(probeSpend/time.Millisecond)
		if tm.Runs < 1 || tm.Runs > probeReps || slow && tm.Runs != 1 {
			t.Errorf("%s: %d timed runs for a best of %v ms; want 1 … %d, and 1 when a run takes %v or more", tm.Name, tm.Runs, tm.MS-tm.PenaltyMS, probeReps, probeSpend)
		}
	}
	t.Logf("the measurement took %v: %s", took, o.Choice.Reason())
}
