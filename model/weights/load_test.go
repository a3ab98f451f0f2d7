package weights

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// randomTensors makes weights and biases for the named layers with values
// from a fixed seed.
func randomTensors(seed uint64, layers ...string) []Named {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []Named
	for _, name := range layers {
		c, ok := Conv(name)
		if !ok {
			panic(name)
		}
		for _, shape := range [][]int{c.WeightShape(), c.BiasShape()} {
			n := 1
			for _, d := range shape {
				n *= d
			}
			data := make([]float32, n)
			for i := range data {
				data[i] = float32(rng.NormFloat64() * 0.1)
			}
			kind := ".weight"
			if len(shape) == 1 {
				kind = ".bias"
			}
			out = append(out, Named{Name: name + kind, Shape: shape, Data: data})
		}
	}
	return out
}

func testManifest() Manifest {
	return Manifest{Source: "test", License: "none", Preprocess: Caffe}
}

// written writes a small valid file (conv1_1, conv1_2) and returns its
// manifest and binary.
func written(t *testing.T) (dir string, m Manifest, bin []byte) {
	t.Helper()
	dir = t.TempDir()
	if err := Write(dir, testManifest(), randomTensors(1, "conv1_1", "conv1_2"), false); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	bin, err = os.ReadFile(filepath.Join(dir, BinaryFile))
	if err != nil {
		t.Fatal(err)
	}
	return dir, m, bin
}

