package backends_test

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/cpu"
)

// slow is a backend under another name whose every ReadAt (the measurement
// waits for its result with one) takes delay longer, or fails with err.
// With idle set its convolutions do nothing, so that its time is the delay
// alone (microseconds without one), whatever the machine's load.
type slow struct {
	kernels.Backend
	name  string
	delay time.Duration
	err   error
	idle  bool
}

func (s slow) Name() string { return s.name }

func (s slow) Conv3x3(dst, x, w, b kernels.Tensor, sh kernels.ConvShape) {
	if !s.idle {
		s.Backend.Conv3x3(dst, x, w, b, sh)
	}
}

func (s slow) Conv3x3Backward(dx, dy, y, w kernels.Tensor, sh kernels.ConvShape) {
	if !s.idle {
		s.Backend.Conv3x3Backward(dx, dy, y, w, sh)
	}
}

func (s slow) ReadAt(dst []float32, src kernels.Tensor, off int) error {
	time.Sleep(s.delay)
	if s.err != nil {
		return s.err
	}
	return s.Backend.ReadAt(dst, src, off)
}

// figures are the reason's "CPU 12 ms, WebGPU 212 ms" figures by name.
var figure = regexp.MustCompile(`(CPU|WebGPU) ([0-9]+(?:\.[0-9])?) ms`)

func figures(t *testing.T, reason string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range figure.FindAllStringSubmatch(reason, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		out[m[1]] = v
	}
	return out
}

// TestMeasureKeepsTheFaster: a GPU that is slow (a software adapter, as
// SwiftShader) loses to the CPU, a CPU that is slow loses to the GPU, and
// the reason names both figures, which are the Choice's. The candidates'
// convolutions do nothing (slow.idle): with real ones, a loaded machine
// once made the fast candidate's best run (655 ms) slower than the slow
// one's work plus its delay.
func TestMeasureKeepsTheFaster(t *testing.T) {
	const delay = 150 * time.Millisecond
	c := cpu.New(1)
	for _, tc := range []struct {
		slowName, want string
		wantBest       int
	}{{"webgpu", "cpu", 0}, {"cpu", "webgpu", 1}} {
		var cands []backends.Candidate
		for _, name := range []string{"cpu", "webgpu"} {
			b := slow{Backend: c, name: name, idle: true}
			if name == tc.slowName {
				b.delay = delay
			}
			cands = append(cands, backends.Candidate{Backend: kernels.Checked(b)})
		}
		best, choice, failed := backends.Measure(cands)
		if failed != nil || best != tc.wantBest || choice.Name != tc.want || choice.Remembered {
			t.Fatalf("slow %s: best %d, choice %+v, failed %v; want %s (%d)", tc.slowName, best, choice, failed, tc.want, tc.wantBest)
		}
		if len(choice.Times) != 2 || choice.Times[0].Name != "cpu" || choice.Times[1].Name != "webgpu" {
			t.Fatalf("slow %s: times %+v, want cpu then webgpu", tc.slowName, choice.Times)
		}
		for _, tm := range choice.Times {
			if tm.Runs < 1 || tm.Runs > 5 || tm.Name == tc.slowName && tm.Runs != 1 {
				t.Errorf("slow %s: %s timed %d times; want 1 … 5, and once when one run takes over 60 ms", tc.slowName, tm.Name, tm.Runs)
			}
		}
		reason := choice.Reason()
		if !regexp.MustCompile(`^measured at start: CPU [0-9.]+ ms, WebGPU [0-9.]+ ms for one conv$`).MatchString(reason) {
			t.Fatalf("slow %s: reason %q", tc.slowName, reason)
		}
		f := figures(t, reason)
		slowMS, fastMS := f["CPU"], f["WebGPU"]
		if tc.slowName == "webgpu" {
			slowMS, fastMS = fastMS, slowMS
		}
		if slowMS < 150 || fastMS >= slowMS {
			t.Errorf("slow %s: reason %q: the slow one took %v ms, the other %v", tc.slowName, reason, slowMS, fastMS)
		}
		for _, tm := range choice.Times {
			tol := 0.5
			if tm.MS < 10 {
				tol = 0.05
			}
			if got := f[map[string]string{"cpu": "CPU", "webgpu": "WebGPU"}[tm.Name]]; math.Abs(got-tm.MS) > tol {
				t.Errorf("slow %s: reason says %v ms for %s, the Choice %v", tc.slowName, got, tm.Name, tm.MS)
			}
		}
		t.Logf("slow %s: %s", tc.slowName, reason)
	}
}

