// Package session is what every shell runs style transfer through — the
// browser worker (wasm/), the CLI (tools/crema) and the benchmarks
// (tools/bench/cremabench). A Session owns the choice of compute backend
// (kernels/backends: the faster of WebGPU and the CPU, measured, and why),
// the weights, the network built from them on that backend, and the
// fallback to the CPU when the GPU fails during a run. Runs go through
// transfer.Run.
package session

import (
	"context"
	"errors"
	"image"
	"strings"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
)

// BackendInfo says which backend runs the work, and why.
type BackendInfo struct {
	Name      string `json:"name"`      // webgpu, cpu or naive
	Describe  string `json:"describe"`  // the adapter, or the CPU workers
	Requested string `json:"requested"` // what was asked for: auto, cpu, webgpu
	Fallback  bool   `json:"fallback"`  // the CPU stands in for WebGPU
	// Reason says why: the fallback's cause, or what "auto" measured
	// (backends.Choice.Reason).
	Reason string `json:"reason,omitempty"`
	// Choice is what "auto" measured at start, or the earlier measurement
	// it followed (Remembered); nil otherwise, and on a fallback.
	Choice *backends.Choice `json:"choice,omitempty"`
	// Kernel, on the CPU, says which kind of GEMM kernel runs
	// (backends.Opened.Kernel: "WebAssembly SIMD (relaxed)", "Go kernel
	// (SIMD off)", …); "" on a GPU.
	Kernel string `json:"kernel,omitempty"`
}

// WeightsInfo says what the loaded weights hold.
type WeightsInfo struct {
	Layers []string `json:"layers"` // convolutions present, in network order
	// Unavailable maps every VGG-19 convolution that cannot be computed to
	// why ("conv4_1 is not in the loaded weights (they hold conv1_1 …
	// conv3_4)").
	Unavailable map[string]string `json:"unavailable"`
	Source      string            `json:"source"`
	License     string            `json:"license"`
}

// Session is one backend, one set of weights and the network on them. It
// is not safe for concurrent use, but a run may call OnBackend from its
// goroutine.
type Session struct {
	b    kernels.Backend
	info BackendInfo
	src  model.WeightSource
	net  *model.Net

	// OnBackend, when set, is told when a run moves to another backend (a
	// lost or failing GPU).
	OnBackend func(BackendInfo)
	// open opens a backend by name (backends.OpenWith; tests stand in for
	// it).
	open Opener
}

// New opens the backend called name ("auto", "cpu", "webgpu", "naive"; see
// backends.Open). A "webgpu" that cannot start falls back to the CPU, with
// the reason in Backend().
func New(name string) (*Session, error) {
	return NewRemembered(name, nil)
}

// NewRemembered is New with the choice that "auto" made by measurement on
// an earlier visit, which "auto" then follows without measuring (see
// backends.OpenWith); nil measures.
func NewRemembered(name string, remembered *backends.Choice) (*Session, error) {
	return NewOpener(name, remembered, backends.OpenWith)
}

// Opener opens a backend by name, following a remembered choice for "auto"
// (backends.OpenWith, or a shell's wrapper of it).
type Opener func(name string, remembered *backends.Choice) (backends.Opened, error)

// NewOpener is NewRemembered with another way to open backends: a shell's
// that wraps backends.OpenWith's (the worker's helper pool).
func NewOpener(name string, remembered *backends.Choice, open Opener) (*Session, error) {
	s := &Session{open: open}
	if err := s.SetBackendRemembered(name, remembered); err != nil {
		return nil, err
	}
	return s, nil
}

// NewWith is New with another way to open backends (tests use it to stand
// in for a GPU): open returns the backend and, when the CPU stands in for
// WebGPU, why.
func NewWith(name string, open func(string) (kernels.Backend, string, error)) (*Session, error) {
	return NewOpener(name, nil, func(name string, _ *backends.Choice) (backends.Opened, error) {
		b, reason, err := open(name)
		if err != nil {
			return backends.Opened{}, err
		}
		return backends.Opened{Backend: b, Fallback: reason, Kernel: backends.CPUKernel(b)}, nil
	})
}

// SetBackend opens the backend called name and moves the weights, if any,
// onto it. On failure the session keeps its current backend.
func (s *Session) SetBackend(name string) error { return s.SetBackendRemembered(name, nil) }

// SetBackendRemembered is SetBackend with an earlier visit's choice for
// "auto" (see NewRemembered).
func (s *Session) SetBackendRemembered(name string, remembered *backends.Choice) error {
	if strings.TrimSpace(name) == "" {
		name = "auto"
	}
	o, err := s.open(name, remembered)
	if err != nil && strings.EqualFold(strings.TrimSpace(name), "webgpu") {
		fallback := err.Error()
		o, err = s.open("cpu", nil)
		o.Fallback, o.Choice = fallback, nil
	}
	if err != nil {
		return err
	}
	info := BackendInfo{Name: o.Backend.Name(), Describe: o.Backend.Describe(), Requested: name, Kernel: o.Kernel,
		Fallback: o.Fallback != "", Reason: o.Reason()}
	if !info.Fallback {
		info.Choice = o.Choice
	}
	return s.use(o.Backend, info)
}

