package backends

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crema-app/crema/kernels"
)

// How "auto" chooses between WebGPU and the CPU: by measurement, not by
// which exists. A software adapter (SwiftShader, llvmpipe, lavapipe) or a
// weak integrated GPU is often slower than the CPU backend in WebAssembly,
// so "WebGPU where there is an adapter" lost the race there. Measure times
// one representative convolution on each candidate and keeps the faster;
// the page remembers the Choice per device, and hands it back on the next
// visit (OpenWith's remembered), which then skips the measurement.

// probe is the representative work that Measure times: one forward
// convolution and its input gradient (Conv3x3, then Conv3x3Backward) with
// conv2_1's channels (64 → 128) on a 32×32 map, 0.3 GFLOP. That is large
// enough that a GPU's fixed cost per submission (a few milliseconds at
// worst) does not decide alone, and small enough to stay cheap: in Chromium
// on the 2-core machine of BENCHMARKS.md, about 10 ms on the CPU backend in
// WebAssembly and 370 ms on WebGPU over SwiftShader. On a GPU the time
// includes waiting for the result (a one-scalar ReadAt of the gradient).
var probe = kernels.ConvShape{Cin: 64, Cout: 128, H: 32, W: 32}

// The measurement's limits: every candidate runs the probe once untimed
// (pipelines and buffers warm up, the GPU's derived weights are made), then
// timed at least once and at most probeReps times, stopping once the timed
// runs have taken probeSpend; the best run counts. On a slow device
// (SwiftShader: hundreds of milliseconds a run) that is the warm-up and one
// run.
const (
	probeReps  = 5
	probeSpend = 60 * time.Millisecond
)

// Timing is one candidate's figure: the best time of one probe.
type Timing struct {
	Name string  `json:"name"` // the backend: cpu or webgpu
	MS   float64 `json:"ms"`   // milliseconds, penalty included
	// PenaltyMS is the part of MS that a test added (fault=slow), not
	// measured; 0 otherwise.
	PenaltyMS float64 `json:"penalty_ms,omitempty"`
	// Runs is how many timed runs MS is the best of (after the warm-up).
	Runs int `json:"runs,omitempty"`
}

// Choice is what "auto" chose by measurement: the backend and every
// candidate's time. A shell keeps it per device and hands it back to
// OpenWith on the next visit (Remembered is then set).
type Choice struct {
	Name       string   `json:"name"`  // the backend chosen: cpu or webgpu
	Times      []Timing `json:"times"` // in the order measured
	Remembered bool     `json:"remembered,omitempty"`
}

// Reason says what was measured, for the person at the page: "measured at
// start: CPU 38 ms, WebGPU 412 ms for one conv", or, for a remembered
// choice, "remembered from an earlier measurement on this device: …". It is
// the one source of this text (the page shows it as it is).
func (c Choice) Reason() string {
	var figs []string
	for _, t := range c.Times {
		f := fmt.Sprintf("%s %s ms", label(t.Name), formatMS(t.MS))
		if t.PenaltyMS > 0 {
			f += fmt.Sprintf(" (%s ms of it added by fault=slow)", formatMS(t.PenaltyMS))
		}
		figs = append(figs, f)
	}
	lead := "measured at start"
	if c.Remembered {
		lead = "remembered from an earlier measurement on this device"
	}
	return fmt.Sprintf("%s: %s for one conv", lead, strings.Join(figs, ", "))
}

// valid reports whether c can stand for an earlier measurement: it chose
// cpu or webgpu, among its figures.
func (c Choice) valid() bool {
	if c.Name != "cpu" && c.Name != "webgpu" {
		return false
	}
	for _, t := range c.Times {
		if t.Name == c.Name {
			return true
		}
	}
	return false
}

// label is how the reason names a backend.
func label(name string) string {
	switch name {
	case "cpu":
		return "CPU"
	case "webgpu":
		return "WebGPU"
	}
	return name
}

// formatMS writes ms with one decimal below 10 ms, whole above.
func formatMS(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.1f", ms)
	}
	return fmt.Sprintf("%.0f", ms)
}

// Candidate is a backend that Measure may choose.
type Candidate struct {
	Backend kernels.Backend // its Name names it in the Choice
	// Penalty is added to its measured time (the test hook fault=slow makes
	// WebGPU look slow with it).
	Penalty time.Duration
}

// Measure times probe on each candidate, in order, and returns the index of
// the fastest (the first of equals) with the Choice. A candidate whose probe
// fails (a device error) is left out of the choice, and failed says why;
// best is -1 when every one failed.
func Measure(cands []Candidate) (best int, c Choice, failed error) {
	best = -1
	var bestT time.Duration
	var errs []error
	for i, cand := range cands {
		d, runs, err := timeProbe(cand.Backend)
		if err != nil {
			errs = append(errs, fmt.Errorf("backends: measuring %s: %w", cand.Backend.Name(), err))
			continue
		}
		d += cand.Penalty
		c.Times = append(c.Times, Timing{Name: cand.Backend.Name(), MS: ms(d), PenaltyMS: ms(cand.Penalty), Runs: runs})
		if best < 0 || d < bestT {
			best, bestT = i, d
		}
	}
	if best >= 0 {
		c.Name = cands[best].Backend.Name()
	}
	return best, c, errors.Join(errs...)
}

// ms is d in milliseconds, to 0.1 ms.
func ms(d time.Duration) float64 { return float64(d.Round(100*time.Microsecond)) / 1e6 }

// timeProbe returns the best time of probe on b and the number of timed
// runs (see probeReps), its tensors freed after.
func timeProbe(b kernels.Backend) (best time.Duration, runs int, err error) {
	s := probe
	in, out := s.Cin*s.H*s.W, s.Cout*s.H*s.W
	sizes := []int{in, s.Cout * s.Cin * 9, s.Cout, out, out, in}
	ts := make([]kernels.Tensor, 0, len(sizes))
	defer func() {
		for _, t := range ts {
			b.Free(t)
		}
	}()
	for i, n := range sizes {
		t, err := b.Alloc(n)
		if err != nil {
			return 0, 0, err
		}
		ts = append(ts, t)
		if i < 3 { // x, w, bias: small values of both signs, so that half the ReLUs pass
			v := make([]float32, n)
			for j := range v {
				v[j] = float32((j*7+i)%13-6) / 64
			}
			b.Write(t, v)
		}
	}
	x, w, bias, y, dy, dx := ts[0], ts[1], ts[2], ts[3], ts[4], ts[5]
	b.Fill(dy, 0.5)
	var one [1]float32
	run := func() (time.Duration, error) {
		t0 := time.Now()
		b.Conv3x3(y, x, w, bias, s)
		b.Conv3x3Backward(dx, dy, y, w, s)
		err := b.ReadAt(one[:], dx, 0)
		return time.Since(t0), err
	}
	if _, err := run(); err != nil { // warm-up
		return 0, 0, err
	}
	var spent time.Duration
	for ; runs < probeReps && (runs == 0 || spent < probeSpend); runs++ {
		d, err := run()
		if err != nil {
			return 0, 0, err
		}
		spent += d
		if runs == 0 || d < best {
			best = d
		}
	}
	return best, runs, nil
}
