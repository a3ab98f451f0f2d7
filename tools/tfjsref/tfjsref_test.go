package tfjsref

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/crema-app/crema/tools/internal/shared"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/kernels/cpu/wasmsimd/wazerosimd"
	"github.com/crema-app/crema/kernels/naive"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/convert"
)

// Paths relative to this package's directory (go test runs there).
const (
	fixtureJSON = "../../testdata/tfjsref_48x40.json"
)

// tolerance is the bound on max |crema − tfjs| / max |tfjs|.
const tolerance = 1e-4

// span locates a float32 array in the fixture's binary (in elements).
type span struct {
	Offset int `json:"offset"`
	Length int `json:"length"`
}

type fixtureLayer struct {
	Name        string  `json:"name"`
	Shape       [3]int  `json:"shape"` // [C, H, W]
	Max         float64 `json:"max"`
	Sum         float64 `json:"sum"`
	SumSquares  float64 `json:"sum_squares"`
	Nonzero     int     `json:"nonzero"`
	ChannelSums span    `json:"channel_sums"`
	Samples     span    `json:"samples"`
}

type fixtureGradient struct {
	Name  string `json:"name"`
	Terms []struct {
		Layer  string  `json:"layer"`
		Weight float32 `json:"weight"`
	} `json:"terms"`
	MaxAbs float64 `json:"max_abs"`
	span
}

// fixture is testdata/tfjsref_48x40.json (see tools/tfjsref/main.mjs).
type fixture struct {
	Binary        string            `json:"binary"`
	Width         int               `json:"width"`
	Height        int               `json:"height"`
	Pooling       string            `json:"pooling"`
	WeightsSHA256 map[string]string `json:"weights_sha256"`
	Preprocess    struct {
		ChannelOrder string     `json:"channel_order"`
		Scale        float32    `json:"scale"`
		Mean         [3]float32 `json:"mean"`
		Std          [3]float32 `json:"std"`
	} `json:"preprocess"`
	Image       span `json:"image"`
	SampleStep  int  `json:"sample_step"`
	SampleFirst int  `json:"sample_first"`
	SampleCount int  `json:"sample_count"`

	Layers    []fixtureLayer    `json:"layers"`
	Gradients []fixtureGradient `json:"gradients"`

	bin []float32
}

func (f *fixture) at(s span) []float32 { return f.bin[s.Offset : s.Offset+s.Length] }

// sampleIndices are the CHW indices of a layer's samples: (k·step + first)
// mod N for k < count, N = C·H·W.
func (f *fixture) sampleIndices(l fixtureLayer) []int {
	n := l.Shape[0] * l.Shape[1] * l.Shape[2]
	idx := make([]int, f.SampleCount)
	for k := range idx {
		idx[k] = (k*f.SampleStep + f.SampleFirst) % n
	}
	return idx
}

