package pool

import "sync"

// Queue hands values from a JavaScript callback to a loop without ever
// blocking the callback (a js.FuncOf callback that blocks deadlocks a Go
// worker), keeping their order: a helper's messages here, the worker's in
// package main (wasm/).
type Queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{} // holds a token while items is non-empty
}

// NewQueue returns an empty queue.
func NewQueue[T any]() *Queue[T] { return &Queue[T]{ready: make(chan struct{}, 1)} }

// Push never blocks.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Pop waits for the oldest value.
func (q *Queue[T]) Pop() T {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			v := q.items[0]
			var zero T
			q.items[0] = zero
			q.items = q.items[1:]
			if len(q.items) > 0 {
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			q.mu.Unlock()
			return v
		}
		q.mu.Unlock()
		<-q.ready
	}
}
