package convert

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/crema-app/crema/model/weights"
)

// Known PyTorch VGG-19 files, recognised by the SHA-256 prefix in their
// names.
const (
	// CaffeVGG19 is Justin Johnson's conversion of the original Caffe
	// VGG-19 (github.com/jcjohnson/pytorch-vgg), as neural-style-pt uses.
	CaffeVGG19 = "vgg19-d01eb7cb.pth"
	// TorchvisionVGG19 is torchvision's ImageNet VGG-19.
	TorchvisionVGG19 = "vgg19-dcbb9e9d.pth"
)

// featureIndex maps torchvision's nn.Sequential indices ("features.N") to
// VGG-19's convolutions: each convolution is followed by a ReLU, each block
// by a pooling layer.
var featureIndex = func() map[int]weights.ConvSpec {
	m := map[int]weights.ConvSpec{}
	i, block := 0, "1"
	for _, c := range weights.VGG19 {
		if b := c.Name[4:5]; b != block {
			i++ // the pooling layer that ends the previous block
			block = b
		}
		m[i] = c
		i += 2 // conv, ReLU
	}
	return m
}()

var featureKey = regexp.MustCompile(`^features\.(\d+)\.(weight|bias)$`)

// ReadPyTorch reads the VGG-19 convolutions of a PyTorch checkpoint holding
// a VGG state dict ("features.0.weight" … "features.34.bias"; classifier
// tensors are ignored), as torch.save writes it: the zip format of
// torch ≥ 1.6, the legacy format of torch 0.1.10–1.5, or the tar format
// before it.
func ReadPyTorch(path string, log io.Writer) (Result, error) {
	format, err := sniffPyTorch(path)
	if err != nil {
		return Result{}, err
	}
	obj, err := loadCheckpoint(path, format)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Result{}, fmt.Errorf("convert: %s ends early (truncated download?): %w", path, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("convert: %s: %w", path, err)
	}
	entries, err := dictEntries(obj)
	if err != nil {
		return Result{}, fmt.Errorf("convert: %s: %w", path, err)
	}

	got := map[string][]float32{}
	for _, e := range entries {
		key := strings.TrimPrefix(e.key, "module.")
		if strings.HasPrefix(key, "classifier.") {
			continue
		}
		m := featureKey.FindStringSubmatch(key)
		if m == nil {
			fmt.Fprintf(log, "convert: ignoring %s (not a VGG-19 convolution)\n", e.key)
			continue
		}
		idx, _ := strconv.Atoi(m[1])
		c, ok := featureIndex[idx]
		if !ok {
			return Result{}, fmt.Errorf("convert: %s: %s is not a convolution of plain VGG-19 (features.0, 2, 5, … 34); is this VGG-19 with batch norm, or another VGG?", path, e.key)
		}
		t, ok := e.value.(*pytorch.Tensor)
		if !ok {
			return Result{}, fmt.Errorf("convert: %s: %s is a %T, not a tensor", path, e.key, e.value)
		}
		name, want := c.Name+".weight", c.WeightShape()
		if m[2] == "bias" {
			name, want = c.Name+".bias", c.BiasShape()
		}
		if !slices.Equal(t.Size, want) {
			return Result{}, fmt.Errorf("convert: %s: %s (%s) has shape %v, VGG-19 needs %v", path, e.key, name, t.Size, want)
		}
		vals, err := gather(t)
		if err != nil {
			return Result{}, fmt.Errorf("convert: %s: %s: %w", path, e.key, err)
		}
		got[name] = vals
	}

	res := Result{}
	if res.Tensors, res.Missing, err = collect(got, path, "weight"); err != nil {
		return Result{}, err
	}
	if len(res.Tensors) == 0 {
		return Result{}, fmt.Errorf("convert: %s holds no VGG-19 convolution weights (features.N.weight)", path)
	}
	if len(res.Missing) > 0 {
		fmt.Fprintf(log, "convert: missing layers: %s\n", strings.Join(res.Missing, ", "))
	}

	base := filepath.Base(path)
	switch {
	case strings.Contains(base, "d01eb7cb"):
		res.Preprocess = &weights.Caffe
		res.Source = "PyTorch checkpoint " + base + ": the original Caffe VGG-19 converted to PyTorch by Justin Johnson " +
			"(https://github.com/jcjohnson/pytorch-vgg, https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth), converted by crema tools/convert"
		res.License = ccBy
	case strings.Contains(base, "dcbb9e9d"):
		res.Preprocess = &weights.Torchvision
		res.Source = "PyTorch checkpoint " + base + ": torchvision's ImageNet VGG-19 " +
			"(https://download.pytorch.org/models/vgg19-dcbb9e9d.pth), converted by crema tools/convert"
		res.License = "torchvision's VGG-19 weights, trained by the PyTorch project on ImageNet; torchvision is " +
			"distributed under the BSD 3-Clause licence (https://github.com/pytorch/vision/blob/main/LICENSE). " +
			"Architecture: Simonyan and Zisserman, ICLR 2015."
	default:
		res.Source = "PyTorch checkpoint " + base + ", converted by crema tools/convert"
		res.License = "unknown: see where " + base + " came from"
	}
	return res, nil
}