func marshal(t *testing.T, m Manifest) []byte {
	t.Helper()
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// reseal makes the manifest's size and SHA-256s (the binary's and each
// tensor's) match bin again, so a test reaches the checks behind them.
func reseal(m *Manifest, bin []byte) {
	sum := sha256.Sum256(bin)
	m.SHA256 = hex.EncodeToString(sum[:])
	m.Size = int64(len(bin))
	for i, t := range m.Tensors {
		if t.Offset >= 0 && t.Offset+t.Length <= int64(len(bin)) {
			s := sha256.Sum256(bin[t.Offset : t.Offset+t.Length])
			m.Tensors[i].SHA256 = hex.EncodeToString(s[:])
		}
	}
}

func tensorIndex(m Manifest, name string) int {
	return slices.IndexFunc(m.Tensors, func(t TensorInfo) bool { return t.Name == name })
}

func TestWriteLoadRoundTrip(t *testing.T) {
	for _, f16 := range []bool{false, true} {
		dir := t.TempDir()
		in := randomTensors(2, "conv1_1", "conv1_2", "conv2_1")
		m := Manifest{Source: "unit test", License: "CC0", Preprocess: Torchvision}
		if err := Write(dir, m, in, f16); err != nil {
			t.Fatal(err)
		}
		w, err := Load(filepath.Join(dir, ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Layers(); !slices.Equal(got, []string{"conv1_1", "conv1_2", "conv2_1"}) {
			t.Errorf("f16=%v: Layers() = %v", f16, got)
		}
		if got := w.Preprocess(); got != Torchvision {
			t.Errorf("f16=%v: Preprocess() = %+v, want %+v", f16, got, Torchvision)
		}
		if w.Manifest.Source != "unit test" || w.Manifest.License != "CC0" || w.Manifest.Model != "vgg19" {
			t.Errorf("f16=%v: manifest text lost: %+v", f16, w.Manifest)
		}
		for _, nt := range in {
			data, shape, ok := w.Tensor(nt.Name)
			if !ok {
				t.Fatalf("f16=%v: tensor %s missing", f16, nt.Name)
			}
			if !slices.Equal(shape, nt.Shape) {
				t.Errorf("f16=%v: %s shape %v, want %v", f16, nt.Name, shape, nt.Shape)
			}
			for i, v := range nt.Data {
				want := v
				if f16 {
					want = Float16Frombits(Float16Bits(v))
					// Half precision: relative error at most 2^-11 for normals.
					if d := math.Abs(float64(want - v)); d > math.Abs(float64(v))*0x1p-11+0x1p-25 {
						t.Fatalf("%s[%d]: half %g too far from %g", nt.Name, i, want, v)
					}
				}
				if data[i] != want {
					t.Fatalf("f16=%v: %s[%d] = %g, want %g", f16, nt.Name, i, data[i], want)
				}
			}
		}
		for _, ti := range w.Manifest.Tensors {
			if ti.Offset%align != 0 {
				t.Errorf("%s offset %d not aligned to %d", ti.Name, ti.Offset, align)
			}
			if want := map[bool]string{false: "float32", true: "float16"}[f16]; ti.DType != want {
				t.Errorf("%s dtype %s, want %s", ti.Name, ti.DType, want)
			}
		}
		wt, b, err := w.Conv("conv2_1")
		if err != nil || len(wt) != 128*64*9 || len(b) != 128 {
			t.Errorf("Conv(conv2_1) = %d, %d values, %v", len(wt), len(b), err)
		}
		if _, _, err := w.Conv("conv4_1"); err == nil || !strings.Contains(err.Error(), "layer conv4_1 is not in this weights file (it holds conv1_1, conv1_2, conv2_1)") {
			t.Errorf("Conv(conv4_1) error = %v", err)
		}
		if _, _, err := w.Conv("fc6"); err == nil || !strings.Contains(err.Error(), `"fc6" is not a VGG-19 convolution`) {
			t.Errorf("Conv(fc6) error = %v", err)
		}
	}
}

// Parse works on an unaligned binary too (values are then copied out).
func TestParseUnalignedBinary(t *testing.T) {
	dir, m, bin := written(t)
	_ = dir
	buf := make([]byte, len(bin)+1)
	copy(buf[1:], bin)
	a, err := Parse(marshal(t, m), bin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(marshal(t, m), buf[1:])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv1_1.weight", "conv1_2.bias"} {
		x, _, _ := a.Tensor(name)
		y, _, _ := b.Tensor(name)
		if !slices.Equal(x, y) {
			t.Errorf("%s differs between aligned and unaligned binary", name)
		}
	}
}

func TestParseRejects(t *testing.T) {
	_, good, goodBin := written(t)
	w1 := tensorIndex(good, "conv1_1.weight")
	b1 := tensorIndex(good, "conv1_1.bias")
	cases := []struct {
		name   string
		edit   func(m *Manifest, bin []byte) []byte // returns the binary to use
		js     string                               // raw manifest instead of edit
		expect string
	}{
		{name: "bad JSON", js: `{"format": "crema-weights", "version": 1,`, expect: "bad JSON in manifest"},
		{name: "format", edit: func(m *Manifest, b []byte) []byte { m.Format = "onnx"; return b },
			expect: `format is "onnx", want "crema-weights"`},
		{name: "version", edit: func(m *Manifest, b []byte) []byte { m.Version = 3; return b },
			expect: "unsupported manifest version 3 (this crema reads versions 1 to 2)"},
		{name: "version 0", edit: func(m *Manifest, b []byte) []byte { m.Version = 0; return b },
			expect: "unsupported manifest version 0"},
		{name: "model", edit: func(m *Manifest, b []byte) []byte { m.Model = "vgg16"; return b },
			expect: `model is "vgg16", want "vgg19"`},
		{name: "binary name", edit: func(m *Manifest, b []byte) []byte { m.Binary = "../other.bin"; return b },
			expect: `binary file name "../other.bin" is not a plain file name`},
		{name: "truncated", edit: func(m *Manifest, b []byte) []byte { return b[:len(b)-100] },
			expect: "binary vgg19.bin is 154780 bytes but the manifest says 154880: truncated"},
		{name: "corrupted", edit: func(m *Manifest, b []byte) []byte { b[777] ^= 1; return b },
			expect: "the file is corrupted"},
		{name: "bad sha", edit: func(m *Manifest, b []byte) []byte { m.SHA256 = "abc"; return b },
			expect: `manifest sha256 "abc" is not 64 hex digits`},
		{name: "channel order", edit: func(m *Manifest, b []byte) []byte { m.Preprocess.ChannelOrder = "GBR"; return b },
			expect: `preprocess: channel_order is "GBR", want "RGB" or "BGR"`},
		{name: "zero std", edit: func(m *Manifest, b []byte) []byte { m.Preprocess.Std[1] = 0; return b },
			expect: "preprocess: std[1] is 0"},
		{name: "zero scale", edit: func(m *Manifest, b []byte) []byte { m.Preprocess.Scale = 0; return b },
			expect: "preprocess: scale is 0"},
		{name: "no tensors", edit: func(m *Manifest, b []byte) []byte { m.Tensors = nil; return b },
			expect: "manifest lists no tensors"},
		{name: "unknown name", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].Name = "fc6.bias"; return b },
			expect: `unknown tensor "fc6.bias"`},
		{name: "shape", edit: func(m *Manifest, b []byte) []byte { m.Tensors[w1].Shape = []int{64, 3, 9}; return b },
			expect: "tensor conv1_1.weight has shape [64 3 9], VGG-19 needs [64 3 3 3]"},
		{name: "dtype", edit: func(m *Manifest, b []byte) []byte { m.Tensors[w1].DType = "bfloat16"; return b },
			expect: `tensor conv1_1.weight has unknown dtype "bfloat16" (want float32, float16 or int8)`},
		{name: "int8 length", edit: func(m *Manifest, b []byte) []byte { m.Tensors[w1].DType = "int8"; return b },
			expect: "tensor conv1_1.weight is 6912 bytes, but 64 float32 scales and 1728 int8 values of shape [64 3 3 3] take 1984"},
		{name: "int8 bias", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].DType = "int8"; return b },
			expect: "tensor conv1_1.bias has dtype int8, but only weights may be 8-bit"},
		{name: "int8 in version 1", edit: func(m *Manifest, b []byte) []byte { m.Version = 1; m.Tensors[w1].DType = "int8"; return b },
			expect: "tensor conv1_1.weight has dtype int8, which needs manifest version 2 (this one is version 1)"},
		{name: "no tensor sha", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].SHA256 = ""; return b },
			expect: "tensor conv1_1.bias has no sha256 (version 2 manifests give every tensor its own)"},
		{name: "bad tensor sha", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].SHA256 = "xyz"; return b },
			expect: `tensor conv1_1.bias: sha256 "xyz" is not 64 hex digits`},
		{name: "wrong tensor sha", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].SHA256 = m.Tensors[w1].SHA256; return b },
			expect: "tensor conv1_1.bias (bytes 6912..7168) has SHA-256 "},
		{name: "length", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].Length = 128; return b },
			expect: "tensor conv1_1.bias is 128 bytes, but 64 float32 values of shape [64] take 256"},
		{name: "out of bounds", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].Offset = m.Size - 100; return b },
			expect: "tensor conv1_1.bias (bytes 154780..155036) lies outside the 154880-byte binary"},
		{name: "negative offset", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].Offset = -16; return b },
			expect: "tensor conv1_1.bias (bytes -16..240) lies outside"},
		{name: "overlap", edit: func(m *Manifest, b []byte) []byte { m.Tensors[b1].Offset = m.Tensors[w1].Offset + 64; return b },
			expect: "tensors conv1_1.weight (bytes 0..6912) and conv1_1.bias (bytes 64..320) overlap"},
		{name: "duplicate", edit: func(m *Manifest, b []byte) []byte { m.Tensors = append(m.Tensors, m.Tensors[b1]); return b },
			expect: "tensor conv1_1.bias is listed twice"},
		{name: "weight without bias", edit: func(m *Manifest, b []byte) []byte { m.Tensors = slices.Delete(m.Tensors, b1, b1+1); return b },
			expect: "tensor conv1_1.weight has no conv1_1.bias"},
		{name: "bias without weight", edit: func(m *Manifest, b []byte) []byte { m.Tensors = slices.Delete(m.Tensors, w1, w1+1); return b },
			expect: "tensor conv1_1.bias has no conv1_1.weight"},
		{name: "NaN", edit: func(m *Manifest, b []byte) []byte {
			binary.LittleEndian.PutUint32(b[m.Tensors[w1].Offset+4*5:], math.Float32bits(float32(math.NaN())))
			reseal(m, b)
			return b
		}, expect: "tensor conv1_1.weight: element 5 is NaN: weights must be finite"},
		{name: "Inf", edit: func(m *Manifest, b []byte) []byte {
			binary.LittleEndian.PutUint32(b[m.Tensors[b1].Offset+4*63:], math.Float32bits(float32(math.Inf(-1))))
			reseal(m, b)
			return b
		}, expect: "tensor conv1_1.bias: element 63 is -Inf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := good
			m.Tensors = slices.Clone(good.Tensors)
			for i := range m.Tensors {
				m.Tensors[i].Shape = slices.Clone(good.Tensors[i].Shape)
			}
			bin := slices.Clone(goodBin)
			js := []byte(c.js)
			if c.edit != nil {
				bin = c.edit(&m, bin)
				js = marshal(t, m)
			}
			_, err := Parse(js, bin)
			if err == nil {
				t.Fatalf("Parse accepted it; want an error containing %q", c.expect)
			}
			if !strings.HasPrefix(err.Error(), "weights: ") || !strings.Contains(err.Error(), c.expect) {
				t.Errorf("error %q\nwant it to contain %q", err, c.expect)
			}
		})
	}
	if _, err := Parse(marshal(t, good), goodBin); err != nil {
		t.Fatalf("the unedited file must parse: %v", err)
	}
}

