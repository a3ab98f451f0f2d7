package weights

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Named is one tensor to write: "conv1_1.weight" [64, 3, 3, 3] (OIHW) or
// "conv1_1.bias" [64], its values in row-major order.
type Named struct {
	Name  string
	Shape []int
	Data  []float32
}

// align is the byte alignment of every tensor in the binary, so a reader can
// view float32 data in place (a JavaScript Float32Array needs 4).
const align = 16

// Write writes DIR/vgg19.json and DIR/vgg19.bin holding tensors, as float16
// when f16 is set and float32 otherwise. It fills m's format, version,
// binary name, size, SHA-256 and tensor table (and model, when empty); the
// caller gives the source, licence and preprocessing. The result is
// validated as Load would before anything is written, and each file is
// written to a temporary name and renamed, so a failed write never leaves a
// half-written file in place of a good one.
func Write(dir string, m Manifest, tensors []Named, f16 bool) error {
	m.Format, m.Version, m.Binary = FormatName, Version, BinaryFile
	if m.Model == "" {
		m.Model = "vgg19"
	}
	dtype, es := "float32", 4
	if f16 {
		dtype, es = "float16", 2
	}

	sorted := slices.Clone(tensors)
	slices.SortStableFunc(sorted, func(a, b Named) int { return tensorRank(a.Name) - tensorRank(b.Name) })
	m.Tensors = nil
	var bin []byte
	for _, t := range sorted {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("weights: tensor %s has %d values but shape %v needs %d", t.Name, len(t.Data), t.Shape, n)
		}
		for len(bin)%align != 0 {
			bin = append(bin, 0)
		}
		off := len(bin)
		for i, v := range t.Data {
			if f16 {
				h := Float16Bits(v)
				if h&0x7c00 == 0x7c00 && finite(v) {
					return fmt.Errorf("weights: tensor %s element %d is %g, too large for float16", t.Name, i, v)
				}
				bin = binary.LittleEndian.AppendUint16(bin, h)
			} else {
				bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(v))
			}
		}
		m.Tensors = append(m.Tensors, TensorInfo{
			Name: t.Name, Shape: slices.Clone(t.Shape), DType: dtype,
			Offset: int64(off), Length: int64(n * es),
		})
	}
	sum := sha256.Sum256(bin)
	m.SHA256 = hex.EncodeToString(sum[:])
	m.Size = int64(len(bin))

	if _, err := build(m, bin); err != nil {
		return fmt.Errorf("weights: refusing to write an invalid file: %w", err)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	js = append(js, '\n')

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	// The binary goes first: until the manifest is renamed into place a
	// reader sees the old manifest, whose SHA-256 then fails loudly.
	if err := writeAtomic(filepath.Join(dir, BinaryFile), bin); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, ManifestFile), js)
}

// tensorRank orders tensors as VGG-19 does, each weight before its bias;
// unknown names go last.
func tensorRank(name string) int {
	for i, c := range VGG19 {
		switch name {
		case c.Name + ".weight":
			return 2 * i
		case c.Name + ".bias":
			return 2*i + 1
		}
	}
	return 2 * len(VGG19)
}

// writeAtomic writes data to a temporary file beside path, syncs it and
// renames it over path.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("weights: writing %s: %w", path, err)
	}
	return nil
}