// TestMeasurePenalty: fault=slow's penalty is added to the candidate's time
// and the reason says how much of it was added.
func TestMeasurePenalty(t *testing.T) {
	c := kernels.Checked(cpu.New(1))
	gpu := kernels.Checked(slow{Backend: cpu.New(1), name: "webgpu"})
	best, choice, failed := backends.Measure([]backends.Candidate{{Backend: c}, {Backend: gpu, Penalty: backends.SlowPenalty}})
	if failed != nil || best != 0 || choice.Name != "cpu" {
		t.Fatalf("best %d, choice %+v, failed %v; want the CPU", best, choice, failed)
	}
	g := choice.Times[1]
	if g.PenaltyMS != 1000 || g.MS < 1000 || choice.Times[0].PenaltyMS != 0 {
		t.Fatalf("times %+v: want WebGPU's to include a 1000 ms penalty", choice.Times)
	}
	if want := "ms (1000 ms of it added by fault=slow) for one conv"; !strings.HasSuffix(choice.Reason(), want) {
		t.Errorf("reason %q, want it to end %q", choice.Reason(), want)
	}
}

// TestMeasureLeavesOutAFailure: a candidate whose probe fails is not chosen
// and the error says why; with every candidate failing there is no choice.
func TestMeasureLeavesOutAFailure(t *testing.T) {
	lost := kernels.Checked(slow{Backend: cpu.New(1), name: "webgpu", err: kernels.ErrDeviceLost})
	best, choice, failed := backends.Measure([]backends.Candidate{{Backend: kernels.Checked(cpu.New(1))}, {Backend: lost}})
	if best != 0 || choice.Name != "cpu" || len(choice.Times) != 1 || !errors.Is(failed, kernels.ErrDeviceLost) ||
		!strings.HasPrefix(failed.Error(), "backends: measuring webgpu: ") {
		t.Fatalf("best %d, choice %+v, failed %v; want the CPU alone and the GPU's error", best, choice, failed)
	}
	best, choice, failed = backends.Measure([]backends.Candidate{{Backend: lost}})
	if best != -1 || choice.Name != "" || failed == nil {
		t.Fatalf("best %d, choice %+v, failed %v; want no choice", best, choice, failed)
	}
}

// TestChoiceReason: the one text of a choice, measured and remembered.
func TestChoiceReason(t *testing.T) {
	c := backends.Choice{Name: "cpu", Times: []backends.Timing{{Name: "cpu", MS: 38.4}, {Name: "webgpu", MS: 4.25}}}
	if got, want := c.Reason(), "measured at start: CPU 38 ms, WebGPU 4.2 ms for one conv"; got != want {
		t.Errorf("Reason() = %q, want %q", got, want)
	}
	c.Remembered = true
	if got, want := c.Reason(), "remembered from an earlier measurement on this device: CPU 38 ms, WebGPU 4.2 ms for one conv"; got != want {
		t.Errorf("Reason() = %q, want %q", got, want)
	}
}

// TestOpenRemembered: "auto" with a remembered CPU choice measures nothing
// and opens the CPU; the other names ignore it.
func TestOpenRemembered(t *testing.T) {
	r := &backends.Choice{Name: "cpu", Times: []backends.Timing{{Name: "cpu", MS: 38}, {Name: "webgpu", MS: 412}}}
	o, err := backends.OpenWith("auto", r)
	if err != nil || o.Fallback != "" || o.Choice == nil || !o.Choice.Remembered || o.Choice.Name != "cpu" || r.Remembered {
		t.Fatalf("OpenWith(auto, cpu remembered) = %+v, %v", o, err)
	}
	if _, ok := unwrap(t, o.Backend).(*cpu.Backend); !ok {
		t.Errorf("OpenWith(auto, cpu remembered) gave %T, want *cpu.Backend", unwrap(t, o.Backend))
	}
	if want := unwrap(t, o.Backend).(*cpu.Backend).Kernel(); o.Kernel != want {
		t.Errorf("kernel %q, want %q", o.Kernel, want)
	}
	if want := "remembered from an earlier measurement on this device: CPU 38 ms, WebGPU 412 ms for one conv"; o.Reason() != want {
		t.Errorf("reason %q, want %q", o.Reason(), want)
	}
	o, err = backends.OpenWith("naive", r)
	if err != nil || o.Choice != nil || o.Reason() != "" || o.Backend.Name() != "naive" || o.Kernel != "" {
		t.Errorf("OpenWith(naive, remembered) = %+v, %v; want naive, no choice", o, err)
	}
}
