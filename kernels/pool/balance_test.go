package pool

import (
	"math"
	"slices"
	"testing"
)

// TestCut: the sizes add up to the units, each is at least least, and
// where every participant gets more than least they finish together to
// within one unit's cost.
func TestCut(t *testing.T) {
	for _, tc := range []struct {
		name      string
		units     int
		cost, off []float64
		least     int
		want      []int
	}{
		{"equal", 100, []float64{1, 1}, []float64{0, 0}, 1, []int{50, 50}},
		{"one three times slower", 100, []float64{1, 3}, []float64{0, 0}, 1, []int{75, 25}},
		{"a late start", 100, []float64{1, 1}, []float64{10, 0}, 1, []int{45, 55}},
		{"three, one late", 90, []float64{1, 1, 1}, []float64{0, 0, 30}, 0, []int{40, 40, 10}},
		{"too late for any share", 90, []float64{1, 1, 1}, []float64{0, 0, 500}, 0, []int{45, 45, 0}},
		{"too late, but at least 5", 90, []float64{1, 1, 1}, []float64{0, 0, 500}, 5, []int{43, 42, 5}},
		{"fewer units than parts need", 3, []float64{1, 1, 1}, []float64{0, 0, 0}, 2, []int{1, 1, 1}},
	} {
		got := cut(tc.units, tc.cost, tc.off, tc.least)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: cut = %v, want %v", tc.name, got, tc.want)
		}
		sum, end := 0, []float64{}
		for i, s := range got {
			sum += s
			if s > tc.least {
				end = append(end, tc.off[i]+float64(s)*tc.cost[i])
			}
		}
		if sum != tc.units {
			t.Errorf("%s: sizes %v add up to %d, want %d", tc.name, got, sum, tc.units)
		}
		if len(end) > 1 && slices.Max(end)-slices.Min(end) > 2*slices.Max(tc.cost) {
			t.Errorf("%s: finish times %v differ by more than a unit's cost", tc.name, end)
		}
	}
}

// TestEWMA: the first sample is dropped, the second is the mean, and
// later ones move it by alpha.
func TestEWMA(t *testing.T) {
	var e ewma
	e.add(1000)
	if e.known() {
		t.Error("an ewma of one (dropped) sample is known")
	}
	e.add(10)
	e.add(20)
	if want := 10 + alpha*10; !e.known() || math.Abs(e.v-want) > 1e-12 || e.n != 3 {
		t.Errorf("ewma after 1000, 10, 20 = %v (n %d), want %v (n 3)", e.v, e.n, want)
	}
}
