package weights

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// ManifestFile and BinaryFile are the names Write gives the two files; the
// CLI and the page look for DIR/vgg19.json by default.
const (
	ManifestFile = "vgg19.json"
	BinaryFile   = "vgg19.bin"
)

// Load reads and validates the manifest at manifestPath and the binary it
// names, which must lie in the same directory.
func Load(manifestPath string) (*Weights, error) {
	js, err := os.ReadFile(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	m, err := decodeManifest(js)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", manifestPath, err)
	}
	if err := checkBinaryName(m.Binary); err != nil {
		return nil, fmt.Errorf("weights: %s: %w", manifestPath, err)
	}
	binPath := filepath.Join(filepath.Dir(manifestPath), m.Binary)
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return nil, fmt.Errorf("weights: %s names binary %q: %w", manifestPath, m.Binary, err)
	}
	w, err := build(m, bin)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", manifestPath, err)
	}
	return w, nil
}

// Parse validates a manifest and its binary already in memory (the page
// fetches both). The returned Weights may share memory with bin: do not
// modify bin afterwards.
func Parse(manifestJSON, bin []byte) (*Weights, error) {
	m, err := decodeManifest(manifestJSON)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if err := checkBinaryName(m.Binary); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	w, err := build(m, bin)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	return w, nil
}

// Layers lists the convolutions this file holds, in network order.
func (w *Weights) Layers() []string {
	var layers []string
	for _, c := range VGG19 {
		if w.Has(c.Name) {
			layers = append(layers, c.Name)
		}
	}
	return layers
}

// Has reports whether the file holds the convolution called layer.
func (w *Weights) Has(layer string) bool {
	_, ok := w.tensors[layer+".weight"]
	return ok
}

// Conv returns the weight [Cout, Cin, 3, 3] and bias [Cout] of the
// convolution called layer, or an error naming it when the file lacks it.
func (w *Weights) Conv(layer string) (weight, bias []float32, err error) {
	if _, ok := Conv(layer); !ok {
		return nil, nil, fmt.Errorf("weights: %q is not a VGG-19 convolution (conv1_1 … conv5_4)", layer)
	}
	if !w.Has(layer) {
		return nil, nil, fmt.Errorf("weights: layer %s is not in this weights file (it holds %s)", layer, strings.Join(w.Layers(), ", "))
	}
	return w.tensors[layer+".weight"].data, w.tensors[layer+".bias"].data, nil
}

// Info is the manifest's source and licence text.
func (w *Weights) Info() (source, license string) { return w.Manifest.Source, w.Manifest.License }

// Preprocess is the input preprocessing the weights expect.
func (w *Weights) Preprocess() Preprocess { return w.Manifest.Preprocess }

func decodeManifest(js []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(js, &m); err != nil {
		return Manifest{}, fmt.Errorf("bad JSON in manifest: %w", err)
	}
	if m.Format != FormatName {
		return Manifest{}, fmt.Errorf("format is %q, want %q (not a crema weights manifest)", m.Format, FormatName)
	}
	if m.Version < MinVersion || m.Version > Version {
		return Manifest{}, fmt.Errorf("unsupported manifest version %d (this crema reads versions %d to %d)", m.Version, MinVersion, Version)
	}
	return m, nil
}

// checkBinaryName accepts only a plain file name, so a manifest cannot point
// outside its own directory.
func checkBinaryName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("binary file name %q is not a plain file name", name)
	}
	return nil
}

// dtypeSize is the byte size of one element of each supported dtype.
func dtypeSize(dtype string) (int64, bool) {
	switch dtype {
	case "float32":
		return 4, true
	case "float16":
		return 2, true
	case "int8":
		return 1, true
	}
	return 0, false
}

