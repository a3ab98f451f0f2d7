// Command serve is crema's development server (`make run`) and static-site
// writer (`make dist`).
//
// Serving, it builds the worker (GOOS=js GOARCH=wasm go build ./wasm) into
// web/wasm/crema.wasm, serves web/ on http://localhost:8080 (PORT or -addr
// override), rebuilds the wasm on request whenever a Go source has changed
// since the last build (so a reload always runs the current code; a failed
// build is answered with the compiler's output, which the page shows),
// serves Go's own wasm_exec.js, ./weights/ at /weights/, with the right MIME
// types and no caching of the wasm. The page is cross-origin isolated
// (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy:
// require-corp), so that the CPU backend's helper workers share memory
// (SharedArrayBuffer) with the worker; -isolate=false serves it as a plain
// static host would, where they get transferred copies instead. With -fetch (`make run`) it first
// downloads and converts the weights when ./weights/ has none, as `make
// weights` does; when that fails it serves anyway, and the page shows the
// same explanation as the terminal. It does what hajimehoshi/wasmserve does,
// written here because the module proxy refuses that module.
//
// With -dist DIR it writes a self-contained static folder instead (`make
// dist`): the page, samples, worker, wasm_exec.js, the wasm (stripped;
// crema.wasm plus crema.wasm.gz, which the worker prefers and inflates with
// DecompressionStream), the weight packs -packs names (when ./weights/ has
// them; the first is the page's default), a .gz beside every compressible
// file, js/build.js (the build's version, label and packs) and the service
// worker sw.js, which keeps the app for offline use under a cache named
// after the build's version, a hash of its files. Every path is relative,
// so any static host serves it, from its root or a sub-path.
//
// The service worker is registered only by a dist build (js/build.js says
// so); the dev server serves the tree's sw.js, a no-op that removes what a
// dist on the same origin left, so `make run` always serves the current
// code.
//
//	go run ./tools/serve                 # http://localhost:8080
//	PORT=9000 go run ./tools/serve
//	go run ./tools/serve -addr 127.0.0.1:0 -weights /tmp/w   # prints the URL
//	go run ./tools/serve -dist dist [-packs f16,q8] [-label v1.2]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	addr := flag.String("addr", "localhost:"+port, "address to listen on (host:port; port 0 picks a free one)")
	web := flag.String("web", "web", "the page's folder")
	weightsDir := flag.String("weights", "weights", "folder served at /weights/ (vgg19.json + vgg19.bin)")
	dist := flag.String("dist", "", "write a static site into this folder and exit, instead of serving")
	fetch := flag.Bool("fetch", false, "first download and convert the weights into -weights when they are absent (make run)")
	packs := flag.String("packs", "f16,q8", "with -dist: the weight packs to ship (f16, q8), the page's default first")
	label := flag.String("label", "dist", "with -dist: the build's label, shown in the page's footer")
	isolate := flag.Bool("isolate", true, "serve the page cross-origin isolated (COOP and COEP headers), so that its helper workers share memory")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("serve: ")

	root, err := moduleRoot()
	if err != nil {
		log.Fatal(err)
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	b := &builder{root: root, pkg: "./wasm", out: filepath.Join(abs(*web), "wasm", "crema.wasm")}
	if *dist != "" {
		opt := distOptions{Label: *label}
		for _, p := range strings.FieldsFunc(*packs, func(r rune) bool { return r == ',' || r == ' ' }) {
			opt.Packs = append(opt.Packs, p)
		}
		if err := writeDist(abs(*dist), abs(*web), abs(*weightsDir), b, opt); err != nil {
			log.Fatal(err)
		}
		return
	}
	missing := ""
	if *fetch {
		if missing = fetchWeights(abs(*weightsDir), nil, nil, os.Stderr); missing != "" {
			log.Print(missing)
		}
	}
	if err := serve(*addr, abs(*web), abs(*weightsDir), missing, b, *isolate); err != nil {
		log.Fatal(err)
	}
}

// moduleRoot is the folder holding go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("serve: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("serve: no go.mod above the working directory; run from the crema repository")
		}
		dir = parent
	}
}