// A mismatched shape is named with the layer and the shape VGG-19 needs.
func TestParseRejectsWrongVGGShape(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, testManifest(), randomTensors(3, "conv2_1"), false); err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	bin, _ := os.ReadFile(filepath.Join(dir, BinaryFile))
	var m Manifest
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	i := tensorIndex(m, "conv2_1.weight")
	m.Tensors[i].Shape = []int{64, 128, 3, 3} // same byte length, transposed
	_, err := Parse(marshal(t, m), bin)
	if err == nil || !strings.Contains(err.Error(), "tensor conv2_1.weight has shape [64 128 3 3], VGG-19 needs [128 64 3 3]") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	dir, _, bin := written(t)
	manifest := filepath.Join(dir, ManifestFile)
	binPath := filepath.Join(dir, BinaryFile)

	if err := os.WriteFile(binPath, bin[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(manifest)
	if err == nil || !strings.Contains(err.Error(), manifest+": binary vgg19.bin is 1000 bytes but the manifest says 154880: truncated") {
		t.Errorf("truncated: error = %v", err)
	}

	if err := os.Remove(binPath); err != nil {
		t.Fatal(err)
	}
	_, err = Load(manifest)
	if err == nil || !strings.Contains(err.Error(), manifest+` names binary "vgg19.bin"`) {
		t.Errorf("missing binary: error = %v", err)
	}

	_, err = Load(filepath.Join(dir, "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing manifest: error = %v", err)
	}
}

func TestWriteRefusesBadData(t *testing.T) {
	dir, good, goodBin := written(t)
	bad := randomTensors(4, "conv1_1")
	bad[0].Data[3] = float32(math.NaN())
	err := Write(dir, testManifest(), bad, false)
	if err == nil || !strings.Contains(err.Error(), "weights: refusing to write an invalid file: tensor conv1_1.weight: element 3 is NaN") {
		t.Errorf("NaN: error = %v", err)
	}
	big := randomTensors(4, "conv1_1")
	big[1].Data[7] = 1e6
	err = Write(dir, testManifest(), big, true)
	if err == nil || !strings.Contains(err.Error(), "weights: tensor conv1_1.bias element 7 is 1e+06, too large for float16") {
		t.Errorf("f16 overflow: error = %v", err)
	}
	short := randomTensors(4, "conv1_1")
	short[1].Data = short[1].Data[:10]
	err = Write(dir, testManifest(), short, false)
	if err == nil || !strings.Contains(err.Error(), "weights: tensor conv1_1.bias has 10 values but shape [64] needs 64") {
		t.Errorf("short data: error = %v", err)
	}
	noBias := randomTensors(4, "conv1_1")[:1]
	err = Write(dir, testManifest(), noBias, false)
	if err == nil || !strings.Contains(err.Error(), "has no conv1_1.bias") {
		t.Errorf("no bias: error = %v", err)
	}

	// The earlier good file is untouched and no temporary files remain.
	js, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	bin, _ := os.ReadFile(filepath.Join(dir, BinaryFile))
	if !slices.Equal(js, append(marshalIndent(t, good), '\n')) || !slices.Equal(bin, goodBin) {
		t.Error("a failed Write changed the existing files")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries after failed writes, want 2", len(entries))
	}
}

// A failure while replacing the files leaves the old manifest in place and
// no temporary file behind.
func TestWriteFailureKeepsOldManifest(t *testing.T) {
	dir, _, _ := written(t)
	before, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	// A directory where the binary goes makes the rename fail.
	binPath := filepath.Join(dir, BinaryFile)
	if err := os.Remove(binPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(binPath, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(binPath, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(dir, testManifest(), randomTensors(5, "conv1_1"), false)
	if err == nil || !strings.Contains(err.Error(), "weights: writing "+binPath) {
		t.Fatalf("error = %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if !slices.Equal(before, after) {
		t.Error("manifest changed although the binary could not be written")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func marshalIndent(t *testing.T, m Manifest) []byte {
	t.Helper()
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestTensorShape(t *testing.T) {
	if s, ok := TensorShape("conv2_1.weight"); !ok || !slices.Equal(s, []int{128, 64, 3, 3}) {
		t.Errorf("conv2_1.weight: %v %v", s, ok)
	}
	if s, ok := TensorShape("conv5_4.bias"); !ok || !slices.Equal(s, []int{512}) {
		t.Errorf("conv5_4.bias: %v %v", s, ok)
	}
	for _, bad := range []string{"conv6_1.weight", "conv1_1.gamma", "conv1_1", "fc6.weight"} {
		if _, ok := TensorShape(bad); ok {
			t.Errorf("TensorShape(%q) accepted", bad)
		}
	}
	if len(VGG19) != 16 || VGG19[0].Cin != 3 || VGG19[15].Name != "conv5_4" {
		t.Errorf("VGG19 table wrong: %v", VGG19)
	}
	for i := 1; i < len(VGG19); i++ {
		if VGG19[i].Cin != VGG19[i-1].Cout {
			t.Errorf("%s.Cin %d != %s.Cout %d", VGG19[i].Name, VGG19[i].Cin, VGG19[i-1].Name, VGG19[i-1].Cout)
		}
	}
}
