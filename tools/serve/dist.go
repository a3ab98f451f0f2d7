package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crema-app/crema/model/weights"
)

// distMarker marks a folder as written by -dist, so that it may be replaced.
const distMarker = ".crema-dist"

// distOptions are make dist's choices.
type distOptions struct {
	// Packs are the weight packs to ship (weights.Packs' names); the first
	// present one is the page's default.
	Packs []string
	// Label names the build (shown in the page's footer, and the wasm's
	// ready message carries it); "" is "dist".
	Label string
}

// The service worker's template (web/sw.js) holds these two lines, which
// dist replaces with the build's version and its files' SHA-256s.
const (
	swVersionLine = `const VERSION = "dev"; // make dist writes the build's version here`
	swFilesLine   = `const FILES = {}; // make dist writes {path: {sha256: [hex, …], keep}} here`
)

// compressible are the extensions dist writes a .gz beside (gzip -9), for
// hosts that serve precompressed files (nginx gzip_static, Caddy's
// precompressed, …). crema.wasm.gz is also what the worker fetches itself.
// A weights binary gets one only where gzip saves a tenth (8-bit weights
// do, float16 ones hardly).
var compressible = map[string]bool{".html": true, ".js": true, ".mjs": true, ".css": true, ".json": true, ".wasm": true, ".md": true, ".svg": true, ".txt": true, ".bin": true}

// writeDist writes the static site into dir: web/ (without its tests and
// build leftovers), the wasm (stripped: -trimpath -ldflags=-s -w, labelled)
// and wasm_exec.js, the weight packs opt.Packs names that weightsDir holds,
// js/build.js (the version, the label and the packs), the service worker
// sw.js with the build's version (a hash of the app's files) and the
// SHA-256 of every file it keeps for offline use, and a .gz beside every
// compressible file. Every path in the site is relative, so it works from a
// sub-path (https://user.github.io/crema/).
func writeDist(dir, web, weightsDir string, b *builder, opt distOptions) error {
	if opt.Label == "" {
		opt.Label = "dist"
	}
	if strings.ContainsAny(opt.Label, " '\"\\`$") {
		return fmt.Errorf("serve: -label %q: use letters, digits, dots and dashes", opt.Label)
	}
	var packs []weights.Pack
	for _, name := range opt.Packs {
		p, ok := weights.LookupPack(name)
		if !ok {
			var names []string
			for _, p := range weights.Packs {
				names = append(names, p.Name)
			}
			return fmt.Errorf("serve: unknown weight pack %q (the packs are %s)", name, strings.Join(names, ", "))
		}
		packs = append(packs, p)
	}
	swTemplate, err := os.ReadFile(filepath.Join(web, "sw.js"))
	if err != nil {
		return fmt.Errorf("serve: the service worker's template: %w", err)
	}
	if err := clearDist(dir); err != nil {
		return err
	}
	err = filepath.WalkDir(web, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(web, path)
		if d.IsDir() {
			if rel == "test" || rel == "wasm" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "sw.js" || rel == filepath.Join("js", "build.js") {
			return nil // written below
		}
		return copyFile(filepath.Join(dir, rel), path)
	})
	if err != nil {
		return fmt.Errorf("serve: copying %s: %w", web, err)
	}
	wasm := filepath.Join(dir, "wasm", "crema.wasm")
	b.flags = []string{"-trimpath", "-ldflags=-s -w -X main.buildLabel=" + opt.Label}
	if err := b.build(wasm); err != nil {
		return err
	}
	js, err := wasmExecJS()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "wasm", "wasm_exec.js"), js, 0o644); err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	// The page loads a pack; the full float32 weights are the CLI's.
	shipped, missing := []string{}, []string(nil)
	for _, p := range packs {
		src := filepath.Join(weightsDir, p.Dir())
		if _, err := os.Stat(filepath.Join(src, weights.ManifestFile)); err != nil {
			missing = append(missing, p.Name)
			continue
		}
		for _, f := range []string{weights.ManifestFile, weights.BinaryFile} {
			if err := copyFile(filepath.Join(dir, "weights", p.Dir(), f), filepath.Join(src, f)); err != nil {
				return fmt.Errorf("serve: copying weights: %w", err)
			}
		}
		shipped = append(shipped, p.Name)
	}
	defaultPack := weights.DefaultPack.Name
	if len(shipped) > 0 {
		defaultPack = shipped[0]
	} else if len(opt.Packs) > 0 {
		defaultPack = opt.Packs[0]
	}

	// Precompressed copies, the wasm's first (the worker fetches it).
	if err := gzipFiles(dir); err != nil {
		return err
	}
	files, err := offlineFiles(dir)
	if err != nil {
		return err
	}
	version := versionOf(files, opt.Label, shipped)
	build := map[string]any{"version": version, "label": opt.Label, "pack": defaultPack, "packs": shipped, "sw": true}
	bj, _ := json.Marshal(build)
	buildJS := fmt.Appendf(nil, "// build.js: written by make dist (tools/serve -dist); the tree's copy is the dev server's.\nexport const build = %s;\n", bj)
	if err := writeWithGzip(filepath.Join(dir, "js", "build.js"), buildJS); err != nil {
		return err
	}
	files["js/build.js"] = swFile{SHA256: []string{sum(buildJS)}, Keep: true}
	sw, err := serviceWorker(swTemplate, version, files)
	if err != nil {
		return err
	}
	if err := writeWithGzip(filepath.Join(dir, "sw.js"), sw); err != nil {
		return err
	}
	// GitHub Pages: serve files as they are (no Jekyll).
	if err := os.WriteFile(filepath.Join(dir, ".nojekyll"), nil, 0o644); err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	raw, _ := os.Stat(wasm)
	gz, _ := os.Stat(wasm + ".gz")
	note := "the weight packs " + strings.Join(shipped, ", ") + " from " + weightsDir
	if len(shipped) == 0 {
		note = "no weights"
	}
	if len(missing) > 0 {
		note += fmt.Sprintf(" (%s not in %s: run `make weights` first to include them)", strings.Join(missing, ", "), weightsDir)
	}
	fmt.Printf("serve: wrote %s (version %s, label %s): wasm %.2f MB (%.2f MB gzipped), %s\n", dir, version, opt.Label,
		float64(raw.Size())/1e6, float64(gz.Size())/1e6, note)
	return nil
}