func checkPreprocess(p Preprocess) error {
	if p.ChannelOrder != "RGB" && p.ChannelOrder != "BGR" {
		return fmt.Errorf("preprocess: channel_order is %q, want \"RGB\" or \"BGR\"", p.ChannelOrder)
	}
	if !finite(p.Scale) || p.Scale <= 0 {
		return fmt.Errorf("preprocess: scale is %g, want a positive number", p.Scale)
	}
	for c := range 3 {
		if !finite(p.Mean[c]) {
			return fmt.Errorf("preprocess: mean[%d] is %g", c, p.Mean[c])
		}
		if !finite(p.Std[c]) || p.Std[c] == 0 {
			return fmt.Errorf("preprocess: std[%d] is %g, want a finite non-zero number", c, p.Std[c])
		}
	}
	return nil
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// build validates m against bin and decodes every tensor.
func build(m Manifest, bin []byte) (*Weights, error) {
	if err := checkManifest(m); err != nil {
		return nil, err
	}
	if int64(len(bin)) != m.Size {
		return nil, fmt.Errorf("binary %s is %d bytes but the manifest says %d: truncated or not the file the manifest describes", m.Binary, len(bin), m.Size)
	}
	if got := sha256.Sum256(bin); hex.EncodeToString(got[:]) != strings.ToLower(m.SHA256) {
		return nil, wholeMismatch(m, got[:])
	}
	w := newWeights(m)
	for _, t := range m.Tensors {
		if err := w.add(t, bin[t.Offset:t.Offset+t.Length]); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func newWeights(m Manifest) *Weights {
	return &Weights{Manifest: m, tensors: make(map[string]tensor, len(m.Tensors))}
}

// wholeMismatch is the error of a binary whose SHA-256 is not the
// manifest's.
func wholeMismatch(m Manifest, got []byte) error {
	return fmt.Errorf("binary %s has SHA-256 %x but the manifest says %s: the file is corrupted or does not belong to this manifest", m.Binary, got, m.SHA256)
}

// add checks the bytes b of tensor t against its own SHA-256 (when the
// manifest has one), decodes them and keeps the tensor.
func (w *Weights) add(t TensorInfo, b []byte) error {
	if t.SHA256 != "" {
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != strings.ToLower(t.SHA256) {
			return fmt.Errorf("tensor %s (bytes %d..%d) has SHA-256 %x but the manifest says %s: the file is corrupted or does not belong to this manifest",
				t.Name, t.Offset, t.Offset+t.Length, got, t.SHA256)
		}
	}
	data, err := decode(b, t)
	if err != nil {
		return fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	w.tensors[t.Name] = tensor{data: data, shape: slices.Clone(t.Shape)}
	return nil
}

// checkManifest checks everything about m that needs no binary: the model,
// the preprocessing, the SHA-256's form, and the tensor table (each entry
// on its own, then duplicates, weight and bias pairs and overlaps).
func checkManifest(m Manifest) error {
	if m.Model != "vgg19" {
		return fmt.Errorf("model is %q, want \"vgg19\"", m.Model)
	}
	if err := checkPreprocess(m.Preprocess); err != nil {
		return err
	}
	if !isSHA256(m.SHA256) {
		return fmt.Errorf("manifest sha256 %q is not 64 hex digits", m.SHA256)
	}
	if len(m.Tensors) == 0 {
		return errors.New("manifest lists no tensors")
	}

	seen := make(map[string]bool, len(m.Tensors))
	for _, t := range m.Tensors {
		if err := checkTensor(t, m.Size, m.Version); err != nil {
			return err
		}
		if seen[t.Name] {
			return fmt.Errorf("tensor %s is listed twice", t.Name)
		}
		seen[t.Name] = true
	}
	for _, c := range VGG19 {
		hasW, hasB := seen[c.Name+".weight"], seen[c.Name+".bias"]
		if hasW && !hasB {
			return fmt.Errorf("tensor %s.weight has no %s.bias", c.Name, c.Name)
		}
		if hasB && !hasW {
			return fmt.Errorf("tensor %s.bias has no %s.weight", c.Name, c.Name)
		}
	}
	byOffset := slices.Clone(m.Tensors)
	slices.SortFunc(byOffset, func(a, b TensorInfo) int {
		if a.Offset != b.Offset {
			return int(min(max(a.Offset-b.Offset, -1), 1))
		}
		return strings.Compare(a.Name, b.Name)
	})
	for i := 1; i < len(byOffset); i++ {
		a, b := byOffset[i-1], byOffset[i]
		if a.Offset+a.Length > b.Offset {
			return fmt.Errorf("tensors %s (bytes %d..%d) and %s (bytes %d..%d) overlap", a.Name, a.Offset, a.Offset+a.Length, b.Name, b.Offset, b.Offset+b.Length)
		}
	}
	return nil
}

// isSHA256 reports whether s is 64 hex digits.
func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// checkTensor checks one manifest entry on its own: a VGG-19 name, the shape
// VGG-19 gives that name, a dtype its version knows (int8 for weights only),
// a length that fits the shape, a byte range inside the binary and, from
// version 2 on, its own SHA-256.
func checkTensor(t TensorInfo, size int64, version int) error {
	want, ok := TensorShape(t.Name)
	if !ok {
		return fmt.Errorf("unknown tensor %q (want conv1_1.weight … conv5_4.bias)", t.Name)
	}
	if !slices.Equal(t.Shape, want) {
		return fmt.Errorf("tensor %s has shape %v, VGG-19 needs %v", t.Name, t.Shape, want)
	}
	es, ok := dtypeSize(t.DType)
	if !ok {
		return fmt.Errorf("tensor %s has unknown dtype %q (want float32, float16 or int8)", t.Name, t.DType)
	}
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	need := n * es
	if t.DType == "int8" {
		if version < 2 {
			return fmt.Errorf("tensor %s has dtype int8, which needs manifest version 2 (this one is version %d)", t.Name, version)
		}
		if len(t.Shape) != 4 {
			return fmt.Errorf("tensor %s has dtype int8, but only weights may be 8-bit (biases stay float32 or float16)", t.Name)
		}
		need += 4 * int64(t.Shape[0]) // the scales
		if t.Length != need {
			return fmt.Errorf("tensor %s is %d bytes, but %d float32 scales and %d int8 values of shape %v take %d", t.Name, t.Length, t.Shape[0], n, t.Shape, need)
		}
	} else if t.Length != need {
		return fmt.Errorf("tensor %s is %d bytes, but %d %s values of shape %v take %d", t.Name, t.Length, n, t.DType, t.Shape, need)
	}
	if t.Offset < 0 || t.Offset > size || t.Length > size-t.Offset {
		return fmt.Errorf("tensor %s (bytes %d..%d) lies outside the %d-byte binary", t.Name, t.Offset, t.Offset+t.Length, size)
	}
	switch {
	case version >= 2 && t.SHA256 == "":
		return fmt.Errorf("tensor %s has no sha256 (version %d manifests give every tensor its own)", t.Name, version)
	case t.SHA256 != "" && !isSHA256(t.SHA256):
		return fmt.Errorf("tensor %s: sha256 %q is not 64 hex digits", t.Name, t.SHA256)
	}
	return nil
}

// nativeLittle reports whether float32 values can be read in place.
var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// decode turns the little-endian bytes of tensor t into float32 values,
// rejecting NaN and Inf (and, for int8, bad scales and -128). Aligned
// float32 data on a little-endian machine is used in place.
func decode(b []byte, t TensorInfo) ([]float32, error) {
	var out []float32
	switch t.DType {
	case "float32":
		n := len(b) / 4
		if n > 0 && nativeLittle && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
			out = unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
		} else {
			out = make([]float32, n)
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
	case "float16":
		out = make([]float32, len(b)/2)
		table := float16Table()
		for i := range out {
			out[i] = table[binary.LittleEndian.Uint16(b[2*i:])]
		}
	case "int8":
		var err error
		if out, err = decodeInt8(b, t.Shape[0]); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown dtype %q", t.DType)
	}
	for i, v := range out {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return nil, fmt.Errorf("element %d is %g: weights must be finite", i, v)
		}
	}
	return out, nil
}

// float16Table maps every half-precision bit pattern to its float32 value:
// decoding through it is several times faster than Float16Frombits (the
// page decodes 13 million values in WebAssembly).
var float16Table = sync.OnceValue(func() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for h := range t {
		t[h] = Float16Frombits(uint16(h))
	}
	return t
})
