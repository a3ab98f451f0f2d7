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
// when f16 is set and float32 otherwise: WriteAs with Float16 or Float32.
func Write(dir string, m Manifest, tensors []Named, f16 bool) error {
	enc := Float32
	if f16 {
		enc = Float16
	}
	return WriteAs(dir, m, tensors, enc)
}

// WriteAs writes DIR/vgg19.json and DIR/vgg19.bin holding tensors stored as
// enc. It fills m's format, version, binary name, size, SHA-256 and tensor
// table (and model, when empty); the caller gives the source, licence and
// preprocessing. Tensors are laid out in network order (each weight before
// its bias), each with its own SHA-256. The result is validated as Load
// would before anything is written, and each file is written to a temporary
// name and renamed, so a failed write never leaves a half-written file in
// place of a good one.
func WriteAs(dir string, m Manifest, tensors []Named, enc Encoding) error {
	m, bin, err := Encode(m, tensors, enc)
	if err != nil {
		return err
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

// Encode is WriteAs without the files: the completed manifest and the
// binary, validated as Parse would.
func Encode(m Manifest, tensors []Named, enc Encoding) (Manifest, []byte, error) {
	m.Format, m.Version, m.Binary = FormatName, Version, BinaryFile
	if m.Model == "" {
		m.Model = "vgg19"
	}
	if enc != Float32 && enc != Float16 && enc != Int8 {
		return Manifest{}, nil, fmt.Errorf("weights: unknown encoding %v", enc)
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
			return Manifest{}, nil, fmt.Errorf("weights: tensor %s has %d values but shape %v needs %d", t.Name, len(t.Data), t.Shape, n)
		}
		for len(bin)%align != 0 {
			bin = append(bin, 0)
		}
		off := len(bin)
		dtype := "float32"
		switch {
		case enc == Int8 && len(t.Shape) == 4:
			dtype = "int8"
			for i, v := range t.Data {
				if !finite(v) {
					return Manifest{}, nil, fmt.Errorf("weights: refusing to write an invalid file: tensor %s: element %d is %g: weights must be finite", t.Name, i, v)
				}
			}
			scales, q := Quantize8(t.Data, t.Shape[0])
			for _, s := range scales {
				bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(s))
			}
			for _, v := range q {
				bin = append(bin, byte(v))
			}
		case enc == Float16:
			dtype = "float16"
			for i, v := range t.Data {
				h := Float16Bits(v)
				if h&0x7c00 == 0x7c00 && finite(v) {
					return Manifest{}, nil, fmt.Errorf("weights: tensor %s element %d is %g, too large for float16", t.Name, i, v)
				}
				bin = binary.LittleEndian.AppendUint16(bin, h)
			}
		default:
			for _, v := range t.Data {
				bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(v))
			}
		}
		sum := sha256.Sum256(bin[off:])
		m.Tensors = append(m.Tensors, TensorInfo{
			Name: t.Name, Shape: slices.Clone(t.Shape), DType: dtype,
			Offset: int64(off), Length: int64(len(bin) - off), SHA256: hex.EncodeToString(sum[:]),
		})
	}
	sum := sha256.Sum256(bin)
	m.SHA256 = hex.EncodeToString(sum[:])
	m.Size = int64(len(bin))

	if _, err := build(m, bin); err != nil {
		return Manifest{}, nil, fmt.Errorf("weights: refusing to write an invalid file: %w", err)
	}
	return m, bin, nil
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
