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
