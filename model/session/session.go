// Package session is what every shell runs style transfer through — the
// browser worker (wasm/), the CLI (tools/crema) and the benchmarks
// (tools/bench/cremabench). A Session owns the choice of compute backend
// (kernels/backends: WebGPU, else the CPU, and why), the weights, the
// network built from them on that backend, and the fallback to the CPU
// when the GPU fails during a run. Runs go through transfer.Run.
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
	Reason    string `json:"reason,omitempty"`
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
	// open opens a backend by name (backends.Open; tests stand in for it).
	open func(name string) (kernels.Backend, string, error)
}

// New opens the backend called name ("auto", "cpu", "webgpu", "naive"; see
// backends.Open). A "webgpu" that cannot start falls back to the CPU, with
// the reason in Backend().
func New(name string) (*Session, error) {
	return NewWith(name, backends.Open)
}

// NewWith is New with another way to open backends (tests use it to stand
// in for a GPU).
func NewWith(name string, open func(string) (kernels.Backend, string, error)) (*Session, error) {
	s := &Session{open: open}
	if err := s.SetBackend(name); err != nil {
		return nil, err
	}
	return s, nil
}

// SetBackend opens the backend called name and moves the weights, if any,
// onto it. On failure the session keeps its current backend.
func (s *Session) SetBackend(name string) error {
	if strings.TrimSpace(name) == "" {
		name = "auto"
	}
	b, reason, err := s.open(name)
	if err != nil && strings.EqualFold(strings.TrimSpace(name), "webgpu") {
		reason = err.Error()
		b, _, err = s.open("cpu")
	}
	if err != nil {
		return err
	}
	info := BackendInfo{Name: b.Name(), Describe: b.Describe(), Requested: name, Fallback: reason != "", Reason: reason}
	return s.use(b, info)
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
	b, _, err := s.open("cpu")
	if err != nil {
		return err
	}
	info := BackendInfo{Name: b.Name(), Describe: b.Describe(), Requested: s.info.Requested, Fallback: true, Reason: why}
	if err := s.use(b, info); err != nil {
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
