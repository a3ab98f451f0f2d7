// Package backends chooses crema's compute backend by name, and for "auto"
// by measurement (measure.go). It is the one place that knows every
// implementation of kernels.Backend (naive, cpu, webgpu), so that neither
// package kernels nor a backend depends on the others.
package backends

import (
	"fmt"
	"strings"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/kernels/webgpu"
)

// Open returns the backend named name, wrapped in kernels.Checked: "auto"
// (the faster of WebGPU and the CPU, measured), "cpu", "webgpu" or "naive"
// (case and surrounding spaces are ignored; "" is "auto"). reason says why
// "auto" chose what it did (Opened.Reason), empty otherwise. It is OpenWith
// without a remembered choice.
func Open(name string) (b kernels.Backend, reason string, err error) {
	o, err := OpenWith(name, nil)
	if err != nil {
		return nil, "", err
	}
	return o.Backend, o.Reason(), nil
}

// Opened is a backend that OpenWith opened, and why.
type Opened struct {
	Backend kernels.Backend // wrapped in kernels.Checked
	// Fallback says why the CPU stands in for WebGPU: "auto" found no
	// adapter, or one that failed to start, its self-test or the
	// measurement ("" otherwise).
	Fallback string
	// Choice is what "auto" measured (Measure), or the remembered choice it
	// followed; nil for the other names, and when it fell back.
	Choice *Choice
	// Kernel, for the CPU backend, says which kind of GEMM kernel it runs
	// (CPUKernel), known before a shell wraps the backend; "" otherwise.
	Kernel string
}

// Reason is Fallback, else the Choice's reason, else "".
func (o Opened) Reason() string {
	if o.Fallback != "" || o.Choice == nil {
		return o.Fallback
	}
	return o.Choice.Reason()
}

// OpenWith opens the backend named name (see Open). WebGPU is only used once
// its self-test (webgpu.Backend.SelfTest: every kernel against the CPU
// backend on small inputs) passes: "webgpu" that cannot start, or fails
// it, is an error; "auto" then uses the CPU and says why (Fallback).
// Otherwise "auto" times a probe convolution on the CPU and on WebGPU
// (Measure, measure.go: a fraction of a second) and keeps the faster,
// releasing the other's device; Choice says what it measured. With remembered, the choice of an earlier
// measurement on this device (a valid Choice: cpu or webgpu, among its
// figures), "auto" measures nothing: it opens the CPU, or WebGPU (after its
// self-test, falling back as above), and Choice is remembered, marked
// Remembered. The other names ignore remembered. The CPU backend uses every
// core (GOMAXPROCS); Kernel says which kind of kernel it runs.
//
// For tests of the error paths and of the choice (a page can ask for them
// in its URL), "auto" and "webgpu" take a fault after a comma:
// "auto,fault=selftest" makes the self-test fail, "auto,fault=pipeline"
// adds a shader that does not compile, "auto,fault=hang" makes the GPU's
// readbacks never answer, so that the self-test gives up after
// webgpu.HangWait (see webgpu.Fault), and "auto,fault=slow" (auto only) adds SlowPenalty to WebGPU's measured time,
// so that the CPU wins the measurement. A fault makes "auto" measure even
// with remembered.
func OpenWith(name string, remembered *Choice) (Opened, error) {
	o, err := openWith(name, remembered)
	if err == nil {
		o.Kernel = CPUKernel(o.Backend)
	}
	return o, err
}

// openWith is OpenWith but for Kernel.
func openWith(name string, remembered *Choice) (Opened, error) {
	base, opt, err := parse(name)
	if err != nil {
		return Opened{}, err
	}
	switch base {
	case "", "auto":
		if remembered != nil && remembered.valid() && !opt.faulty() {
			return openRemembered(*remembered, opt)
		}
		g, gerr := openGPU(opt.gpu)
		if gerr != nil {
			return Opened{Backend: kernels.Checked(cpu.New(0)), Fallback: gerr.Error()}, nil
		}
		return chooseFaster(g, opt)
	case "cpu":
		return Opened{Backend: kernels.Checked(cpu.New(0))}, nil
	case "naive":
		return Opened{Backend: kernels.Checked(naive.Backend{})}, nil
	case "webgpu":
		g, gerr := openGPU(opt.gpu)
		if gerr != nil {
			return Opened{}, gerr
		}
		g.Opened()
		return Opened{Backend: kernels.Checked(g)}, nil
	}
	return Opened{}, fmt.Errorf("backends: unknown backend %q (want auto, cpu, webgpu or naive)", name)
}