// use makes b the session's backend, rebuilding the network on it.
func (s *Session) use(b kernels.Backend, info BackendInfo) error {
	var net *model.Net
	if s.src != nil {
		var err error
		if net, err = model.New(b, s.src); err != nil {
			return err
		}
	}
	if s.net != nil {
		s.net.Close()
	}
	s.b, s.info, s.net = b, info, net
	return nil
}

// Load uploads src's weights to the backend; the previous weights are
// released once the new ones are in place. Weights a GPU cannot hold are
// loaded on the CPU instead, and OnBackend is told why.
func (s *Session) Load(src model.WeightSource) error {
	net, err := model.New(s.b, src)
	if err != nil && errors.Is(err, kernels.ErrDevice) && !s.onCPU() {
		if ferr := s.toCPU("the GPU cannot hold the weights: " + err.Error()); ferr != nil {
			return ferr
		}
		net, err = model.New(s.b, src)
	}
	if err != nil {
		return err
	}
	if s.net != nil {
		s.net.Close()
	}
	s.src, s.net = src, net
	return nil
}

// Backend describes the backend in use.
func (s *Session) Backend() BackendInfo { return s.info }

// Net is the network on the current backend (nil before Load).
func (s *Session) Net() *model.Net { return s.net }

// Weights describes the loaded weights (zero before Load).
func (s *Session) Weights() WeightsInfo {
	if s.net == nil {
		return WeightsInfo{}
	}
	source, license := s.src.Info()
	w := WeightsInfo{Layers: s.net.Layers(), Unavailable: map[string]string{}, Source: source, License: license}
	for _, c := range model.Convs() {
		if why := s.net.Why(c); why != "" {
			w.Unavailable[c] = why
		}
	}
	return w
}

// Run runs job on the session's network (transfer.Run, which checks the
// settings first). On a GPU, a run that the memory model cannot fit in the
// GPU's budget and largest buffer (transfer.PlanRun; webgpu.Backend.Budget
// derives them from the adapter) runs on the CPU from the start; when the GPU fails during the run (device lost, a validation,
// out-of-memory or internal error, an allocation it cannot make), the run
// carries on on the CPU from its last snapshot. Either way the session
// keeps the CPU and OnBackend is told why.
func (s *Session) Run(ctx context.Context, job transfer.Job, hooks transfer.Hooks) (*image.RGBA, error) {
	if s.net == nil {
		return nil, errors.New("session: no weights loaded yet")
	}
	if !s.onCPU() {
		if why := s.tooBig(job); why != "" {
			if err := s.toCPU(why); err != nil {
				return nil, err
			}
		}
	}
	if s.onCPU() {
		return transfer.Run(ctx, s.b, s.net, job, hooks) // nothing to fall back to
	}
	hooks.Fallback = func() (kernels.Backend, *model.Net, error) {
		why := "the GPU failed during the run"
		if cause := kernels.LastError(s.b); cause != nil {
			if errors.Is(cause, kernels.ErrDeviceLost) {
				why = "the GPU device was lost during the run"
			}
			why += ": " + cause.Error()
		}
		if err := s.toCPU(why); err != nil {
			return nil, nil, err
		}
		return s.b, s.net, nil
	}
	return transfer.Run(ctx, s.b, s.net, job, hooks)
}

// toCPU moves the session, weights included, to the CPU backend and tells
// OnBackend why.
func (s *Session) toCPU(why string) error {
	o, err := s.open("cpu", nil)
	if err != nil {
		return err
	}
	info := BackendInfo{Name: o.Backend.Name(), Describe: o.Backend.Describe(), Requested: s.info.Requested, Kernel: o.Kernel,
		Fallback: true, Reason: why}
	if err := s.use(o.Backend, info); err != nil {
		return err
	}
	if s.OnBackend != nil {
		s.OnBackend(info)
	}
	return nil
}

// tooBig says why job cannot run on the session's GPU — the memory model
// (transfer.PlanRun, against the GPU's budget and its largest buffer, tiles
// included) finds no way to fit it — or "".
func (s *Session) tooBig(job transfer.Job) string {
	plan, err := transfer.PlanRun(s.b, s.net, job.Settings, transfer.ShapeOf(job))
	if err != nil || plan.Fits {
		return "" // the run itself will say what is wrong, if anything
	}
	return "the run does not fit in the GPU's memory: " + plan.Reason
}

// onCPU reports whether the session already runs on the host (the CPU or
// the naive oracle), which has no device to lose.
func (s *Session) onCPU() bool { return s.b.Name() == "cpu" || s.b.Name() == "naive" }

// Close releases the weights on the device.
func (s *Session) Close() {
	if s.net != nil {
		s.net.Close()
		s.net = nil
	}
}
