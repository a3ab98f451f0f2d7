package main

import (
	"errors"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
)

// presets are transfer's style-layer presets by name (even, early, late).
func presets() map[string][]transfer.LayerWeight {
	out := map[string][]transfer.LayerWeight{}
	for _, name := range transfer.PresetNames {
		p, err := transfer.Preset(name)
		if err == nil {
			out[name] = p
		}
	}
	return out
}

// validate is transfer's check of the settings against the loaded weights.
func validate(s transfer.Settings, net *model.Net) error { return s.Validate(net) }

// withFallback lets a run that loses its WebGPU device carry on on the CPU:
// transfer.Run calls Fallback once, on kernels.ErrDeviceLost; the worker
// then holds the CPU backend and a net rebuilt on it, and tells the page.
func withFallback(h transfer.Hooks, w *worker) transfer.Hooks {
	h.Fallback = func() (kernels.Backend, *model.Net, error) {
		if w.src == nil {
			return nil, nil, errors.New("wasm: no weights to rebuild the network from")
		}
		b, _, err := w.open("cpu")
		if err != nil {
			return nil, nil, err
		}
		net, err := model.New(b, w.src)
		if err != nil {
			return nil, nil, err
		}
		requested := "auto"
		if w.b != nil {
			requested = w.b.Name()
		}
		w.b, w.net = b, net
		w.post(BackendInfo{Type: OutBackend, Name: b.Name(), Describe: b.Describe(), Requested: requested,
			Fallback: true, Reason: "the GPU device was lost during the run"})
		return b, net, nil
	}
	return h
}
