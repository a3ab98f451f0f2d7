package weights

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The 8-bit encoding: every value within one step (its channel's scale) of
// the original, a quarter of float32's size for weights, biases kept exactly.
func TestInt8RoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := randomTensors(6, "conv1_1", "conv1_2", "conv2_1")
	in[0].Data[5] = 0.9       // a channel whose maximum is far above the rest
	zero := in[2].Data[:64*9] // conv1_2.weight channel 0: all zeros
	for i := range zero {
		zero[i] = 0
	}
	if err := WriteAs(dir, testManifest(), in, Int8); err != nil {
		t.Fatal(err)
	}
	w, err := Load(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if w.Manifest.Version != Version {
		t.Errorf("version %d", w.Manifest.Version)
	}
	for _, nt := range in {
		data, _, ok := w.Tensor(nt.Name)
		if !ok {
			t.Fatalf("%s missing", nt.Name)
		}
		ti := w.Manifest.Tensors[tensorIndex(w.Manifest, nt.Name)]
		if len(nt.Shape) == 1 {
			if ti.DType != "float32" || !slices.Equal(data, nt.Data) {
				t.Errorf("%s: dtype %s; biases must stay float32 and exact", nt.Name, ti.DType)
			}
			continue
		}
		cout := nt.Shape[0]
		per := len(nt.Data) / cout
		if ti.DType != "int8" || ti.Length != int64(4*cout+len(nt.Data)) {
			t.Errorf("%s: dtype %s, %d bytes", nt.Name, ti.DType, ti.Length)
		}
		for o := range cout {
			var m float64
			for _, v := range nt.Data[o*per : (o+1)*per] {
				m = max(m, math.Abs(float64(v)))
			}
			bound := m/127 + 1e-7
			for i := o * per; i < (o+1)*per; i++ {
				if d := math.Abs(float64(data[i] - nt.Data[i])); d > bound {
					t.Fatalf("%s[%d] = %g, original %g: error %g above the scale %g", nt.Name, i, data[i], nt.Data[i], d, bound)
				}
			}
		}
	}
	// The zero channel decodes to zeros (scale 0), the largest value exactly.
	d, _, _ := w.Tensor("conv1_2.weight")
	if slices.ContainsFunc(d[:64*9], func(v float32) bool { return v != 0 }) {
		t.Error("a zero channel does not decode to zeros")
	}
	d, _, _ = w.Tensor("conv1_1.weight")
	if math.Abs(float64(d[5]-0.9)) > 1e-6 {
		t.Errorf("a channel's largest value %g decodes to %g", float32(0.9), d[5])
	}
}

// roundKernel finds the best of the 512 ways to round a kernel (checked by
// brute force), so it is never worse than rounding to nearest.
func TestRoundKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cost := func(v []float32, s float64, q []int8) float64 {
		var e [9]float64
		for i := range 9 {
			e[i] = float64(q[i]) - float64(v[i])/s
		}
		c := 0.0
		for a := range 9 {
			for b := range 9 {
				c += e[a] * patch[a][b] * e[b]
			}
		}
		return c
	}
	for range 200 {
		v := make([]float32, 9)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		var m float64
		for _, x := range v {
			m = max(m, math.Abs(float64(x)))
		}
		s := m / 127 // the largest value is exactly ±127 steps
		q := make([]int8, 9)
		roundKernel(v, s, q)
		got := cost(v, s, q)
		best := math.Inf(1)
		for mask := range 512 {
			c := make([]int8, 9)
			for i := range 9 {
				r := float64(v[i]) / s
				f := math.Floor(r)
				if r != f { // a value on a step stays there
					f += float64(mask >> i & 1)
				}
				c[i] = int8(min(max(f, -127), 127))
			}
			best = min(best, cost(v, s, c))
		}
		near := make([]int8, 9)
		for i := range 9 {
			near[i] = int8(math.Round(float64(v[i]) / s))
		}
		if math.Abs(got-best) > 1e-9 || got > cost(v, s, near)+1e-9 {
			t.Fatalf("%v: cost %g, best %g, nearest %g (q %v)", v, got, best, cost(v, s, near), q)
		}
	}
}

func TestQuantize8(t *testing.T) {
	scales, q := Quantize8([]float32{1, -0.5, 0.25, 0, 0, 0, -254, 127, 1}, 3)
	if !slices.Equal(scales, []float32{1.0 / 127, 0, 2}) {
		t.Errorf("scales %v", scales)
	}
	if !slices.Equal(q, []int8{127, -64, 32, 0, 0, 0, -127, 64, 1}) { // round half away from zero: 63.5 → 64, 0.5 → 1
		t.Errorf("q %v", q)
	}
}

