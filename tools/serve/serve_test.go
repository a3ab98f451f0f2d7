package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"sync/atomic"

	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/convert/pthfixture"
	"github.com/crema-app/crema/tools/internal/getweights"
)

// tinyModule writes a module whose ./wasm is a small js/wasm main.
func tinyModule(t *testing.T, body string) (root string) {
	t.Helper()
	root = t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module example.com/tiny\n\ngo 1.26\n")
	write(t, filepath.Join(root, "wasm", "main.go"), body)
	write(t, filepath.Join(root, "web", "index.html"), "<!doctype html><title>t</title>")
	write(t, filepath.Join(root, "web", "app.js"), "export {};")
	write(t, filepath.Join(root, "weights", "vgg19.json"), `{"format":"crema-weights"}`)
	return root
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

const okMain = "package main\n\nfunc main() {}\n"

func TestRebuildsWhenStaleAndReportsBuildErrors(t *testing.T) {
	root := tinyModule(t, okMain)
	b := &builder{root: root, pkg: "./wasm", out: filepath.Join(root, "web", "wasm", "crema.wasm")}
	if err := b.ensure(); err != nil {
		t.Fatalf("first build: %v", err)
	}
	info, err := os.Stat(b.out)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changed: no rebuild (the file is not rewritten).
	if err := b.ensure(); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(b.out); !again.ModTime().Equal(info.ModTime()) {
		t.Fatal("rebuilt although no source changed")
	}
	// A broken source: the compiler's message comes back, and keeps coming.
	time.Sleep(10 * time.Millisecond)
	write(t, filepath.Join(root, "wasm", "main.go"), "package main\n\nfunc main() { undefinedThing() }\n")
	for range 2 {
		err := b.ensure()
		if err == nil || !strings.Contains(err.Error(), "undefined: undefinedThing") || !strings.Contains(err.Error(), "GOOS=js GOARCH=wasm go build ./wasm failed") {
			t.Fatalf("broken build: %v", err)
		}
	}
	// The page's request gets the message with a 500.
	h := handler(filepath.Join(root, "web"), filepath.Join(root, "weights"), "", b)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/wasm/crema.wasm", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "undefinedThing") {
		t.Fatalf("wasm request on a broken tree: %d %q", rec.Code, rec.Body.String())
	}
	// Fixed (a new file counts too): it builds again.
	write(t, filepath.Join(root, "wasm", "main.go"), okMain)
	write(t, filepath.Join(root, "wasm", "extra.go"), "package main\n\nvar _ = 1\n")
	if err := b.ensure(); err != nil {
		t.Fatalf("after the fix: %v", err)
	}
}

func TestServesWithTheRightHeaders(t *testing.T) {
	root := tinyModule(t, okMain)
	b := &builder{root: root, pkg: "./wasm", out: filepath.Join(root, "web", "wasm", "crema.wasm")}
	h := handler(filepath.Join(root, "web"), filepath.Join(root, "weights"), "", b)
	cases := []struct {
		path, ctype, cache string
		code               int
		body               string
	}{
		{"/wasm/crema.wasm", "application/wasm", "no-store", 200, "\x00asm"},
		{"/wasm/crema.wasm.gz", "", "", 404, ""},
		{"/wasm/wasm_exec.js", "text/javascript; charset=utf-8", "no-cache", 200, "globalThis.Go"},
		{"/", "text/html; charset=utf-8", "no-cache", 200, "<title>t</title>"},
		{"/app.js", "text/javascript; charset=utf-8", "no-cache", 200, "export"},
		{"/weights/vgg19.json", "application/json", "no-cache", 200, "crema-weights"},
		{"/test/page.test.mjs", "", "", 404, ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != c.code {
			t.Errorf("%s: status %d, want %d (%s)", c.path, rec.Code, c.code, rec.Body.String())
			continue
		}
		if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no Access-Control-Allow-Origin (a sandboxed iframe needs it)", c.path)
		}
		if c.code != 200 {
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if got := rec.Header().Get("Cache-Control"); got != c.cache {
			t.Errorf("%s: Cache-Control %q, want %q", c.path, got, c.cache)
		}
		if !strings.Contains(rec.Body.String(), c.body) {
			t.Errorf("%s: body does not contain %q", c.path, c.body)
		}
	}
	// Without a weights folder the answer says how to get one.
	h = handler(filepath.Join(root, "web"), filepath.Join(root, "nowhere"), "", b)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/weights/vgg19.json", nil))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "make weights") {
		t.Fatalf("missing weights: %d %q", rec.Code, rec.Body.String())
	}
}

