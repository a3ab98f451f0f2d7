package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crema-app/crema/model/weights"
)

var (
	fixtureOnce sync.Once
	fixtureBody []byte
	fixtureErr  error
)

// fixture writes the converter's tiny zip-format PyTorch checkpoint
// (conv1_1, conv1_2) with tools/internal/convert/testdata/make_pth.py, once.
func fixture(t *testing.T) []byte {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: it writes the PyTorch fixture (standard library only); install python3 to run this test")
	}
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crema-getweights-")
		if err != nil {
			fixtureErr = err
			return
		}
		defer os.RemoveAll(dir)
		if out, err := exec.Command(py, "../internal/convert/testdata/make_pth.py", dir).CombinedOutput(); err != nil {
			fixtureErr = fmt.Errorf("make_pth.py: %v\n%s", err, out)
			return
		}
		fixtureBody, fixtureErr = os.ReadFile(filepath.Join(dir, "zip.pth"))
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureBody
}

// server serves body at every path and counts requests.
func server(t *testing.T, body []byte) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.Contains(r.URL.Path, "missing") {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestDownloadAndConvert(t *testing.T) {
	body := fixture(t)
	sum := sha256.Sum256(body)
	full := hex.EncodeToString(sum[:])
	srv, hits := server(t, body)
	dir := t.TempDir()

	// Served under the canonical name, so the preprocessing follows from it;
	// the fixture's full digest replaces the canonical file's prefix.
	args := []string{"-o", dir, "-url", srv.URL + "/models/vgg19-d01eb7cb.pth", "-sha256", full}
	var log bytes.Buffer
	if err := run(args, &log, srv.Client()); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{"getweights: downloading " + srv.URL, "MB", "SHA-256 verified", "convert: wrote"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, log.String())
		}
	}
	w, err := weights.Load(filepath.Join(dir, weights.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Layers(); !slices.Equal(got, []string{"conv1_1", "conv1_2"}) {
		t.Errorf("Layers() = %v", got)
	}
	if w.Preprocess() != weights.Caffe {
		t.Errorf("Preprocess() = %+v, want Caffe for vgg19-d01eb7cb.pth", w.Preprocess())
	}
	if _, err := os.Stat(filepath.Join(dir, "vgg19-d01eb7cb.pth.part")); !os.IsNotExist(err) {
		t.Errorf(".part file left behind: %v", err)
	}

	// Re-running finds the verified file and does not download again.
	log.Reset()
	if err := run(args, &log, srv.Client()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 || !strings.Contains(log.String(), "is already present and verified") {
		t.Errorf("second run: %d requests, output:\n%s", hits.Load(), log.String())
	}

	// A damaged local copy is fetched again.
	if err := os.WriteFile(filepath.Join(dir, "vgg19-d01eb7cb.pth"), body[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if err := run(args, &log, srv.Client()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 || !strings.Contains(log.String(), "is present but fails its check") {
		t.Errorf("damaged copy: %d requests, output:\n%s", hits.Load(), log.String())
	}
}

// The prefix in the file name is the check when no -sha256 is given.
func TestDownloadChecksNamePrefix(t *testing.T) {
	body := fixture(t)
	sum := sha256.Sum256(body)
	prefix := hex.EncodeToString(sum[:4])
	srv, _ := server(t, body)

	dir := t.TempDir()
	var log bytes.Buffer
	err := run([]string{"-o", dir, "-preprocess", "caffe", "-url", srv.URL + "/vgg19-" + prefix + ".pth"}, &log, srv.Client())
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if _, err := weights.Load(filepath.Join(dir, weights.ManifestFile)); err != nil {
		t.Fatal(err)
	}

	wrong := "00000000"
	if prefix == wrong {
		wrong = "11111111"
	}
	dir = t.TempDir()
	err = run([]string{"-o", dir, "-preprocess", "caffe", "-url", srv.URL + "/vgg19-" + wrong + ".pth"}, &log, srv.Client())
	if err == nil || !strings.Contains(err.Error(), "SHA-256 mismatch: the file's is "+hex.EncodeToString(sum[:])+", want SHA-256 prefix "+wrong) ||
		!strings.Contains(err.Error(), "so it was not kept") {
		t.Errorf("wrong prefix: error = %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("a failed download left %d files (want none: no .part, nothing promoted)", len(entries))
	}
}

func TestDownloadRejects(t *testing.T) {
	body := fixture(t)
	srv, _ := server(t, body)
	dir := t.TempDir()
	var log bytes.Buffer

	err := run([]string{"-o", dir, "-url", srv.URL + "/vgg19-d01eb7cb.pth", "-sha256", strings.Repeat("ab", 32)}, &log, srv.Client())
	if err == nil || !strings.Contains(err.Error(), "want SHA-256 "+strings.Repeat("ab", 32)) {
		t.Errorf("wrong full digest: error = %v", err)
	}
	for _, name := range []string{"vgg19-d01eb7cb.pth", "vgg19-d01eb7cb.pth.part", weights.ManifestFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed download", name)
		}
	}

	err = run([]string{"-o", dir, "-url", srv.URL + "/missing/vgg19-d01eb7cb.pth"}, &log, srv.Client())
	if err == nil || !strings.Contains(err.Error(), "HTTP 404 Not Found") {
		t.Errorf("404: error = %v", err)
	}
	err = run([]string{"-o", dir, "-url", srv.URL + "/vgg19.pth"}, &log, srv.Client())
	if err == nil || !strings.Contains(err.Error(), "vgg19.pth carries no SHA-256 prefix in its name") {
		t.Errorf("no prefix: error = %v", err)
	}
	err = run([]string{"-o", dir, "-sha256", "xyz"}, &log, srv.Client())
	if err == nil || !strings.Contains(err.Error(), `-sha256 "xyz" is not 64 hex digits`) {
		t.Errorf("bad -sha256: error = %v", err)
	}
}

func TestCanonicalURLs(t *testing.T) {
	for _, u := range canonicalURLs {
		name, err := fileName(u)
		if err != nil || name != "vgg19-d01eb7cb.pth" {
			t.Errorf("%s: name %q, %v", u, name, err)
		}
		c, err := newChecksum(name, "")
		if err != nil || c.hexPrefix != "d01eb7cb" {
			t.Errorf("%s: checksum %+v, %v", u, c, err)
		}
	}
}
