package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sync/atomic"

	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/convert"
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

// TestRebuildSwapsTheWholeFile: while a second server rebuilds the wasm
// (each page test starts its own, on the same tree), every read of it gets
// a whole file, never half of one or none. The go command here is a stand-in
// that writes its output in place in two halves, 300 ms apart, as go build
// does when it copies the link from its work directory (GOTMPDIR on
// another file system) or from the build cache.
func TestRebuildSwapsTheWholeFile(t *testing.T) {
	root := tinyModule(t, okMain)
	out := filepath.Join(root, "web", "wasm", "crema.wasm")
	fake := filepath.Join(t.TempDir(), "go")
	write(t, fake, `#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
printf 'first half, ' > "$out"; sleep 0.3; printf 'second half' >> "$out"
`)
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GO", fake)
	const whole = "first half, second half"
	if err := (&builder{root: root, pkg: "./wasm", out: out}).ensure(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	bad := make(chan string, 1)
	var reads int
	go func() {
		defer close(bad)
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(out)
			reads++
			if err != nil || string(got) != whole {
				bad <- fmt.Sprintf("read %d: %q, err %v", reads, got, err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	// Another server's first request: a build of the same tree into the
	// same file.
	if err := (&builder{root: root, pkg: "./wasm", out: out}).ensure(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if msg, ok := <-bad; ok {
		t.Fatalf("a reader saw no whole wasm during a rebuild: %s", msg)
	}
	if reads < 10 {
		t.Fatalf("only %d reads during the rebuild", reads)
	}
	if left, _ := filepath.Glob(filepath.Join(root, "web", "wasm", ".build-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
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

// TestIsolatesThePage: the dev server's answers make the page cross-origin
// isolated (the helper workers' shared memory) and keep every file
// loadable cross-origin (a sandboxed iframe's worker, an embedding page).
func TestIsolatesThePage(t *testing.T) {
	root := tinyModule(t, okMain)
	b := &builder{root: root, pkg: "./wasm", out: filepath.Join(root, "web", "wasm", "crema.wasm")}
	h := isolated(handler(filepath.Join(root, "web"), filepath.Join(root, "weights"), "", b))
	want := map[string]string{"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Resource-Policy": "cross-origin"}
	for _, path := range []string{"/", "/app.js", "/wasm/crema.wasm", "/wasm/wasm_exec.js", "/weights/vgg19.json", "/weights/absent.json"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s (%d): %s %q, want %q", path, rec.Code, k, got, v)
			}
		}
	}
	rec := httptest.NewRecorder()
	handler(filepath.Join(root, "web"), filepath.Join(root, "weights"), "", b).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Get("Cross-Origin-Embedder-Policy"); got != "" {
		t.Errorf("without isolation: COEP %q, want none", got)
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
	handler(filepath.Join(root, "web"), dir, "", b).ServeHTTP(rec, httptest.NewRequest("GET", "/weights/"+weights.PackDir("f16")+"/vgg19.json", nil))
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
	handler(filepath.Join(root, "web"), dir, missing, b).ServeHTTP(rec, httptest.NewRequest("GET", "/weights/"+weights.PackDir("f16")+"/vgg19.json", nil))
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

// distSite writes a dist of a tiny module with the real service worker
// template and synthetic packs, and returns its folder.
func distSite(t *testing.T, root, weightsDir, dir string, opt distOptions) string {
	t.Helper()
	b := &builder{root: root, pkg: "./wasm", out: filepath.Join(root, "web", "wasm", "crema.wasm")}
	if err := writeDist(dir, filepath.Join(root, "web"), weightsDir, b, opt); err != nil {
		t.Fatal(err)
	}
	return dir
}

func distModule(t *testing.T) (root, weightsDir string) {
	t.Helper()
	root = tinyModule(t, okMain)
	sw, err := os.ReadFile(filepath.Join("..", "..", "web", "sw.js"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "web", "sw.js"), string(sw))
	write(t, filepath.Join(root, "web", "js", "build.js"), "export const build = {};")
	write(t, filepath.Join(root, "web", "samples", "a.jpg"), "not really a jpeg")
	weightsDir = filepath.Join(t.TempDir(), "weights")
	for _, p := range weights.Packs {
		if _, err := convert.Write(convert.Synthetic(1, "conv1_1"), "synthetic", filepath.Join(weightsDir, p.Dir()), convert.Options{Encoding: p.Encoding}); err != nil {
			t.Fatal(err)
		}
	}
	return root, weightsDir
}

var swVersion = regexp.MustCompile(`const VERSION = "([0-9a-f]{12})"; // written by make dist`)

// make dist: the service worker names the build's version, a hash of its
// files, and lists each file's SHA-256; js/build.js says the version, the
// label and the packs (the first shipped is the page's default); every
// text file has a gzip beside it; an unchanged build keeps its version and
// any change makes a new one.
func TestDistIsVersionedAndPrecompressed(t *testing.T) {
	root, weightsDir := distModule(t)
	dir := distSite(t, root, weightsDir, filepath.Join(t.TempDir(), "dist"), distOptions{Packs: []string{"q8", "f16"}, Label: "t1"})
	sw, err := os.ReadFile(filepath.Join(dir, "sw.js"))
	if err != nil {
		t.Fatal(err)
	}
	m := swVersion.FindSubmatch(sw)
	if m == nil {
		t.Fatalf("sw.js has no version:\n%.600s", sw)
	}
	version := string(m[1])
	fm := regexp.MustCompile(`(?s)const FILES = (\{.*?\n\}); // written by make dist`).FindSubmatch(sw)
	if fm == nil {
		t.Fatal("sw.js has no file list")
	}
	var files map[string]swFile
	if err := json.Unmarshal(fm[1], &files); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.html", "app.js", "js/build.js", "samples/a.jpg", "wasm/wasm_exec.js", "wasm/crema.wasm.gz"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !files[f].Keep || files[f].SHA256[0] != sum(data) {
			t.Errorf("%s: %+v, want kept with SHA-256 %s", f, files[f], sum(data))
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "wasm", "crema.wasm"))
	if gz := files["wasm/crema.wasm.gz"]; len(gz.SHA256) != 2 || gz.SHA256[1] != sum(raw) {
		t.Errorf("crema.wasm.gz accepts %v, want its own and the inflated wasm's SHA-256", gz.SHA256)
	}
	if f := files["wasm/crema.wasm"]; f.Keep || f.SHA256[0] != sum(raw) {
		t.Errorf("crema.wasm: %+v (checked when asked for, not kept)", f)
	}
	if !slices.Equal(files["./"].SHA256, files["index.html"].SHA256) {
		t.Error(`"./" is not the page`)
	}
	for f := range files {
		if strings.HasPrefix(f, "weights/") || f == "sw.js" || strings.HasSuffix(f, ".js.gz") {
			t.Errorf("the service worker lists %s", f)
		}
	}
	build, _ := os.ReadFile(filepath.Join(dir, "js", "build.js"))
	if want := `{"label":"t1","pack":"q8","packs":["q8","f16"],"sw":true,"version":"` + version + `"}`; !strings.Contains(string(build), want) {
		t.Errorf("build.js: %s\nwant %s", build, want)
	}
	for _, f := range []string{"index.html", "app.js", "sw.js", "js/build.js", "wasm/wasm_exec.js", "wasm/crema.wasm", "weights/pack-q8/vgg19.json"} {
		plain, _ := os.ReadFile(filepath.Join(dir, f))
		zr, err := gzip.NewReader(bytes.NewReader(mustRead(os.ReadFile(filepath.Join(dir, f+".gz")))))
		if err != nil {
			t.Fatalf("%s.gz: %v", f, err)
		}
		got, _ := io.ReadAll(zr)
		if !bytes.Equal(got, plain) {
			t.Errorf("%s.gz is not %s", f, f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "samples/a.jpg.gz")); err == nil {
		t.Errorf("a compressed image")
	}
	for _, f := range []string{".nojekyll", "weights/pack-f16/vgg19.bin", "weights/pack-q8/vgg19.bin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	// The same build: the same version. A changed script, another label or
	// other packs: a new one.
	again := distSite(t, root, weightsDir, filepath.Join(t.TempDir(), "dist"), distOptions{Packs: []string{"q8", "f16"}, Label: "t1"})
	if v := string(swVersion.FindSubmatch(mustRead(os.ReadFile(filepath.Join(again, "sw.js"))))[1]); v != version {
		t.Errorf("an unchanged build changed version: %s → %s", version, v)
	}
	seen := map[string]string{version: "the first build"}
	for what, opt := range map[string]distOptions{
		"another label": {Packs: []string{"q8", "f16"}, Label: "t2"},
		"other packs":   {Packs: []string{"f16"}, Label: "t1"},
	} {
		d := distSite(t, root, weightsDir, filepath.Join(t.TempDir(), "dist"), opt)
		v := string(swVersion.FindSubmatch(mustRead(os.ReadFile(filepath.Join(d, "sw.js"))))[1])
		if prev, ok := seen[v]; ok {
			t.Errorf("%s has the version of %s (%s)", what, prev, v)
		}
		seen[v] = what
	}
	write(t, filepath.Join(root, "web", "app.js"), "export const changed = 1;")
	d := distSite(t, root, weightsDir, filepath.Join(t.TempDir(), "dist"), distOptions{Packs: []string{"q8", "f16"}, Label: "t1"})
	if v := string(swVersion.FindSubmatch(mustRead(os.ReadFile(filepath.Join(d, "sw.js"))))[1]); seen[v] != "" {
		t.Errorf("a changed script kept the version of %s", seen[v])
	}
}

func TestDistRefusesBadOptions(t *testing.T) {
	root, weightsDir := distModule(t)
	b := &builder{root: root, pkg: "./wasm", out: filepath.Join(root, "web", "wasm", "crema.wasm")}
	web := filepath.Join(root, "web")
	if err := writeDist(t.TempDir(), web, weightsDir, b, distOptions{Packs: []string{"f32"}}); err == nil || !strings.Contains(err.Error(), `unknown weight pack "f32" (the packs are f16, q8)`) {
		t.Errorf("unknown pack: %v", err)
	}
	if err := writeDist(t.TempDir(), web, weightsDir, b, distOptions{Label: `v1" onload="x`}); err == nil || !strings.Contains(err.Error(), "-label") {
		t.Errorf("bad label: %v", err)
	}
	// A pack that is not there: the site is written without it, and says so.
	dir := distSite(t, root, filepath.Join(t.TempDir(), "none"), filepath.Join(t.TempDir(), "dist"), distOptions{Packs: []string{"f16"}})
	if build, _ := os.ReadFile(filepath.Join(dir, "js", "build.js")); !strings.Contains(string(build), `"pack":"f16","packs":[]`) {
		t.Errorf("build.js without packs: %s", build)
	}
	os.Remove(filepath.Join(web, "sw.js"))
	if err := writeDist(filepath.Join(t.TempDir(), "d"), web, weightsDir, b, distOptions{}); err == nil || !strings.Contains(err.Error(), "the service worker's template") {
		t.Errorf("no sw.js: %v", err)
	}
}

func mustRead(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