// Damaged int8 data is refused with what is wrong, wherever it lies.
func TestInt8Refusals(t *testing.T) {
	m, bin, err := Encode(testManifest(), randomTensors(7, "conv1_1"), Int8)
	if err != nil {
		t.Fatal(err)
	}
	w1 := tensorIndex(m, "conv1_1.weight")
	off := m.Tensors[w1].Offset
	cases := []struct {
		name   string
		edit   func(b []byte)
		expect string
	}{
		{"NaN scale", func(b []byte) { binary.LittleEndian.PutUint32(b[off+4*3:], math.Float32bits(float32(math.NaN()))) },
			"tensor conv1_1.weight: the scale of output channel 3 is NaN: scales must be finite and not negative"},
		{"negative scale", func(b []byte) { binary.LittleEndian.PutUint32(b[off:], math.Float32bits(-1)) },
			"tensor conv1_1.weight: the scale of output channel 0 is -1"},
		{"-128", func(b []byte) { b[off+4*64+10] = 0x80 },
			"tensor conv1_1.weight: element 10 is -128: int8 values must lie in [-127, 127]"},
		{"overflow", func(b []byte) {
			binary.LittleEndian.PutUint32(b[off+4:], math.Float32bits(3e38))
			b[off+4*64+27] = 100 // channel 1's first value: 100 × 3e38 = +Inf
		}, "tensor conv1_1.weight: element 27 is +Inf: weights must be finite"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := slices.Clone(bin)
			mm := m
			mm.Tensors = slices.Clone(m.Tensors)
			c.edit(b)
			reseal(&mm, b)
			_, err := Parse(marshal(t, mm), b)
			if err == nil || !strings.Contains(err.Error(), c.expect) {
				t.Errorf("error %v\nwant it to contain %q", err, c.expect)
			}
		})
	}
	// Non-finite input is refused by the writer.
	bad := randomTensors(7, "conv1_1")
	bad[0].Data[9] = float32(math.Inf(1))
	if _, _, err := Encode(testManifest(), bad, Int8); err == nil || !strings.Contains(err.Error(), "tensor conv1_1.weight: element 9 is +Inf: weights must be finite") {
		t.Errorf("Inf in: %v", err)
	}
}

// Version 1 files (no per-tensor SHA-256) are still read.
func TestReadsVersion1(t *testing.T) {
	m, bin, err := Encode(testManifest(), randomTensors(8, "conv1_1", "conv1_2"), Float16)
	if err != nil {
		t.Fatal(err)
	}
	m.Version = 1
	for i := range m.Tensors {
		m.Tensors[i].SHA256 = ""
	}
	w, err := Parse(marshal(t, m), bin)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.Layers(), []string{"conv1_1", "conv1_2"}) {
		t.Errorf("layers %v", w.Layers())
	}
}

// The binary is laid out in network order whatever order the tensors come
// in: a download brings conv1_1 first.
func TestWriteLaysOutInNetworkOrder(t *testing.T) {
	in := randomTensors(9, "conv2_1", "conv1_1", "conv1_2")
	slices.Reverse(in)
	m, _, err := Encode(testManifest(), in, Float32)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	last := int64(-1)
	for _, ti := range m.Tensors {
		names = append(names, ti.Name)
		if ti.Offset <= last {
			t.Errorf("%s at %d, not after %d", ti.Name, ti.Offset, last)
		}
		last = ti.Offset
	}
	want := []string{"conv1_1.weight", "conv1_1.bias", "conv1_2.weight", "conv1_2.bias", "conv2_1.weight", "conv2_1.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("order %v, want %v", names, want)
	}
	if got := m.Layers(); !slices.Equal(got, []string{"conv1_1", "conv1_2", "conv2_1"}) {
		t.Errorf("Manifest.Layers() = %v", got)
	}
}

func TestPacks(t *testing.T) {
	if DefaultPack.Name != "f16" || PackDir("f16") != "pack-f16" || DefaultPack.Dir() != "pack-f16" {
		t.Errorf("default pack %+v, dir %s", DefaultPack, PackDir("f16"))
	}
	if p, ok := LookupPack("q8"); !ok || p.Encoding != Int8 || p.Dir() != "pack-q8" {
		t.Errorf("q8: %+v %v", p, ok)
	}
	if _, ok := LookupPack("f32"); ok {
		t.Error("LookupPack(f32) found a pack")
	}
}
