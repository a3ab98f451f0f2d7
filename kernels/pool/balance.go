package pool

import "time"

// Sizing the shares by measurement.
//
// Equal shares finish at different times: a helper's answer comes back
// after a round trip through the browser's messages and copies (1–2 ms a
// call under Go's WebAssembly), and the caller starts its own share only
// when it settles the call, after whatever independent work it did first
// (the losses of the layer before: Pass.ForwardEach). So each key (a
// layer's weights, one direction) keeps what its last calls took: each
// participant's cost per unit of work (a pixel) and its delay. The next
// call gives each participant the units that make all of them finish
// together (cut).
//
// A helper's delay is timed from the times it reports (when it took the
// task up and when it answered, on a clock the browser shares between
// workers), not from when the caller found its answer: the caller finds
// it only once its own share is done, so timing that would count the
// caller's share as the helper's delay and hand the caller ever more.

// ewma is an exponentially weighted mean (weight alpha on the newest
// sample) that drops the first sample: a participant's first share of a
// key packs its weights or meets cold caches. n counts the samples,
// dropped one included.
type ewma struct {
	v float64
	n int
}

const alpha = 0.3

func (e *ewma) add(x float64) {
	switch e.n {
	case 0:
	case 1:
		e.v = x
	default:
		e.v += alpha * (x - e.v)
	}
	e.n++
}

// known reports whether e holds a mean.
func (e ewma) known() bool { return e.n > 1 }

// keyStats is what the calls of one key took: the caller's and the
// helpers' ms per unit of a share (a helper's own compute time) and their
// delay, in ms from the end of handing out the shares: to the start of the
// caller's own share, or to a helper's output being back, beyond its
// compute time. The helpers share one mean: they are alike, and what tells
// one from another here is the moment's scheduling on the device's cores,
// which the next call does not repeat (sizing their shares apart made two
// helpers slower on the 2-core machine of BENCHMARKS.md); the caller
// differs from them every call, by its delay.
type keyStats struct {
	cost, delay map[*member]*ewma // the caller's under nil, the helpers' under helpers
}

// helpers is the key of the helpers' means in keyStats.
var helpers = &member{}

// class is who's key in keyStats.
func class(who *member) *member {
	if who == nil {
		return nil
	}
	return helpers
}

// of returns the participant's mean in m, made on first use.
func of(m map[*member]*ewma, who *member) *ewma {
	e := m[who]
	if e == nil {
		e = &ewma{}
		m[who] = e
	}
	return e
}

// sample is what one participant's share of a call took.
type sample struct {
	m     *member // nil: the caller
	units int
	took  time.Duration // its compute time (a helper's as it reports it)
	delay time.Duration // see keyStats; negative: unknown
}

// cut divides units of work among participants that start after off[i]
// ms and take cost[i] ms per unit, so that they finish together: the
// finish time T solves Σ max(0, (T − off[i]) / cost[i]) = units. Each gets
// at least least units (so that its cost goes on being measured), and the
// sizes add up to units.
func cut(units int, cost, off []float64, least int) []int {
	n := len(cost)
	least = min(least, units/n)
	free := float64(units - least*n)
	// Solve for T over the participants that get more than least, dropping
	// those whose offset leaves them nothing.
	active := make([]bool, n)
	for i := range active {
		active[i] = true
	}
	var T float64
	for {
		var num, den float64
		for i := range n {
			if active[i] {
				num += off[i] / cost[i]
				den += 1 / cost[i]
			}
		}
		T = (free + num) / den
		changed := false
		for i := range n {
			if active[i] && T < off[i] {
				active[i], changed = false, true
			}
		}
		if !changed {
			break
		}
	}
	sizes := make([]int, n)
	var acc float64
	done := 0
	for i := range n {
		if active[i] {
			acc += (T - off[i]) / cost[i]
		}
		// Round the running sum, so that the sizes add up exactly.
		upto := min(int(acc+0.5), units-least*n)
		if i == n-1 {
			upto = units - least*n
		}
		sizes[i] = least + upto - done
		done = upto
	}
	return sizes
}

// ranges lays sizes out as contiguous ranges from 0.
func ranges(sizes []int) []span {
	rs := make([]span, len(sizes))
	lo := 0
	for i, s := range sizes {
		rs[i] = span{lo, lo + s}
		lo += s
	}
	return rs
}

// shares returns the ranges of a call of key over units (pixels when
// pixels, else channels): the caller's first when main, then each of
// ms's. A split by pixels is sized by measurement (the helpers' shares
// equal), with equal shares until the caller and the helpers have been
// measured on key. A split by channels stays
// equal: a share's cost there is not proportional to its channels (every
// share packs the whole im2col operand), and a helper keeps the weight
// slice of its range, so a new range would mean sending and packing a new
// slice.
func (p *Pool) shares(key, units int, ms []*member, main, pixels bool) []span {
	parts := len(ms)
	if main {
		parts++
	}
	equal := split(units, parts)
	if !pixels {
		return equal
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats[key]
	if st == nil {
		st = &keyStats{cost: map[*member]*ewma{}, delay: map[*member]*ewma{}}
		p.stats[key] = st
	}
	who := ms
	if main {
		who = append([]*member{nil}, ms...)
	}
	cost, off := make([]float64, len(who)), make([]float64, len(who))
	for i, m := range who {
		c, d := of(st.cost, class(m)), of(st.delay, class(m))
		if !c.known() || !d.known() {
			return equal
		}
		cost[i], off[i] = max(c.v, 1e-9), max(d.v, 0)
	}
	return ranges(cut(units, cost, off, max(1, units/(8*parts))))
}

// record adds what a call of key took: each participant's sample.
func (p *Pool) record(key int, samples []sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats[key]
	if st == nil {
		return // forgotten meanwhile, or never planned by measurement
	}
	for _, s := range samples {
		if s.units <= 0 || s.took <= 0 || s.delay < 0 {
			continue
		}
		of(st.cost, class(s.m)).add(msOf(s.took) / float64(s.units))
		of(st.delay, class(s.m)).add(msOf(s.delay))
		if s.m != nil {
			p.latency.add(msOf(s.delay))
		}
	}
}

// msOf is d in milliseconds.
func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
