package convert

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crema-app/crema/tools/internal/shared"

	"github.com/crema-app/crema/model/weights"
)

// readF32 reads the little-endian float32 at element index i of file b.
func readF32(b []byte, i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
}

// The real Keras weights in ../shared: eight layers present, the rest listed
// as missing, kernels transposed from HWIO to OIHW.
func TestConvertSharedKerasWeights(t *testing.T) {
	src := shared.Require(t, shared.Weights(), "the real VGG-19 weights")
	out := t.TempDir()
	var log bytes.Buffer
	res, err := Convert(src, out, Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	wantMissing := []string{"conv4_1", "conv4_2", "conv4_3", "conv4_4", "conv5_1", "conv5_2", "conv5_3", "conv5_4"}
	if !slices.Equal(res.Missing, wantMissing) {
		t.Errorf("Missing = %v, want %v", res.Missing, wantMissing)
	}
	for _, line := range []string{
		"convert: 8 weight groups are absent, skipping layers conv4_1, conv4_2, conv4_3, conv4_4, conv5_1, conv5_2, conv5_3, conv5_4",
		"conv4_1: not found: group9-shard1of2, group9-shard2of2",
		"conv5_4: not found: group16-shard1of3, group16-shard2of3, group16-shard3of3",
	} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, log.String())
		}
	}
	if strings.Contains(log.String(), "group17") {
		t.Errorf("log mentions the classifier groups, which are not needed:\n%s", log.String())
	}

	w, err := weights.Load(filepath.Join(out, weights.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	wantLayers := []string{"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4"}
	if got := w.Layers(); !slices.Equal(got, wantLayers) {
		t.Errorf("Layers() = %v", got)
	}
	if w.Preprocess() != weights.Caffe {
		t.Errorf("Preprocess() = %+v, want Caffe", w.Preprocess())
	}
	if !strings.Contains(w.Manifest.License, "CC BY 4.0") || !strings.Contains(w.Manifest.License, "MIT License") {
		t.Errorf("licence text lacks CC BY 4.0 or the conversion's MIT licence: %q", w.Manifest.License)
	}

	// Spot-check against the raw shards: group g holds layer g's kernel
	// [kh][kw][in][out] then its bias.
	rng := rand.New(rand.NewPCG(7, 7))
	for g, layer := range wantLayers {
		raw, err := os.ReadFile(filepath.Join(src, "group"+string(rune('1'+g))+"-shard1of1"))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := weights.Conv(layer)
		kernel, bias, err := w.Conv(layer)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != 4*(9*c.Cin*c.Cout+c.Cout) {
			t.Fatalf("%s: shard is %d bytes", layer, len(raw))
		}
		for range 200 {
			o, i, kh, kw := rng.IntN(c.Cout), rng.IntN(c.Cin), rng.IntN(3), rng.IntN(3)
			hwio := kh*3*c.Cin*c.Cout + kw*c.Cin*c.Cout + i*c.Cout + o
			oihw := o*c.Cin*9 + i*9 + kh*3 + kw
			if got, want := kernel[oihw], readF32(raw, hwio); got != want {
				t.Fatalf("%s.weight[o=%d i=%d y=%d x=%d] = %g, raw HWIO value %g", layer, o, i, kh, kw, got, want)
			}
		}
		for o := range c.Cout {
			if got, want := bias[o], readF32(raw, 9*c.Cin*c.Cout+o); got != want {
				t.Fatalf("%s.bias[%d] = %g, raw %g", layer, o, got, want)
			}
		}
	}

	// -f16 keeps every value within half precision.
	out16 := t.TempDir()
	if _, err := Convert(src, out16, Options{Encoding: weights.Float16}); err != nil {
		t.Fatal(err)
	}
	w16, err := weights.Load(filepath.Join(out16, weights.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, layer := range wantLayers {
		a, _, _ := w.Conv(layer)
		b, _, _ := w16.Conv(layer)
		for i := range a {
			if d := math.Abs(float64(a[i] - b[i])); d > math.Abs(float64(a[i]))*0x1p-11+0x1p-25 {
				t.Fatalf("%s[%d]: f16 %g vs f32 %g", layer, i, b[i], a[i])
			}
		}
	}
}

// A synthetic model: a group split over two shards, a uint8-quantised bias,
// an absent classifier group, and the errors of a short shard.
func TestReadTFJSSynthetic(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	kernel := make([]float32, 3*3*3*64) // HWIO
	for i := range kernel {
		kernel[i] = float32(rng.NormFloat64())
	}
	q := make([]byte, 64) // bias, quantised: value = q·0.5 − 3
	for i := range q {
		q[i] = byte(rng.IntN(256))
	}
	var group []byte
	for _, v := range kernel {
		group = binary.LittleEndian.AppendUint32(group, math.Float32bits(v))
	}
	group = append(group, q...)
	split := 1000
	os.WriteFile(filepath.Join(dir, "g1a"), group[:split], 0o644)
	os.WriteFile(filepath.Join(dir, "g1b"), group[split:], 0o644)

	model := map[string]any{
		"modelTopology": map[string]any{"keras_version": "2.2.0"},
		"weightsManifest": []any{
			map[string]any{"paths": []string{"g1a", "g1b"}, "weights": []any{
				map[string]any{"name": "vgg19/block1_conv1/kernel:0", "shape": []int{3, 3, 3, 64}, "dtype": "float32"},
				map[string]any{"name": "vgg19/block1_conv1/bias:0", "shape": []int{64}, "dtype": "float32",
					"quantization": map[string]any{"dtype": "uint8", "scale": 0.5, "min": -3}},
			}},
			map[string]any{"paths": []string{"fc"}, "weights": []any{
				map[string]any{"name": "fc1/kernel", "shape": []int{25088, 4096}, "dtype": "float32"},
			}},
		},
	}
	js, _ := json.Marshal(model)
	modelPath := filepath.Join(dir, "model.json")
	os.WriteFile(modelPath, js, 0o644)

	var log bytes.Buffer
	res, err := ReadTFJS(modelPath, &log)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Layers(); !slices.Equal(got, []string{"conv1_1"}) {
		t.Fatalf("Layers() = %v", got)
	}
	if len(res.Missing) != 15 || res.Missing[0] != "conv1_2" {
		t.Errorf("Missing = %v", res.Missing)
	}
	w, b := res.Tensors[0], res.Tensors[1]
	for o := range 64 {
		for i := range 3 {
			for y := range 3 {
				for x := range 3 {
					if got, want := w.Data[((o*3+i)*3+y)*3+x], kernel[((y*3+x)*3+i)*64+o]; got != want {
						t.Fatalf("weight[%d,%d,%d,%d] = %g, want %g", o, i, y, x, got, want)
					}
				}
			}
		}
		if got, want := b.Data[o], float32(q[o])*0.5-3; got != want {
			t.Fatalf("bias[%d] = %g, want %g", o, got, want)
		}
	}
	if !strings.Contains(log.String(), "missing layers: conv1_2, conv2_1") {
		t.Errorf("log: %s", log.String())
	}

	// A short second shard is an error naming the group and its files.
	os.WriteFile(filepath.Join(dir, "g1b"), group[split:len(group)-10], 0o644)
	_, err = ReadTFJS(modelPath, nil)
	if err == nil || !strings.Contains(err.Error(), "group 1: shards g1a, g1b hold 6966 bytes, too few for weight vgg19/block1_conv1/bias:0 [64] at byte 6912") {
		t.Errorf("short shard: error = %v", err)
	}
	// A long one too.
	os.WriteFile(filepath.Join(dir, "g1b"), append(slices.Clone(group[split:]), 0, 0, 0, 0), 0o644)
	_, err = ReadTFJS(modelPath, nil)
	if err == nil || !strings.Contains(err.Error(), "group 1: shards g1a, g1b hold 6980 bytes but its weights take 6976") {
		t.Errorf("long shard: error = %v", err)
	}
	// A wrong shape names the layer and what VGG-19 needs.
	os.WriteFile(filepath.Join(dir, "g1b"), group[split:], 0o644)
	model["weightsManifest"].([]any)[0].(map[string]any)["weights"].([]any)[0].(map[string]any)["shape"] = []int{3, 3, 64, 3}
	js, _ = json.Marshal(model)
	os.WriteFile(modelPath, js, 0o644)
	_, err = ReadTFJS(modelPath, nil)
	if err == nil || !strings.Contains(err.Error(), "vgg19/block1_conv1/kernel:0: kernel shape [3 3 64 3], VGG-19's conv1_1 needs [3 3 3 64] (HWIO)") {
		t.Errorf("wrong shape: error = %v", err)
	}
	// Bad JSON.
	os.WriteFile(modelPath, []byte("{"), 0o644)
	if _, err = ReadTFJS(modelPath, nil); err == nil || !strings.Contains(err.Error(), "bad JSON") {
		t.Errorf("bad JSON: error = %v", err)
	}
}

func TestKerasName(t *testing.T) {
	for in, want := range map[string]string{
		"block1_conv1/kernel":         "conv1_1.weight",
		"block5_conv4/bias":           "conv5_4.bias",
		"vgg19/block3_conv2/kernel:0": "conv3_2.weight",
		"block1_conv3/kernel":         "", // VGG-19 has no conv1_3
		"fc1/kernel":                  "",
		"predictions/bias":            "",
		"xblock1_conv1/kernel":        "",
	} {
		if got := kerasName(in); got != want {
			t.Errorf("kerasName(%q) = %q, want %q", in, got, want)
		}
	}
}