func loadFixture(t *testing.T) *fixture {
	t.Helper()
	js, err := os.ReadFile(fixtureJSON)
	if err != nil {
		t.Fatalf("reading the tfjs fixture (regenerate with `make testdata-tfjs`): %v", err)
	}
	var f fixture
	if err := json.Unmarshal(js, &f); err != nil {
		t.Fatalf("%s: %v", fixtureJSON, err)
	}
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(fixtureJSON), f.Binary))
	if err != nil {
		t.Fatalf("reading the fixture's binary: %v", err)
	}
	if len(raw)%4 != 0 {
		t.Fatalf("%s is %d bytes, not a whole number of float32", f.Binary, len(raw))
	}
	f.bin = make([]float32, len(raw)/4)
	for i := range f.bin {
		f.bin[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	check := func(what string, s span, want int) {
		if s.Length != want || s.Offset < 0 || s.Offset+s.Length > len(f.bin) {
			t.Fatalf("fixture %s: span %+v, want %d values inside %d", what, s, want, len(f.bin))
		}
	}
	plane := f.Width * f.Height
	check("image", f.Image, 3*plane)
	if f.SampleCount < 1 || f.SampleStep < 1 {
		t.Fatalf("fixture sampling: %d samples every %d", f.SampleCount, f.SampleStep)
	}
	for _, l := range f.Layers {
		check(l.Name+" channel sums", l.ChannelSums, l.Shape[0])
		check(l.Name+" samples", l.Samples, f.SampleCount)
	}
	for _, g := range f.Gradients {
		check("gradient "+g.Name, g.span, 3*plane)
	}
	return &f
}

// convertShared converts the shared tfjs weights with crema's converter into
// a temporary directory and loads the result, skipping when ../shared is
// absent. It also checks that the shards are the ones the fixture was made
// from.
func convertShared(t *testing.T, f *fixture) *weights.Weights {
	t.Helper()
	sharedTFJS := shared.Require(t, shared.Weights(), "the real VGG-19 weights the fixture was made from")
	for file, want := range f.WeightsSHA256 {
		b, err := os.ReadFile(filepath.Join(sharedTFJS, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != want {
			t.Fatalf("%s has SHA-256 %x, but the fixture was made from %s: regenerate it with `make testdata-tfjs`", file, got, want)
		}
	}
	dir := t.TempDir()
	if _, err := convert.Convert(sharedTFJS, dir, convert.Options{}); err != nil {
		t.Fatalf("converting %s: %v", sharedTFJS, err)
	}
	w, err := weights.Load(filepath.Join(dir, weights.ManifestFile))
	if err != nil {
		t.Fatalf("loading the converted weights: %v", err)
	}
	return w
}

// relDiff is max |got − ref| / scale over a slice.
func relDiff(got, ref []float32, scale float64) float64 {
	d := 0.0
	for i := range ref {
		d = max(d, math.Abs(float64(got[i])-float64(ref[i])))
	}
	return d / scale
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// TestAgainstTFJS runs crema's converter and VGG-19 on the fixture's image and
// compares every feature conv1_1 … conv3_4 and both input gradients with
// TensorFlow.js' (tools/tfjsref/main.mjs). Features are compared at the
// fixture's 1024 sample points per layer, by their max, Σ, Σ² and per-channel
// sums over the whole tensor; gradients in full. Each relative difference is
// max |crema − tfjs| / max |tfjs| (over the whole tensor for features).
func TestAgainstTFJS(t *testing.T) {
	f := loadFixture(t)
	w := convertShared(t, f)

	// The converter must have recorded the Keras "caffe" preprocessing the
	// reference used.
	pre := w.Preprocess()
	if pre.ChannelOrder != f.Preprocess.ChannelOrder || pre.Scale != f.Preprocess.Scale ||
		pre.Mean != f.Preprocess.Mean || pre.Std != f.Preprocess.Std {
		t.Fatalf("converted weights have preprocessing %+v, the reference used %+v", pre, f.Preprocess)
	}
	if f.Pooling != "max" {
		t.Fatalf("fixture pooling is %q, this test runs max", f.Pooling)
	}

	backends := []kernels.Backend{kernels.Checked(cpu.New(0)), kernels.Checked(naive.Backend{})}
	if testing.Short() {
		backends = backends[:1]
	}
	for _, b := range backends {
		t.Run(b.Name(), func(t *testing.T) { compareBackend(t, b, w, f) })
	}
	if testing.Short() {
		return
	}
	// Every GEMM micro-kernel of the CPU backend (issue 10): those this
	// build runs natively (the AVX ones with GOEXPERIMENT=simd) and the
	// WebAssembly SIMD128 ones under wazero.
	for _, name := range cpu.MicroKernelNames() {
		b, err := cpu.NewWithKernel(0, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) { compareBackend(t, kernels.Checked(b), w, f) })
	}
	for _, k := range wazerosimd.Kernels(t) {
		t.Run(k.Name, func(t *testing.T) { compareBackend(t, kernels.Checked(cpu.NewWithBlockKernel(0, k)), w, f) })
	}
}

func compareBackend(t *testing.T, b kernels.Backend, w *weights.Weights, f *fixture) {
	net, err := model.New(b, w)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	var names []string
	for _, l := range f.Layers {
		names = append(names, l.Name)
	}
	pass, err := net.NewPass(f.Height, f.Width, kernels.MaxPool, names)
	if err != nil {
		t.Fatal(err)
	}
	defer pass.Free()

	in := make([]float32, 3*f.Width*f.Height) // [3, H, W]
	model.ToInput(in, f.at(f.Image), w.Preprocess())
	x, _ := b.Alloc(len(in)) // [3, H, W]
	defer b.Free(x)
	b.Write(x, in)
	pass.Forward(x)

	feats := map[string][]float32{}
	for _, l := range f.Layers {
		ft, shape, err := pass.Feature(l.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got := [3]int{shape.C, shape.H, shape.W}; got != l.Shape {
			t.Fatalf("%s has shape %v, tfjs %v", l.Name, got, l.Shape)
		}
		v := make([]float32, shape.Len()) // [C, H, W]
		if err := b.Read(v, ft); err != nil {
			t.Fatal(err)
		}
		feats[l.Name] = v

		plane := shape.H * shape.W
		chans := make([]float32, shape.C) // [C]
		var sum, sumsq, mx float64
		nonzero := 0
		for c := range shape.C {
			cs := 0.0
			for _, e := range v[c*plane : (c+1)*plane] {
				cs += float64(e)
				sumsq += float64(e) * float64(e)
				mx = max(mx, float64(e))
				if e != 0 {
					nonzero++
				}
			}
			chans[c] = float32(cs)
			sum += cs
		}
		samples := make([]float32, f.SampleCount)
		for k, i := range f.sampleIndices(l) {
			samples[k] = v[i]
		}
		refChans := f.at(l.ChannelSums)
		figures := []struct {
			what string
			rel  float64
		}{
			{"samples", relDiff(samples, f.at(l.Samples), l.Max)},
			{"max", math.Abs(mx-l.Max) / l.Max},
			{"sum", math.Abs(sum-l.Sum) / l.Sum},
			{"sum of squares", math.Abs(sumsq-l.SumSquares) / l.SumSquares},
			{"channel sums", relDiff(chans, refChans, maxAbs(refChans))},
		}
		line := fmt.Sprintf("%s %v:", l.Name, l.Shape)
		for _, fg := range figures {
			line += fmt.Sprintf(" %s %.1e", fg.what, fg.rel)
			if !(fg.rel < tolerance) {
				t.Errorf("%s %s: relative difference %.3g to tfjs, want < %g", l.Name, fg.what, fg.rel, tolerance)
			}
		}
		// ReLU decisions may flip where a pre-activation is within rounding
		// of zero; there should be almost no such places.
		line += fmt.Sprintf(", non-zero %d (tfjs %d)", nonzero, l.Nonzero)
		if d := nonzero - l.Nonzero; d*d*1000*1000 > shape.Len()*shape.Len() {
			t.Errorf("%s has %d non-zero values, tfjs %d: more than 0.1%% differ", l.Name, nonzero, l.Nonzero)
		}
		t.Log(line)
	}

	dx, _ := b.Alloc(len(in)) // [3, H, W]
	defer b.Free(dx)
	got := make([]float32, len(in)) // [3, H, W]
	for _, g := range f.Gradients {
		// dL/dF = 2·w·F for each term w·Σ F².
		grads := map[string]kernels.Tensor{}
		for _, term := range g.Terms {
			v := feats[term.Layer]
			if v == nil {
				t.Fatalf("gradient %s names layer %s, which the fixture has no features for", g.Name, term.Layer)
			}
			d := make([]float32, len(v)) // shape of the layer
			for i, e := range v {
				d[i] = 2 * term.Weight * e
			}
			dt, _ := b.Alloc(len(d))
			defer b.Free(dt)
			b.Write(dt, d)
			grads[term.Layer] = dt
		}
		if err := pass.Backward(dx, grads); err != nil {
			t.Fatal(err)
		}
		if err := b.Read(got, dx); err != nil {
			t.Fatal(err)
		}
		ref := f.at(g.span)
		rel := relDiff(got, ref, g.MaxAbs)
		t.Logf("gradient %s: max |dL/dx| %.4g, max rel diff %.1e", g.Name, g.MaxAbs, rel)
		if !(rel < tolerance) {
			t.Errorf("gradient %s: relative difference %.3g to tfjs, want < %g", g.Name, rel, tolerance)
		}
	}
}
