package pool

import "time"

// Sizing the shares by measurement.
//
// Equal shares finish at different times: a helper's answer comes back
// after a round trip through the browser's messages (about 1.5 ms a call
// under Go's WebAssembly), and the caller starts its own share only when
// it settles the call, after whatever independent work it did first (the
// losses of the layer before: Pass.ForwardEach). So each key (a layer's
// weights, one direction) keeps what its last calls took: each
// participant's cost per unit of work (a pixel or a channel) and the
// caller's delay before its share; the pool keeps the round trip. The next
// call gives each participant the units that make all of them finish
// together (cut).

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

// keyStats is what the calls of one key took.
type keyStats struct {
	caller  ewma             // ms per unit of the caller's share
	helpers map[*member]ewma // ms per unit of each helper's share (its own compute time)
	delay   ewma             // ms from handing out the shares to starting the caller's
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

// sample is what one participant's share of a call took.
type sample struct {
	m     *member // nil: the caller
	units int
	took  time.Duration // its compute time (a helper's as it reports it)
}

// ms is d in milliseconds.
func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// shares returns the ranges of a call of key over units (pixels when
// pixels, else channels): the caller's first when main, then each of
// ms's. A split by pixels is sized by measurement, with equal shares until
// each participant has been measured on key. A split by channels stays
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
		st = &keyStats{helpers: map[*member]ewma{}}
		p.stats[key] = st
	}
	var cost, off []float64
	if main {
		if !st.caller.known() {
			return equal
		}
		cost, off = append(cost, st.caller.v), append(off, st.delay.v)
	}
	for _, m := range ms {
		e := st.helpers[m]
		if !e.known() {
			return equal
		}
		cost, off = append(cost, e.v), append(off, p.latency.v)
	}
	for i := range cost {
		cost[i] = max(cost[i], 1e-9)
	}
	return ranges(cut(units, cost, off, max(1, units/(8*parts))))
}

// record adds what a call of key took: its participants' samples, the
// caller's delay before its share (when it had one) and the helpers'
// round trips beyond their compute time (trips).
func (p *Pool) record(key int, samples []sample, delay time.Duration, trips []time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range trips {
		p.latency.add(max(0, msOf(d))) // below 0: the helper's clock and ours disagree
	}
	st := p.stats[key]
	if st == nil {
		return // forgotten meanwhile
	}
	for _, s := range samples {
		if s.units <= 0 || s.took <= 0 {
			continue
		}
		per := msOf(s.took) / float64(s.units)
		if s.m == nil {
			st.caller.add(per)
			st.delay.add(msOf(delay))
			continue
		}
		e := st.helpers[s.m]
		e.add(per)
		st.helpers[s.m] = e
	}
}
