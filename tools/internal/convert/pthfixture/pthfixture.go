// Package pthfixture writes the tiny PyTorch checkpoints the converter's,
// the downloader's and the dev server's tests read: conv1_1 and conv1_2 of
// VGG-19 with random values, plus classifier tensors, in torch's zip,
// legacy and tar formats (zip.pth, legacy.pth, legacy_v1.pth, tar.pth) and
// the expected OIHW values (expected.json). They are written by
// ../testdata/make_pth.py with Python's standard library alone, once per
// test binary, so no binary fixture is committed.
package pthfixture

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string
	err  error
)

// Dir returns the folder holding the fixtures. It fails the test when
// python3 is missing: these tests never skip.
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(self), "..", "testdata", "make_pth.py")
		py, lerr := exec.LookPath("python3")
		if lerr != nil {
			err = fmt.Errorf("pthfixture: python3 is needed to write the PyTorch fixtures (standard library only): %w", lerr)
			return
		}
		if dir, err = os.MkdirTemp("", "crema-pth-"); err != nil {
			return
		}
		if out, rerr := exec.Command(py, script, dir).CombinedOutput(); rerr != nil {
			err = fmt.Errorf("pthfixture: make_pth.py: %v\n%s", rerr, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Zip returns the bytes of the zip-format checkpoint.
func Zip(t testing.TB) []byte {
	t.Helper()
	b, rerr := os.ReadFile(filepath.Join(Dir(t), "zip.pth"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	return b
}

// Cleanup removes the fixtures; call it from TestMain after m.Run.
func Cleanup() {
	if dir != "" {
		os.RemoveAll(dir)
	}
}
