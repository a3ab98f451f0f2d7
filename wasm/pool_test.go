package main

import (
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels/pool"
)

// localSpawn stands in for the browser's helper workers: n in-process
// helpers (pool.Local), the first stopping at its exitAt-th task when
// fault is exit@N; it records what it was asked.
type localSpawn struct {
	n         int
	mainShare bool
	calls     int
}

func (l *localSpawn) spawn(n int, mainShare bool, fault string) (*pool.Pool, error) {
	l.calls++
	l.n, l.mainShare = n, mainShare
	if n < 0 {
		n = 2 // the browser's default depends on its cores
	}
	exitAt := 0
	if fault != "" {
		exitAt = 1
	}
	opts := pool.DefaultOptions()
	opts.MinFLOPs = 0 // the test's convolutions are tiny
	opts.MainShare = mainShare
	p := pool.New(n, "transfer", opts)
	for i := 0; i < n; i++ {
		p.Join(pool.NewLocal(exitAt*(1-min(i, 1)), false), "helper "+string(rune('1'+i)))
	}
	return p, nil
}

// TestRunOnThePool: init's helpers start a pool with the CPU backend, the
// page is told (pool messages), a run's convolutions go to the helpers and
// its result is the run's without them; a helper that stops is reported
// and the run finishes.
func TestRunOnThePool(t *testing.T) {
	run := func(helpers *int, fault string) (Frame, []PoolInfo, *localSpawn) {
		t.Helper()
		rec := newRecorder()
		w := newWorker(rec.post, func() {})
		ls := &localSpawn{}
		w.helpers.spawn = ls.spawn
		w.handle(Inbound{Type: InInit, Backend: "cpu", Helpers: helpers, HelperFault: fault})
		rec.waitFor(t, "backend", isType(OutBackend))
		js, bin := syntheticFiles(t, "conv2_2")
		w.handle(Inbound{Type: InWeights, Manifest: js, Binary: bin})
		rec.waitFor(t, "weights", isType(OutWeights))
		w.handle(Inbound{Type: InImages, Content: rgbaImage(20, 16, 1), Styles: []Image{*rgbaImage(16, 16, 2)}})
		rec.waitFor(t, "images", isType(OutImages))
		w.handle(Inbound{Type: InStart, ID: 1, Values: smallRun(3)})
		d := rec.waitFor(t, "done", isType(OutDone)).(Frame)
		var infos []PoolInfo
		rec.mu.Lock()
		for _, m := range rec.msgs {
			if p, ok := m.(PoolInfo); ok {
				infos = append(infos, p)
			}
		}
		rec.mu.Unlock()
		return d, infos, ls
	}
	zero, two := 0, 2
	alone, infos, ls := run(&zero, "")
	if ls.calls != 0 || len(infos) != 0 {
		t.Fatalf("helpers=0 spawned %d pools and posted %v, want none", ls.calls, infos)
	}
	pooled, infos, ls := run(&two, "")
	if ls.calls != 1 || ls.n != 2 || !ls.mainShare {
		t.Fatalf("spawn asked for %d helpers (main share %v) %d times, want 2 (true) once", ls.n, ls.mainShare, ls.calls)
	}
	last := infos[len(infos)-1]
	if len(infos) < 2 || last.Type != OutPool || last.Running != 2 || last.Tasks == 0 || last.Lost != 0 {
		t.Fatalf("pool messages %+v, want one at the start and one after the run with 2 running and tasks done", infos)
	}
	// Each helper holds a slice of each layer's weights for each direction,
	// sent once: conv1_1 … conv2_2 are 4 layers, so at most 2·4 slices a
	// helper, while the shares number dozens.
	if last.Loads == 0 || last.Loads > 2*2*4 || last.Tasks <= 2*last.Loads {
		t.Errorf("%d weight slices sent for %d shares, want at most 16, and the shares many more", last.Loads, last.Tasks)
	}
	if !sameImage(alone.Pixels, pooled.Pixels, 1) {
		t.Error("the pooled run's image differs from the run's without helpers by more than 1 level")
	}
	_, infos, ls = run(nil, "exit@1")
	last = infos[len(infos)-1]
	if ls.n != -1 || last.Running != 1 || last.Lost != 1 || !strings.HasPrefix(last.Reason, "helper 1 stopped (pool: helper fault: exit at task 1") {
		t.Fatalf("default helpers with a fault: spawn asked for %d, last pool message %+v; want -1 (the default), 1 running, 1 lost with the reason", ls.n, last)
	}
}

// sameImage reports whether a and b differ by at most tol in every byte.
func sameImage(a, b []byte, tol int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := int(a[i]) - int(b[i]); d > tol || d < -tol {
			return false
		}
	}
	return true
}
