package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crema-app/crema/tools/internal/shared"

	"github.com/crema-app/crema/model/weights"
)

func TestRunUsage(t *testing.T) {
	var log bytes.Buffer
	err := run([]string{"somewhere"}, &log)
	if err == nil || !strings.Contains(err.Error(), "convert: need -o DIR and one SOURCE") || !strings.Contains(log.String(), "usage: convert -o DIR") {
		t.Errorf("error = %v, output:\n%s", err, log.String())
	}
}

// The CLI converts the real Keras weights in ../shared to float16.
func TestRunSharedF16(t *testing.T) {
	src := shared.Require(t, shared.Weights(), "the real VGG-19 weights")
	out := t.TempDir()
	var log bytes.Buffer
	if err := run([]string{"-o", out, "-f16", "-source", "test source", src}, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	w, err := weights.Load(filepath.Join(out, weights.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Layers()) != 8 || w.Manifest.Source != "test source" || w.Manifest.Tensors[0].DType != "float16" {
		t.Errorf("layers %v, source %q, dtype %s", w.Layers(), w.Manifest.Source, w.Manifest.Tensors[0].DType)
	}
	if !strings.Contains(log.String(), "missing layers: conv4_1") || !strings.Contains(log.String(), "float16") {
		t.Errorf("output:\n%s", log.String())
	}
}

// -q8 writes 8-bit weights (float32 biases); the CLI keeps float32 unless
// told otherwise, and -f16 with -q8 is refused.
func TestRunEncodings(t *testing.T) {
	for _, c := range []struct {
		flags        []string
		weight, bias string
		logs         string
	}{
		{nil, "float32", "float32", "float32"},
		{[]string{"-f16"}, "float16", "float16", "float16"},
		{[]string{"-q8"}, "int8", "float32", "int8"},
	} {
		out := t.TempDir()
		var log bytes.Buffer
		if err := run(append([]string{"-o", out, "-synthetic", "-upto", "conv1_2"}, c.flags...), &log); err != nil {
			t.Fatalf("%v: %v\n%s", c.flags, err, log.String())
		}
		w, err := weights.Load(filepath.Join(out, weights.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		if ts := w.Manifest.Tensors; ts[0].DType != c.weight || ts[1].DType != c.bias || !strings.Contains(log.String(), c.logs) {
			t.Errorf("%v: dtypes %s, %s; output %s", c.flags, ts[0].DType, ts[1].DType, log.String())
		}
	}
	var log bytes.Buffer
	if err := run([]string{"-o", t.TempDir(), "-synthetic", "-f16", "-q8"}, &log); err == nil || !strings.Contains(err.Error(), "-f16 and -q8 are two encodings; choose one") {
		t.Errorf("-f16 -q8: %v", err)
	}
}