// gzipFiles writes FILE.gz beside every compressible file under dir.
func gzipFiles(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !compressible[filepath.Ext(path)] {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		gz := gzipped(data)
		if filepath.Ext(path) == ".bin" && len(gz) > len(data)*9/10 {
			return nil
		}
		return os.WriteFile(path+".gz", gz, 0o644)
	})
}

// writeWithGzip writes data to path and its gzip to path.gz.
func writeWithGzip(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := os.WriteFile(path+".gz", gzipped(data), 0o644); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// gzipped is data compressed with gzip -9, without a name or time in its
// header, so that the same input always gives the same bytes.
func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// swFile is one file of the service worker's list: the SHA-256s a
// response may have, and whether it is kept for offline use.
type swFile struct {
	SHA256 []string `json:"sha256"`
	Keep   bool     `json:"keep"`
}

// offlineFiles are the files the service worker serves: everything the
// page needs to start and run, kept for offline use, and the raw wasm
// (the worker's fallback where DecompressionStream is missing), served
// only when asked for; not the weights, which the page keeps in its own
// cache once their SHA-256 is checked. Each comes with the SHA-256s a
// response may have: the file's, and for crema.wasm.gz also the inflated
// wasm's (a host that answers .gz with Content-Encoding: gzip). "./" is
// the page itself.
func offlineFiles(dir string) (map[string]swFile, error) {
	files := map[string]swFile{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(must(filepath.Rel(dir, path)))
		if d.IsDir() {
			if rel == "weights" {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasPrefix(filepath.Base(rel), "."), rel == "sw.js",
			strings.HasSuffix(rel, ".gz") && rel != "wasm/crema.wasm.gz":
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[rel] = swFile{SHA256: []string{sum(data)}, Keep: rel != "wasm/crema.wasm"}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	gz, raw := files["wasm/crema.wasm.gz"], files["wasm/crema.wasm"]
	gz.SHA256 = append(gz.SHA256, raw.SHA256...)
	files["wasm/crema.wasm.gz"] = gz
	files["./"] = files["index.html"]
	return files, nil
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// versionOf is the build's version: the first 12 hex digits of a SHA-256
// over the offline files' names and contents, the label and the packs. Any
// change to the app (a byte of the wasm, of a script, a sample) gives a new
// version, and so a new cache in the visitors' browsers; an unchanged build
// keeps its version.
func versionOf(files map[string]swFile, label string, packs []string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%s\n", n, strings.Join(files[n].SHA256, ","))
	}
	fmt.Fprintf(h, "label\x00%s\npacks\x00%s\n", label, strings.Join(packs, ","))
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// serviceWorker fills the template's version and file list.
func serviceWorker(template []byte, version string, files map[string]swFile) ([]byte, error) {
	t := string(template)
	if strings.Count(t, swVersionLine) != 1 || strings.Count(t, swFilesLine) != 1 {
		return nil, errors.New("serve: web/sw.js lacks its two template lines (const VERSION = \"dev\"; … and const FILES = {}; …)")
	}
	fj, _ := json.MarshalIndent(files, "", "  ")
	t = strings.Replace(t, swVersionLine, fmt.Sprintf("const VERSION = %q; // written by make dist", version), 1)
	t = strings.Replace(t, swFilesLine, fmt.Sprintf("const FILES = %s; // written by make dist", fj), 1)
	return []byte(t), nil
}

// clearDist empties dir if it is a previous dist (or empty), and refuses to
// touch any other folder.
func clearDist(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return writeMarker(dir)
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, distMarker)); err != nil {
			return fmt.Errorf("serve: %s exists and was not written by -dist (no %s); remove it or choose another folder", dir, distMarker)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("serve: %w", err)
			}
		}
	}
	return writeMarker(dir)
}

func writeMarker(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, distMarker), []byte("written by go run ./tools/serve -dist\n"), 0o644)
}

func copyFile(dst, src string) error {
	if strings.HasSuffix(src, "~") {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
