package pool

import "testing"

// The queue gives values back in the order pushed, and Pop waits for a
// Push that comes later.
func TestQueueKeepsOrder(t *testing.T) {
	q := NewQueue[int]()
	for i := range 5 {
		q.Push(i)
	}
	for i := range 5 {
		if v := q.Pop(); v != i {
			t.Fatalf("pop %d: got %d", i, v)
		}
	}
	go q.Push(9)
	if v := q.Pop(); v != 9 {
		t.Fatalf("pop after waiting: %d", v)
	}
}
