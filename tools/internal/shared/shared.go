// Package shared finds the test data that lies beside the repository in
// ../shared: the real VGG-19 weights conv1_1 … conv3_4 (a TensorFlow.js
// layers model) and free sample images. The project reads them in tests
// and measurements but never ships or commits them. Tests that need them
// call Require, which skips the test with its reason when they are absent;
// `make test` lists every skipped test at its end (tools/testsum), so an
// absent folder is never a silent pass.
package shared

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is ../shared beside the repository root.
func Dir() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "..", "..", "shared")
}

// Weights is the folder of the real partial VGG-19 (its model.json).
func Weights() string { return filepath.Join(Dir(), "weights", "vgg19-keras-conv1-3") }

// Sample is the path of a sample image ("chelsea.png").
func Sample(name string) string { return filepath.Join(Dir(), "samples", name) }

// Require returns path when it exists, and otherwise skips the test,
// saying what is missing and why the test needs it.
func Require(t testing.TB, path, why string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("needs %s (%s), which is absent: %v", path, why, err)
	}
	return path
}
