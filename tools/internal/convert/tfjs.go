package convert

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/crema-app/crema/model/weights"
)

// tfjsModel is the part of a TensorFlow.js layers model.json the converter
// reads.
type tfjsModel struct {
	ModelTopology struct {
		KerasVersion string `json:"keras_version"`
	} `json:"modelTopology"`
	WeightsManifest []tfjsGroup `json:"weightsManifest"`
}

// tfjsGroup is one weight group: its shards, concatenated in order, hold
// its weights back to back.
type tfjsGroup struct {
	Paths   []string     `json:"paths"`
	Weights []tfjsWeight `json:"weights"`
}

type tfjsWeight struct {
	Name         string            `json:"name"`
	Shape        []int             `json:"shape"`
	DType        string            `json:"dtype"`
	Quantization *tfjsQuantization `json:"quantization"`
}

// tfjsQuantization describes weights stored as uint8/uint16 (value =
// q·scale + min) or float16.
type tfjsQuantization struct {
	DType string  `json:"dtype"`
	Scale float32 `json:"scale"`
	Min   float32 `json:"min"`
}

// kerasConv matches Keras' VGG19 weight names ("block2_conv1/kernel",
// possibly scoped "vgg19/block2_conv1/kernel:0").
var kerasConv = regexp.MustCompile(`(?:^|/)block([1-5])_conv([1-4])/(kernel|bias)(?::0)?$`)

// kerasName maps a Keras weight name to crema's ("conv2_1.weight"), or ""
// when the weight is not one of VGG-19's convolutions.
func kerasName(name string) string {
	m := kerasConv.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	layer := "conv" + m[1] + "_" + m[2]
	if _, ok := weights.Conv(layer); !ok {
		return ""
	}
	if m[3] == "kernel" {
		return layer + ".weight"
	}
	return layer + ".bias"
}

// elemSize is the stored byte size of one element of w.
func (w tfjsWeight) elemSize() (int, error) {
	if q := w.Quantization; q != nil {
		switch q.DType {
		case "uint8":
			return 1, nil
		case "uint16", "float16":
			return 2, nil
		}
		return 0, fmt.Errorf("weight %s: unknown quantization dtype %q", w.Name, q.DType)
	}
	switch w.DType {
	case "float32", "int32":
		return 4, nil
	case "bool":
		return 1, nil
	}
	return 0, fmt.Errorf("weight %s: unknown dtype %q", w.Name, w.DType)
}

func (w tfjsWeight) count() int {
	n := 1
	for _, d := range w.Shape {
		n *= d
	}
	return n
}