// Checkpoint formats, as sniffPyTorch tells them apart.
const (
	formatZip    = "zip"    // torch >= 1.6
	formatLegacy = "legacy" // torch 0.1.10 - 1.5: a pickle stream
	formatTar    = "tar"    // torch < 0.1.10
)

// sniffPyTorch tells the supported formats from others by their first bytes.
func sniffPyTorch(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("convert: %w", err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		z, err := zip.OpenReader(path)
		if err != nil {
			return "", fmt.Errorf("convert: %s is a damaged zip archive (truncated download?): %v", path, err)
		}
		return formatZip, z.Close()
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return formatTar, nil
	case len(head) >= 2 && head[0] == 0x80 && head[1] <= 5:
		return formatLegacy, nil
	}
	return "", fmt.Errorf("convert: %s is not a PyTorch checkpoint (neither zip nor pickle)", path)
}

type entry struct {
	key   string
	value any
}

// dictEntries lists the string-keyed entries of a state dict, looking inside
// a {"state_dict": …} wrapper.
func dictEntries(obj any) ([]entry, error) {
	var out []entry
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			kv := e.Value.(*types.OrderedDictEntry)
			k, ok := kv.Key.(string)
			if !ok {
				return nil, fmt.Errorf("state dict key %v is not a string", kv.Key)
			}
			out = append(out, entry{k, kv.Value})
		}
	case *types.Dict:
		for _, kv := range *d {
			k, ok := kv.Key.(string)
			if !ok {
				return nil, fmt.Errorf("state dict key %v is not a string", kv.Key)
			}
			out = append(out, entry{k, kv.Value})
		}
	default:
		return nil, fmt.Errorf("holds a %T, not a state dict", obj)
	}
	for _, e := range out {
		if e.key == "state_dict" {
			return dictEntries(e.value)
		}
	}
	return out, nil
}

// gather copies a tensor's elements, in row-major order of its size, out of
// its storage, honouring offset and strides.
func gather(t *pytorch.Tensor) ([]float32, error) {
	var src []float32
	switch s := t.Source.(type) {
	case *pytorch.FloatStorage:
		src = s.Data
	case *pytorch.HalfStorage:
		src = s.Data
	case *pytorch.BFloat16Storage:
		src = s.Data
	case *pytorch.DoubleStorage:
		src = make([]float32, len(s.Data))
		for i, v := range s.Data {
			src[i] = float32(v)
		}
	default:
		return nil, fmt.Errorf("storage %T is not floating point", t.Source)
	}
	if len(t.Stride) != len(t.Size) {
		return nil, fmt.Errorf("%d strides for %d dimensions", len(t.Stride), len(t.Size))
	}
	n := 1
	for _, d := range t.Size {
		n *= d
	}
	out := make([]float32, n)
	idx := make([]int, len(t.Size))
	for k := range out {
		at := t.StorageOffset
		for d, i := range idx {
			at += i * t.Stride[d]
		}
		if at < 0 || at >= len(src) {
			return nil, fmt.Errorf("element %v lies at %d, outside its %d-element storage", idx, at, len(src))
		}
		out[k] = src[at]
		for d := len(idx) - 1; d >= 0; d-- { // next index, row-major
			idx[d]++
			if idx[d] < t.Size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}
