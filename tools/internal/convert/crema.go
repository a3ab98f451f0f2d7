package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/weights"
)

// isCremaManifest reports whether the JSON file at path is crema's own
// manifest (format "crema-weights") rather than a TensorFlow.js model.
func isCremaManifest(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(data, []byte(weights.FormatName)) {
		return false
	}
	var head struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(data, &head) == nil && head.Format == weights.FormatName
}

// ReadCrema reads crema's own format (a vgg19.json manifest and its binary),
// so that a pack (fewer layers, float16) can be made from converted weights
// without the original download.
func ReadCrema(manifest string) (Result, error) {
	w, err := weights.Load(manifest)
	if err != nil {
		return Result{}, fmt.Errorf("convert: %w", err)
	}
	got := map[string][]float32{}
	for _, t := range w.Manifest.Tensors {
		data, _, _ := w.Tensor(t.Name)
		got[t.Name] = data
	}
	res := Result{Source: w.Manifest.Source, License: w.Manifest.License}
	pre := w.Preprocess()
	res.Preprocess = &pre
	if res.Tensors, res.Missing, err = collect(got, manifest, "weight"); err != nil {
		return Result{}, err
	}
	return res, nil
}

// Synthetic returns random VGG-19 weights of the right shapes up to and
// including upTo ("" for all), reproducibly from seed: what tests use where
// the real weights are absent.
func Synthetic(seed uint64, upTo string) Result {
	src := model.NewSynthetic(seed, upTo)
	got := map[string][]float32{}
	for _, c := range weights.VGG19 {
		for _, part := range []string{".weight", ".bias"} {
			if data, _, ok := src.Tensor(c.Name + part); ok {
				got[c.Name+part] = data
			}
		}
	}
	source, license := src.Info()
	res := Result{Source: source, License: license, Preprocess: &weights.Caffe}
	res.Tensors, res.Missing, _ = collect(got, "synthetic", "weight")
	return res
}

// upTo keeps the convolutions of res up to and including layer (network
// order); "" keeps all. Layers past it join Missing.
func upTo(res Result, layer string) (Result, error) {
	if layer == "" {
		return res, nil
	}
	cut := -1
	for i, c := range weights.VGG19 {
		if c.Name == layer {
			cut = i
		}
	}
	if cut < 0 {
		return Result{}, fmt.Errorf("convert: -upto %q is not a VGG-19 convolution (conv1_1 … conv5_4)", layer)
	}
	keep := map[string]bool{}
	for _, c := range weights.VGG19[:cut+1] {
		keep[c.Name+".weight"], keep[c.Name+".bias"] = true, true
	}
	var tensors []weights.Named
	for _, t := range res.Tensors {
		if keep[t.Name] {
			tensors = append(tensors, t)
		}
	}
	res.Tensors = tensors
	return res, nil
}