// SlowPenalty is what "auto,fault=slow" adds to WebGPU's measured time.
const SlowPenalty = time.Second

// chooseFaster measures the open GPU g against the CPU backend and keeps
// the faster; g is closed when the CPU wins (or g fails the probe).
func chooseFaster(g *webgpu.Backend, opt options) (Opened, error) {
	c := cpu.New(0)
	gpu := Candidate{Backend: kernels.Checked(g)}
	if opt.slow {
		gpu.Penalty = SlowPenalty
	}
	best, choice, failed := Measure([]Candidate{{Backend: kernels.Checked(c)}, gpu})
	switch {
	case best < 0:
		g.Close()
		return Opened{}, failed
	case best == 1:
		g.Opened()
		return Opened{Backend: gpu.Backend, Choice: &choice}, nil
	}
	g.Close()
	if failed != nil { // the GPU failed its probe
		return Opened{Backend: kernels.Checked(c), Fallback: failed.Error()}, nil
	}
	return Opened{Backend: kernels.Checked(c), Choice: &choice}, nil
}

// openRemembered opens the backend of an earlier measurement's choice r.
func openRemembered(r Choice, opt options) (Opened, error) {
	r.Remembered = true
	if r.Name == "cpu" {
		return Opened{Backend: kernels.Checked(cpu.New(0)), Choice: &r}, nil
	}
	g, err := openGPU(opt.gpu)
	if err != nil {
		return Opened{Backend: kernels.Checked(cpu.New(0)), Fallback: err.Error()}, nil
	}
	g.Opened()
	return Opened{Backend: kernels.Checked(g), Choice: &r}, nil
}

// options are what follows the backend's name.
type options struct {
	gpu  webgpu.Options // a fault of the GPU backend (selftest, pipeline)
	slow bool           // fault=slow: WebGPU loses the measurement
}

// faulty reports whether a test asked for a fault.
func (o options) faulty() bool { return o.slow || o.gpu.Fault != "" }

// parse splits name into the backend and the options after it.
func parse(name string) (string, options, error) {
	var opt options
	fields := strings.Split(strings.ToLower(strings.TrimSpace(name)), ",")
	base := strings.TrimSpace(fields[0])
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch fault := webgpu.Fault(v); {
		case k == "fault" && (base == "auto" || base == "webgpu") && (fault == webgpu.FaultSelfTest || fault == webgpu.FaultPipeline || fault == webgpu.FaultHang):
			opt.gpu.Fault = fault
		case k == "fault" && base == "auto" && v == "slow":
			opt.slow = true
		default:
			return "", opt, fmt.Errorf("backends: unknown option %q in backend %q (want fault=selftest, fault=pipeline or fault=hang after auto or webgpu, or fault=slow after auto)", f, name)
		}
	}
	return base, opt, nil
}

// openGPU opens the WebGPU backend and runs its self-test against the CPU
// backend; on failure the device is released and the error says why. Each
// wait for the GPU is bounded (webgpu.OpenWait) until the caller calls
// Opened, after whatever else it measures.
func openGPU(opt webgpu.Options) (*webgpu.Backend, error) {
	g, err := webgpu.OpenWith(opt)
	if err != nil {
		return nil, err
	}
	if err := g.SelfTest(cpu.New(1)); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// CPUKernel says which kind of GEMM kernel b runs its products on when it
// is the CPU backend, or another backend under wrappers (kernels.Checked)
// that has a Kernel method (cpu.Backend.Kernel: "WebAssembly SIMD
// (relaxed)", "Go kernel (SIMD off)", …); "" otherwise.
func CPUKernel(b kernels.Backend) string {
	for b != nil {
		if k, ok := b.(interface{ Kernel() string }); ok {
			return k.Kernel()
		}
		u, ok := b.(interface{ Unwrap() kernels.Backend })
		if !ok {
			return ""
		}
		b = u.Unwrap()
	}
	return ""
}