// make run's first step downloads and converts the weights from a site (here
// a local stand-in) and writes the page's pack, which the server then serves.
func TestMakeRunFetchesWeights(t *testing.T) {
	body := pthfixture.Zip(t)
	var hits atomic.Int32
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(body)
	}))
	defer site.Close()
	sum := sha256.Sum256(body)
	src := []getweights.Source{{URL: site.URL + "/vgg19-d01eb7cb.pth", SHA256: hex.EncodeToString(sum[:]), Preprocess: "caffe"}}
	dir := filepath.Join(t.TempDir(), "weights")
	var log strings.Builder
	if missing := fetchWeights(dir, src, site.Client(), &log); missing != "" {
		t.Fatalf("fetchWeights: %s\n%s", missing, log.String())
	}
	if missing := fetchWeights(dir, src, site.Client(), &log); missing != "" || hits.Load() != 1 {
		t.Fatalf("second make run: %q, %d downloads", missing, hits.Load())
	}
	root := tinyModule(t, okMain)
	b := &builder{root: root, pkg: "./wasm", out: filepath.Join(root, "web", "wasm", "crema.wasm")}
	rec := httptest.NewRecorder()
	handler(filepath.Join(root, "web"), dir, "", b).ServeHTTP(rec, httptest.NewRequest("GET", "/weights/"+weights.PackDir+"/vgg19.json", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"dtype": "float16"`) || !strings.Contains(rec.Body.String(), "conv1_2.weight") {
		t.Fatalf("pack manifest: %d %.300s", rec.Code, rec.Body.String())
	}
}

// When the download cannot be made, make run still serves, and the page's
// request for the weights is answered with the same explanation the
// terminal got.
func TestMakeRunServesWithoutWeights(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "weights")
	dead := []getweights.Source{{URL: "http://127.0.0.1:1/vgg19-d01eb7cb.pth"}}
	missing := fetchWeights(dir, dead, nil, io.Discard)
	for _, want := range []string{"crema has no network weights in " + dir, "connection refused", "run `make run` again (or `make weights`)", "go run ./tools/convert"} {
		if !strings.Contains(missing, want) {
			t.Errorf("explanation lacks %q: %s", want, missing)
		}
	}
	root := tinyModule(t, okMain)
	b := &builder{root: root, pkg: "./wasm", out: filepath.Join(root, "web", "wasm", "crema.wasm")}
	rec := httptest.NewRecorder()
	handler(filepath.Join(root, "web"), dir, missing, b).ServeHTTP(rec, httptest.NewRequest("GET", "/weights/"+weights.PackDir+"/vgg19.json", nil))
	if rec.Code != http.StatusNotFound || strings.TrimSpace(rec.Body.String()) != missing || rec.Header().Get(explainHeader) != "1" {
		t.Fatalf("page's request: %d %q", rec.Code, rec.Body.String())
	}
}

func TestDistRefusesForeignFolders(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "precious.txt"), "keep me")
	err := clearDist(dir)
	if err == nil || !strings.Contains(err.Error(), "was not written by -dist") {
		t.Fatalf("clearDist on a foreign folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Fatal("the foreign file was removed")
	}
	fresh := filepath.Join(t.TempDir(), "dist")
	if err := clearDist(fresh); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(fresh, "old.js"), "x")
	if err := clearDist(fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "old.js")); !os.IsNotExist(err) {
		t.Fatal("a previous dist's file survived")
	}
}
