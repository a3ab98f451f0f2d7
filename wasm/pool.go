package main

import (
	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/pool"
)

// helpers is the worker's pool of helper workers (kernels/pool): the CPU
// backend's convolutions split over them. The page asks for a number in
// init (helpers: absent = the default, 0 = none); the pool starts with the
// first CPU backend and stays for the worker's life.
type helpers struct {
	want  int    // helpers asked for; -1: the default (spawn decides)
	main  bool   // the worker computes a share too (pool.Options.MainShare)
	fault string // helper_fault (a test hook: exit@N)
	// spawn starts n helpers (-1: the default number) with the fault; nil
	// where there are no Web Workers (the native tests), which means no
	// pool.
	spawn func(n int, mainShare bool, fault string) (*pool.Pool, error)
	pool  *pool.Pool
}

// wantHelpers keeps init's helpers and helper_fault for the pool, which
// starts with the first CPU backend (later inits do not change it).
func (w *worker) wantHelpers(in Inbound) {
	if w.helpers.pool != nil {
		return
	}
	w.helpers.want = -1
	if in.Helpers != nil {
		w.helpers.want = max(0, *in.Helpers)
	}
	w.helpers.fault = in.HelperFault
	w.helpers.main = in.HelperMain == nil || *in.HelperMain
}

// openBackend is w.open with the CPU backend's convolutions on the helper
// pool, when one is wanted (the pool's start is reported in pool messages;
// a failure to start costs only speed).
func (w *worker) openBackend(name string, remembered *backends.Choice) (backends.Opened, error) {
	o, err := w.open(name, remembered)
	if err != nil || o.Backend.Name() != "cpu" || w.helpers.spawn == nil || w.helpers.want == 0 {
		return o, err
	}
	inner := o.Backend
	if u, ok := o.Backend.(interface{ Unwrap() kernels.Backend }); ok {
		inner = u.Unwrap()
	}
	c, ok := inner.(*cpu.Backend)
	if !ok {
		return o, nil
	}
	if w.helpers.pool == nil {
		p, perr := w.helpers.spawn(w.helpers.want, w.helpers.main, w.helpers.fault)
		if perr != nil {
			w.post(Error{Type: OutError, Stage: InInit, Message: perr.Error()})
		}
		if p == nil {
			w.helpers.want = 0
			return o, nil
		}
		w.helpers.pool = p
		p.OnChange = func(pool.Status) { w.postPool() }
		w.postPool()
	}
	o.Backend = kernels.Checked(w.helpers.pool.Wrap(c))
	return o, nil
}

// postPool tells the page what the pool is doing.
func (w *worker) postPool() {
	if w.helpers.pool != nil {
		w.post(PoolInfo{Type: OutPool, Status: w.helpers.pool.Status()})
	}
}
