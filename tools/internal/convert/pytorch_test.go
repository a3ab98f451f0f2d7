package convert

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/convert/pthfixture"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pthfixture.Cleanup()
	os.Exit(code)
}

// fixtures returns the folder of pthfixture's checkpoints and the expected
// OIHW values.
func fixtures(t *testing.T) (string, map[string][]float64) {
	t.Helper()
	fixtureDir := pthfixture.Dir(t)
	js, err := os.ReadFile(filepath.Join(fixtureDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]float64
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatal(err)
	}
	return fixtureDir, want
}

func TestConvertPyTorchFixtures(t *testing.T) {
	dir, want := fixtures(t)
	for _, name := range []string{"zip.pth", "legacy.pth", "legacy_v1.pth", "tar.pth"} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			var log bytes.Buffer
			res, err := Convert(filepath.Join(dir, name), out, Options{Preprocess: "caffe", Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			wantMissing := []string{"conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4",
				"conv4_1", "conv4_2", "conv4_3", "conv4_4", "conv5_1", "conv5_2", "conv5_3", "conv5_4"}
			if !slices.Equal(res.Missing, wantMissing) {
				t.Errorf("Missing = %v", res.Missing)
			}
			if !strings.Contains(log.String(), "convert: missing layers: conv2_1, conv2_2, conv3_1") {
				t.Errorf("log does not list the missing layers:\n%s", log.String())
			}
			w, err := weights.Load(filepath.Join(out, weights.ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Layers(); !slices.Equal(got, []string{"conv1_1", "conv1_2"}) {
				t.Errorf("Layers() = %v", got)
			}
			if w.Preprocess() != weights.Caffe {
				t.Errorf("Preprocess() = %+v", w.Preprocess())
			}
			for tensor, vals := range want {
				got, _, ok := w.Tensor(tensor)
				if !ok {
					t.Fatalf("%s missing", tensor)
				}
				if len(got) != len(vals) {
					t.Fatalf("%s has %d values, want %d", tensor, len(got), len(vals))
				}
				for i, v := range vals {
					if got[i] != float32(v) {
						t.Fatalf("%s[%d] = %g, want %g", tensor, i, got[i], float32(v))
					}
				}
			}
		})
	}
}

func TestConvertPyTorchF16(t *testing.T) {
	dir, want := fixtures(t)
	out := t.TempDir()
	if _, err := Convert(filepath.Join(dir, "zip.pth"), out, Options{Preprocess: "torchvision", Encoding: weights.Float16}); err != nil {
		t.Fatal(err)
	}
	w, err := weights.Load(filepath.Join(out, weights.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if w.Preprocess() != weights.Torchvision {
		t.Errorf("Preprocess() = %+v", w.Preprocess())
	}
	for _, ti := range w.Manifest.Tensors {
		if ti.DType != "float16" {
			t.Errorf("%s stored as %s", ti.Name, ti.DType)
		}
	}
	for tensor, vals := range want {
		got, _, _ := w.Tensor(tensor)
		for i, v := range vals {
			// Half precision: 11 significant bits, so a relative error of at
			// most 2^-11, or 2^-25 absolute below the normal range.
			if d := math.Abs(float64(got[i]) - v); d > math.Abs(v)*0x1p-11+0x1p-25 {
				t.Fatalf("%s[%d] = %g, want %g within half precision", tensor, i, got[i], v)
			}
		}
	}
}

func TestPyTorchPreprocessFromName(t *testing.T) {
	dir, _ := fixtures(t)
	zipped, err := os.ReadFile(filepath.Join(dir, "zip.pth"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]weights.Preprocess{CaffeVGG19: weights.Caffe, TorchvisionVGG19: weights.Torchvision} {
		src := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(src, zipped, 0o644); err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		if _, err := Convert(src, out, Options{}); err != nil {
			t.Fatal(err)
		}
		w, err := weights.Load(filepath.Join(out, weights.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		if w.Preprocess() != want {
			t.Errorf("%s: Preprocess() = %+v, want %+v", name, w.Preprocess(), want)
		}
		if !strings.Contains(w.Manifest.Source, name) || w.Manifest.License == "" {
			t.Errorf("%s: source %q, licence %q", name, w.Manifest.Source, w.Manifest.License)
		}
	}
	_, err = Convert(filepath.Join(dir, "zip.pth"), t.TempDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot tell which input preprocessing zip.pth expects: pass -preprocess caffe") {
		t.Errorf("unknown file: error = %v", err)
	}
	_, err = Convert(filepath.Join(dir, "zip.pth"), t.TempDir(), Options{Preprocess: "imagenet"})
	if err == nil || !strings.Contains(err.Error(), `unknown preprocessing "imagenet"`) {
		t.Errorf("bad -preprocess: error = %v", err)
	}
}

func TestPyTorchRejects(t *testing.T) {
	dir, _ := fixtures(t)
	tmp := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	tw.WriteHeader(&tar.Header{Name: "storages", Mode: 0o644, Size: 4})
	tw.Write([]byte("abcd"))
	tw.Close()
	tarred, _ := os.ReadFile(filepath.Join(dir, "tar.pth"))
	zipped, _ := os.ReadFile(filepath.Join(dir, "zip.pth"))
	legacy, _ := os.ReadFile(filepath.Join(dir, "legacy.pth"))

	cases := []struct{ name, path, expect string }{
		{"tar without members", write("old.pth", tarBuf.Bytes()), `tar checkpoint lacks its "tensors" member`},
		{"truncated tar", write("ttar.pth", tarred[:len(tarred)/2]), "convert: "},
		{"legacy short by 8 bytes", write("tlegacy3.pth", legacy[:len(legacy)-8]), "ends early (truncated download?)"},
		{"garbage", write("garbage.pth", []byte("hello, world")), "is not a PyTorch checkpoint"},
		{"empty", write("empty.pth", nil), "is not a PyTorch checkpoint"},
		{"truncated zip", write("tzip.pth", zipped[:len(zipped)/2]), "is a damaged zip archive (truncated download?)"},
		{"truncated legacy", write("tlegacy.pth", legacy[:len(legacy)-1000]), "ends early (truncated download?)"},
		{"truncated legacy pickle", write("tlegacy2.pth", legacy[:100]), "ends early (truncated download?)"},
		{"missing", filepath.Join(tmp, "nope.pth"), "no such file"},
	}
	for _, c := range cases {
		_, err := Convert(c.path, t.TempDir(), Options{Preprocess: "caffe"})
		if err == nil || !strings.Contains(err.Error(), c.expect) {
			t.Errorf("%s: error = %v, want it to contain %q", c.name, err, c.expect)
		}
	}
}

func TestFeatureIndex(t *testing.T) {
	// torchvision's vgg19().features: conv indices of each block.
	want := map[int]string{0: "conv1_1", 2: "conv1_2", 5: "conv2_1", 7: "conv2_2",
		10: "conv3_1", 12: "conv3_2", 14: "conv3_3", 16: "conv3_4",
		19: "conv4_1", 21: "conv4_2", 23: "conv4_3", 25: "conv4_4",
		28: "conv5_1", 30: "conv5_2", 32: "conv5_3", 34: "conv5_4"}
	if len(featureIndex) != len(want) {
		t.Fatalf("featureIndex has %d entries", len(featureIndex))
	}
	for i, name := range want {
		if featureIndex[i].Name != name {
			t.Errorf("features.%d = %s, want %s", i, featureIndex[i].Name, name)
		}
	}
}
