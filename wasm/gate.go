package main

import (
	"context"
	"sync"
)

// gate pauses a run between iterations. The message loop calls Pause and
// Resume; the run's goroutine calls Wait from its Progress hook and blocks
// there while paused. Stopping is the run's context: Wait returns as soon as
// it is cancelled, paused or not.
type gate struct {
	mu      sync.Mutex
	resumed chan struct{} // nil while running; closed by Resume
}

// Pause makes the next Wait block. It reports false when already paused.
func (g *gate) Pause() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.resumed != nil {
		return false
	}
	g.resumed = make(chan struct{})
	return true
}

// Resume releases a blocked Wait. It reports false when not paused.
func (g *gate) Resume() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.resumed == nil {
		return false
	}
	close(g.resumed)
	g.resumed = nil
	return true
}

// Paused reports whether the gate is shut.
func (g *gate) Paused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.resumed != nil
}

// Wait returns at once while running, else when resumed or ctx is done; it
// returns ctx's error in the latter case.
func (g *gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	ch := g.resumed
	g.mu.Unlock()
	if ch == nil {
		return ctx.Err()
	}
	select {
	case <-ch:
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}