// values decodes w's float values from b.
func (w tfjsWeight) values(b []byte) ([]float32, error) {
	out := make([]float32, w.count())
	if q := w.Quantization; q != nil {
		for i := range out {
			switch q.DType {
			case "uint8":
				out[i] = float32(b[i])*q.Scale + q.Min
			case "uint16":
				out[i] = float32(binary.LittleEndian.Uint16(b[2*i:]))*q.Scale + q.Min
			case "float16":
				out[i] = weights.Float16Frombits(binary.LittleEndian.Uint16(b[2*i:]))
			}
		}
		return out, nil
	}
	if w.DType != "float32" {
		return nil, fmt.Errorf("weight %s has dtype %s, want float32", w.Name, w.DType)
	}
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// ReadTFJS reads the VGG-19 convolutions of a TensorFlow.js layers model
// (Keras' VGG19: "blockB_convI/kernel" [3, 3, Cin, Cout] HWIO and its bias).
// Weight groups whose shard files are absent are skipped and listed on log;
// the result's Missing names the convolutions they held. Groups without
// convolutions (the classifier) are not read.
func ReadTFJS(modelJSON string, log io.Writer) (Result, error) {
	js, err := os.ReadFile(modelJSON)
	if err != nil {
		return Result{}, fmt.Errorf("convert: %w", err)
	}
	var model tfjsModel
	if err := json.Unmarshal(js, &model); err != nil {
		return Result{}, fmt.Errorf("convert: %s: bad JSON: %w", modelJSON, err)
	}
	if len(model.WeightsManifest) == 0 {
		return Result{}, fmt.Errorf("convert: %s has no weightsManifest: not a TensorFlow.js layers model", modelJSON)
	}
	dir := filepath.Dir(modelJSON)
	got := map[string][]float32{} // crema name → OIHW values
	type absentGroup struct {
		layers []string
		files  []string
	}
	var absent []absentGroup

	for gi, g := range model.WeightsManifest {
		var convs []string
		for _, w := range g.Weights {
			if name := kerasName(w.Name); name != "" {
				if layer, kind, _ := strings.Cut(name, "."); kind == "weight" {
					convs = append(convs, layer)
				}
			}
		}
		if !slices.ContainsFunc(g.Weights, func(w tfjsWeight) bool { return kerasName(w.Name) != "" }) {
			continue // classifier: not needed
		}
		var notFound []string
		for _, p := range g.Paths {
			if _, err := os.Stat(shardPath(dir, p)); errors.Is(err, fs.ErrNotExist) {
				notFound = append(notFound, p)
			}
		}
		if len(notFound) > 0 {
			absent = append(absent, absentGroup{layers: convs, files: notFound})
			continue
		}
		data, err := readShards(dir, g.Paths)
		if err != nil {
			return Result{}, err
		}
		off := 0
		for _, w := range g.Weights {
			es, err := w.elemSize()
			if err != nil {
				return Result{}, fmt.Errorf("convert: %s group %d: %w", modelJSON, gi+1, err)
			}
			n := w.count() * es
			if off+n > len(data) {
				return Result{}, fmt.Errorf("convert: %s group %d: shards %s hold %d bytes, too few for weight %s %v at byte %d: truncated shard?",
					modelJSON, gi+1, strings.Join(g.Paths, ", "), len(data), w.Name, w.Shape, off)
			}
			b := data[off : off+n]
			off += n
			name := kerasName(w.Name)
			if name == "" {
				fmt.Fprintf(log, "convert: ignoring %s %v (not a VGG-19 convolution)\n", w.Name, w.Shape)
				continue
			}
			if _, dup := got[name]; dup {
				return Result{}, fmt.Errorf("convert: %s: %s (%s) appears twice", modelJSON, w.Name, name)
			}
			vals, err := w.values(b)
			if err != nil {
				return Result{}, fmt.Errorf("convert: %s: %w", modelJSON, err)
			}
			if vals, err = fromKeras(name, w.Shape, vals); err != nil {
				return Result{}, fmt.Errorf("convert: %s: %s: %w", modelJSON, w.Name, err)
			}
			got[name] = vals
		}
		if off != len(data) {
			return Result{}, fmt.Errorf("convert: %s group %d: shards %s hold %d bytes but its weights take %d",
				modelJSON, gi+1, strings.Join(g.Paths, ", "), len(data), off)
		}
	}

	res := Result{
		Preprocess: &weights.Caffe, // Keras' VGG19 uses "caffe" preprocessing
		Source: fmt.Sprintf("TensorFlow.js layers model %s (Keras %s VGG19, ImageNet), converted by crema tools/convert",
			filepath.Base(dir)+"/"+filepath.Base(modelJSON), model.ModelTopology.KerasVersion),
		License: ccBy + licenceFiles(dir),
	}
	if res.Tensors, res.Missing, err = collect(got, modelJSON, "kernel"); err != nil {
		return Result{}, err
	}
	if len(absent) > 0 {
		var layers []string
		for _, a := range absent {
			layers = append(layers, a.layers...)
		}
		fmt.Fprintf(log, "convert: %d weight groups are absent, skipping layers %s:\n", len(absent), strings.Join(layers, ", "))
		for _, a := range absent {
			fmt.Fprintf(log, "  %s: not found: %s\n", strings.Join(a.layers, ", "), strings.Join(a.files, ", "))
		}
	}
	if len(res.Tensors) == 0 {
		return Result{}, fmt.Errorf("convert: %s: no VGG-19 convolution weights found (layers named blockB_convI)", modelJSON)
	}
	if len(res.Missing) > 0 {
		fmt.Fprintf(log, "convert: missing layers: %s\n", strings.Join(res.Missing, ", "))
	}
	return res, nil
}

// shardPath resolves a weightsManifest path against the model's directory.
func shardPath(dir, p string) string {
	return filepath.Join(dir, filepath.FromSlash(path.Clean("/"+p)))
}

func readShards(dir string, paths []string) ([]byte, error) {
	var data []byte
	for _, p := range paths {
		b, err := os.ReadFile(shardPath(dir, p))
		if err != nil {
			return nil, fmt.Errorf("convert: %w", err)
		}
		data = append(data, b...)
	}
	return data, nil
}

// fromKeras checks a Keras tensor's shape against VGG-19 and turns a kernel
// [3, 3, Cin, Cout] (HWIO) into crema's [Cout, Cin, 3, 3] (OIHW).
func fromKeras(name string, shape []int, v []float32) ([]float32, error) {
	layer, kind, _ := strings.Cut(name, ".")
	c, _ := weights.Conv(layer)
	if kind == "bias" {
		if !slices.Equal(shape, c.BiasShape()) {
			return nil, fmt.Errorf("bias shape %v, VGG-19's %s needs [%d]", shape, layer, c.Cout)
		}
		return v, nil
	}
	if want := []int{3, 3, c.Cin, c.Cout}; !slices.Equal(shape, want) {
		return nil, fmt.Errorf("kernel shape %v, VGG-19's %s needs %v (HWIO)", shape, layer, want)
	}
	out := make([]float32, len(v)) // [Cout, Cin, 3, 3]
	for h := range 3 {
		for w := range 3 {
			for i := range c.Cin {
				for o := range c.Cout {
					out[((o*c.Cin+i)*3+h)*3+w] = v[((h*3+w)*c.Cin+i)*c.Cout+o]
				}
			}
		}
	}
	return out, nil
}

// licenceFiles appends the text of LICENSE* files beside the model.
func licenceFiles(dir string) string {
	matches, _ := filepath.Glob(filepath.Join(dir, "LICENSE*"))
	var sb strings.Builder
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		fmt.Fprintf(&sb, "\n\n%s:\n%s", filepath.Base(m), strings.TrimSpace(string(b)))
	}
	return sb.String()
}
