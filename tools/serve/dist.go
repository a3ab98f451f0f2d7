package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/crema-app/crema/model/weights"
)

// distMarker marks a folder as written by -dist, so that it may be replaced.
const distMarker = ".crema-dist"

// writeDist writes the static site into dir: web/ (without its tests and
// build leftovers), the wasm stripped and compressed, wasm_exec.js, and the
// weights when weightsDir holds them.
func writeDist(dir, web, weightsDir string, b *builder) error {
	if err := clearDist(dir); err != nil {
		return err
	}
	err := filepath.WalkDir(web, func(path string, d fs.DirEntry, err error) error {
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
		return copyFile(filepath.Join(dir, rel), path)
	})
	if err != nil {
		return fmt.Errorf("serve: copying %s: %w", web, err)
	}
	wasm := filepath.Join(dir, "wasm", "crema.wasm")
	b.flags = []string{"-trimpath", "-ldflags=-s -w"}
	if err := b.build(wasm); err != nil {
		return err
	}
	data, err := os.ReadFile(wasm)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := os.WriteFile(wasm+".gz", gz.Bytes(), 0o644); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	js, err := wasmExecJS()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "wasm", "wasm_exec.js"), js, 0o644); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// The page loads the pack; the full float32 weights are the CLI's.
	weightsNote := "no weights (run `make weights` first to include the page's pack)"
	pack := filepath.Join(weightsDir, weights.PackDir)
	if _, err := os.Stat(filepath.Join(pack, weights.ManifestFile)); err == nil {
		for _, f := range []string{weights.ManifestFile, weights.BinaryFile} {
			if err := copyFile(filepath.Join(dir, "weights", weights.PackDir, f), filepath.Join(pack, f)); err != nil {
				return fmt.Errorf("serve: copying weights: %w", err)
			}
		}
		weightsNote = "the weight pack from " + pack
	}
	fmt.Printf("serve: wrote %s: wasm %.1f MB (%.1f MB gzipped), %s\n", dir,
		float64(len(data))/1e6, float64(gz.Len())/1e6, weightsNote)
	return nil
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
