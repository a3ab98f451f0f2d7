package weights

import (
	"math"
	"testing"
)

func TestFloat16KnownValues(t *testing.T) {
	cases := []struct {
		f float32
		h uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},                 // largest finite half
		{65519, 0x7bff},                 // just below the rounding midpoint to Inf
		{65520, 0x7c00},                 // midpoint, ties to even = Inf
		{1e6, 0x7c00},                   // overflow
		{float32(math.Inf(-1)), 0xfc00}, //
		{0x1p-14, 0x0400},               // smallest normal
		{0x1p-24, 0x0001},               // smallest subnormal
		{0x1p-25, 0x0000},               // midpoint to 0, ties to even = 0
		{0x1.8p-25, 0x0001},             // above the midpoint
		{0x3p-24, 0x0003},               // exact subnormal
		{0x1p-30, 0x0000},               // underflow
		{-0x1p-24, 0x8001},              //
		{1 + 0x1p-11, 0x3c00},           // tie between 1 and 1+2^-10: even is 1
		{1 + 0x3p-11, 0x3c02},           // tie between 1+2^-10 and 1+2^-9: even is the latter
		{0x1.ffcp-15, 0x0400},           // rounds up from subnormal into the smallest normal
		{float32(0.1), 0x2e66},          // 0.0999755859375
		{float32(103.939), 0x567f},      // 103.9375
	}
	for _, c := range cases {
		if got := Float16Bits(c.f); got != c.h {
			t.Errorf("Float16Bits(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if h := Float16Bits(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("Float16Bits(NaN) = %#04x, not a NaN", h)
	}
}

// Every half value decodes to a float32 that encodes back to the same bits.
func TestFloat16RoundTripAllValues(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f := Float16Frombits(h)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if !math.IsNaN(float64(f)) {
				t.Fatalf("Float16Frombits(%#04x) = %g, want NaN", h, f)
			}
			continue
		}
		if back := Float16Bits(f); back != h {
			t.Fatalf("Float16Bits(Float16Frombits(%#04x) = %g) = %#04x", h, f, back)
		}
	}
}

// Between two neighbouring halves, values round to the nearer one and exact
// midpoints to the one with an even last bit.
func TestFloat16RoundsToNearestEven(t *testing.T) {
	for i := range 0x7bff { // positive finite halves a and their successor b
		a, b := uint16(i), uint16(i+1)
		fa, fb := float64(Float16Frombits(a)), float64(Float16Frombits(b))
		mid := float32((fa + fb) / 2) // exact: halves have 11 significant bits
		even := a
		if a&1 == 1 {
			even = b
		}
		if got := Float16Bits(mid); got != even {
			t.Fatalf("midpoint %g of %#04x and %#04x: got %#04x, want %#04x", mid, a, b, got, even)
		}
		below := math.Nextafter32(mid, float32(fa))
		above := math.Nextafter32(mid, float32(fb))
		if got := Float16Bits(below); got != a {
			t.Fatalf("%g just below midpoint: got %#04x, want %#04x", below, got, a)
		}
		if got := Float16Bits(above); got != b {
			t.Fatalf("%g just above midpoint: got %#04x, want %#04x", above, got, b)
		}
		if got := Float16Bits(-mid); got != even|0x8000 {
			t.Fatalf("negative midpoint %g: got %#04x, want %#04x", -mid, got, even|0x8000)
		}
	}
}
