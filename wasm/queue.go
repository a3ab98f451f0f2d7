package main

import "sync"

// queue hands messages from the JS callback to the message loop without ever
// blocking the callback (a js.FuncOf callback that blocks deadlocks the
// worker), keeping their order.
type queue struct {
	mu    sync.Mutex
	items []Inbound
	ready chan struct{} // holds a token while items is non-empty
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

// push never blocks.
func (q *queue) push(m Inbound) {
	q.mu.Lock()
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop waits for the oldest message.
func (q *queue) pop() Inbound {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = Inbound{}
			q.items = q.items[1:]
			if len(q.items) > 0 {
				select {
				case q.ready <- struct{}{}:
				default:
				}
			}
			q.mu.Unlock()
			return m
		}
		q.mu.Unlock()
		<-q.ready
	}
}
