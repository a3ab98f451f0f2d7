package main

import (
	"errors"
	"fmt"
	"log"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// mimeTypes are set explicitly: the system's mime.types may lack some, and a
// wasm served as anything but application/wasm cannot be compiled streaming.
var mimeTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".wasm": "application/wasm",
	".gz":   "application/gzip",
	".bin":  "application/octet-stream",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".svg":  "image/svg+xml",
	".md":   "text/markdown; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

func init() {
	for ext, typ := range mimeTypes {
		mime.AddExtensionType(ext, typ)
	}
}

// serve builds the wasm once (so a broken tree is reported at once), then
// serves until killed.
// explainHeader marks a 404 whose body explains why the weights are
// missing (web/js/weights.js shows it).
const explainHeader = "X-Crema-Missing-Weights"

// missing, when set, explains why the weights are absent: it answers
// requests for weights that are not there.
func serve(addr, web, weightsDir, missing string, b *builder, isolate bool) error {
	if err := b.ensure(); err != nil {
		log.Printf("%v\n(the page will show this until the sources build)", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Printf("serve: crema on http://%s/ (weights from %s)\n", ln.Addr(), weightsDir)
	h := handler(web, weightsDir, missing, b)
	if isolate {
		h = isolated(h)
	}
	return http.Serve(ln, h)
}

// isolated makes every answer of next cross-origin isolate the page
// (crossOriginIsolated, hence SharedArrayBuffer for the helper workers):
// COOP same-origin and COEP require-corp. CORP cross-origin keeps the
// files loadable where the page's origin is opaque (a sandboxed iframe,
// whose worker fetches them cross-origin) and by an embedding page.
func isolated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Embedder-Policy", "require-corp")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		next.ServeHTTP(w, r)
	})
}

// handler routes: the wasm (rebuilt when stale), Go's wasm_exec.js, the
// weights folder and the page. A weights file that is not there is a 404
// whose plain-text body the page shows: missing (why `make run` could not
// get the weights) or how to get them.
func handler(web, weightsDir, missing string, b *builder) http.Handler {
	page := http.FileServer(http.Dir(web))
	weightsFS := http.StripPrefix("/weights/", http.FileServer(http.Dir(weightsDir)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// A page in a sandboxed iframe has an opaque origin ("null"): its
		// fetches of the wasm and the weights are cross-origin.
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cache-Control", "no-cache")
		switch p := r.URL.Path; {
		case p == "/wasm/crema.wasm":
			h.Set("Cache-Control", "no-store")
			if err := b.ensure(); err != nil {
				h.Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintln(w, err)
				return
			}
			h.Set("Content-Type", "application/wasm")
			http.ServeFile(w, r, b.out)
		case p == "/wasm/crema.wasm.gz":
			// The dev server serves the wasm uncompressed; the worker falls
			// back to crema.wasm on this 404.
			http.NotFound(w, r)
		case p == "/wasm/wasm_exec.js":
			js, err := wasmExecJS()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write(js)
		case strings.HasPrefix(p, "/weights/"):
			if _, err := os.Stat(filepath.Join(weightsDir, filepath.FromSlash(strings.TrimPrefix(p, "/weights/")))); errors.Is(err, os.ErrNotExist) {
				why := missing
				if why == "" {
					why = noWeights(weightsDir, fmt.Errorf("%s is not there", p))
				}
				// The page shows this text; the header tells it from any
				// other 404 (exposed for the opaque origin of a sandbox).
				h.Set(explainHeader, "1")
				h.Set("Access-Control-Expose-Headers", explainHeader)
				http.Error(w, why, http.StatusNotFound)
				return
			}
			weightsFS.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/test/"):
			http.NotFound(w, r) // the browser tests are not part of the site
		default:
			if t, ok := mimeTypes[filepath.Ext(p)]; ok {
				h.Set("Content-Type", t)
			}
			page.ServeHTTP(w, r)
		}
	})
}
