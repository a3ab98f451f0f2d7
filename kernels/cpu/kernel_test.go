package cpu

import (
	"testing"
)

// TestMeasuredChoiceSkipsSlowKernel: a candidate made deliberately slow (the
// fastest kernel's code run eight times per block, so same tile shape, 8×
// the time) is measured slower than its twin and never chosen, whatever the
// product's shape; the scalar kernel is measured too.
func TestMeasuredChoiceSkipsSlowKernel(t *testing.T) {
	ks := candidates()
	fast := measure(ks)[0]
	slow := &microKernel{name: "slow " + fast.name, mr: fast.mr, nr: fast.nr,
		block: func(_ *microKernel, kc int, a []float32, aStride, panels, rowsLast int,
			b []float32, bPanels, colsLast int, c []float32, ldc int, tile []float32) {
			for range 8 {
				fast.run(kc, a, aStride, panels, rowsLast, b, bPanels, colsLast, c, ldc, tile)
			}
		}}
	for _, k := range ks {
		k.rate = 0
	}
	// The slow candidate first, so that a tie would pick it.
	ms := measure(append([]*microKernel{slow}, ks...))
	for _, k := range ms {
		t.Logf("%-16s %6.1f GFLOP/s", k.name, k.rate)
		if k.rate <= 0 {
			t.Errorf("%s: rate %g, want > 0", k.name, k.rate)
		}
	}
	if slow.rate >= fast.rate {
		t.Fatalf("slow candidate measured %.1f GFLOP/s, its twin %s %.1f", slow.rate, fast.name, fast.rate)
	}
	shapes := [][2]int{{3, 16}, {64, 4096}, {256, 1024}, {512, 16}, {64, 64}, {7, 7}, {1, 1}}
	for _, s := range shapes {
		if k := choose(ms, s[0], s[1]); k == slow {
			t.Errorf("[%d, %d] product: chose the slow candidate", s[0], s[1])
		}
	}
}

// TestChooseWeighsPadding: the choice is rate × utilisation, so a fast wide
// kernel loses to a narrower one where most of its tile would be padding.
func TestChooseWeighsPadding(t *testing.T) {
	wide := &microKernel{name: "2×64", mr: 2, nr: 64, rate: 150}
	tall := &microKernel{name: "7×16", mr: 7, nr: 16, rate: 130}
	scalar := &microKernel{name: "2×4", mr: 2, nr: 4, rate: 15}
	ks := []*microKernel{wide, tall, scalar}
	for _, c := range []struct {
		m, n int
		want *microKernel
	}{
		{256, 4096, wide}, // full tiles: the fastest
		{512, 16, tall},   // 16 columns: 2×64 would waste 3/4 (37.5 vs 130)
		{512, 64, wide},
		{3, 16, tall},  // 150·(3/4)·(1/4) = 28 < 130·(3/7) = 56
		{1, 4, scalar}, // 150·(1/2)·(1/16) = 4.7, 130·(1/7)·(1/4) = 4.6, 15·(1/2) = 7.5
	} {
		if got := choose(ks, c.m, c.n); got != c.want {
			t.Errorf("[%d, %d]: chose %s, want %s", c.m, c.n, got.name, c.want.name)
		}
	}
	if u := utilisation(3, 16, 2, 64); u != 0.75*0.25 {
		t.Errorf("utilisation(3, 16, 2, 64) = %g, want %g", u, 0.75*0.25)
	}
}
