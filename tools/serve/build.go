package main

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// builder builds the worker's wasm and knows when it is stale: a
// fingerprint of every Go source's path, size and modification time (so
// edits, new files and deletions all count) differs from that of the last
// build.
type builder struct {
	root  string // module root
	pkg   string // the worker's package, ./wasm
	out   string // where the wasm goes
	flags []string

	mu      sync.Mutex
	built   uint64 // fingerprint of the sources at the last build
	lastErr error  // the last build's failure, with the compiler's output
}

// skipDirs are never part of the wasm's sources.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "dist": true, "web": true, "weights": true, "tmp": true, "testdata": true}

// fingerprint hashes the path, size and mtime of every file the build reads.
func (b *builder) fingerprint() (uint64, error) {
	h := fnv.New64a()
	err := filepath.WalkDir(b.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != b.root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, ".wgsl") && name != "go.mod" && name != "go.sum" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("serve: scanning sources: %w", err)
	}
	return h.Sum64(), nil
}

// ensure rebuilds the wasm if a source changed since the last build and
// returns the last build's error (so a broken tree keeps reporting it).
func (b *builder) ensure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	fp, err := b.fingerprint()
	if err != nil {
		return err
	}
	if fp == b.built {
		return b.lastErr
	}
	b.built = fp
	b.lastErr = b.build(b.out)
	return b.lastErr
}

// build runs GOOS=js GOARCH=wasm go build pkg into a new file beside out,
// then renames it to out. go build -o replaces its output in place (it
// removes the file, then writes the new one, when the link comes from the
// build cache), so that a browser fetching the wasm from another server on
// the same tree — the page tests run several at once — could read half a
// file; a rename swaps the whole file at once.
func (b *builder) build(out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(out), ".build-*.wasm")
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // gone after the rename; left by a failed build
	if err := b.goBuild(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// goBuild runs GOOS=js GOARCH=wasm go build -o out pkg.
func (b *builder) goBuild(out string) error {
	args := append([]string{"build", "-o", out}, b.flags...)
	args = append(args, b.pkg)
	cmd := exec.Command(goCmd(), args...)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("serve: GOOS=js GOARCH=wasm go build %s failed (%v):\n%s", b.pkg, err, output.String())
	}
	return nil
}

// goCmd is $GO (the Makefile passes its own), else go on PATH.
func goCmd() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// wasmExecJS returns the installed Go's wasm_exec.js, which must match the
// compiler that built the wasm.
func wasmExecJS() ([]byte, error) {
	out, err := exec.Command(goCmd(), "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("serve: go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(out))
	for _, p := range []string{filepath.Join(root, "lib", "wasm", "wasm_exec.js"), filepath.Join(root, "misc", "wasm", "wasm_exec.js")} {
		if data, err := os.ReadFile(p); err == nil {
			return data, nil
		}
	}
	return nil, fmt.Errorf("serve: no wasm_exec.js under %s/lib/wasm or %s/misc/wasm", root, root)
}
