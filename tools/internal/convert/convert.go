// Package convert turns published VGG-19 weights into crema's weight format
// (package model/weights): TensorFlow.js layers models (model.json plus
// weight shards, Keras layer names, HWIO kernels) and PyTorch checkpoints
// (torchvision's and the Caffe-converted VGG-19 of neural-style ports, in
// torch's zip, legacy and tar formats). tools/convert and tools/getweights
// are its command-line front ends.
package convert

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/crema-app/crema/model/weights"
)

// Options steer a conversion.
type Options struct {
	Encoding   weights.Encoding // how to store the values: float32 (the zero value), float16, int8
	Preprocess string           // "caffe", "torchvision", or "" to infer from the source
	UpTo       string           // keep the convolutions up to and including this one ("" keeps all)
	Source     string           // overrides the source text written into the manifest
	License    string           // overrides the licence text written into the manifest
	Log        io.Writer        // notes on missing layers and ignored tensors; nil discards
}

// Result is what a reader found in a source.
type Result struct {
	Tensors    []weights.Named     // "<layer>.weight" [Cout, Cin, 3, 3] OIHW and "<layer>.bias" [Cout]
	Missing    []string            // VGG-19 convolutions the source lacks, in network order
	Preprocess *weights.Preprocess // the source's own preprocessing, nil when it cannot tell
	Source     string
	License    string
}

// Layers lists the convolutions the result holds, in network order.
func (r Result) Layers() []string {
	var out []string
	for _, c := range weights.VGG19 {
		for _, t := range r.Tensors {
			if t.Name == c.Name+".weight" {
				out = append(out, c.Name)
			}
		}
	}
	return out
}

// Convert reads src (a TensorFlow.js model.json or the directory holding it,
// a PyTorch checkpoint, or crema's own vgg19.json) and writes
// outDir/vgg19.json and outDir/vgg19.bin.
func Convert(src, outDir string, opt Options) (Result, error) {
	log := opt.Log
	if log == nil {
		log = io.Discard
	}
	res, err := Read(src, log)
	if err != nil {
		return Result{}, err
	}
	return Write(res, src, outDir, opt)
}

// Write writes what a reader (or Synthetic) returned into outDir/vgg19.json
// and outDir/vgg19.bin with opt's choices; src names the source in errors.
func Write(res Result, src, outDir string, opt Options) (Result, error) {
	log := opt.Log
	if log == nil {
		log = io.Discard
	}
	res, err := upTo(res, opt.UpTo)
	if err != nil {
		return Result{}, err
	}
	pre, err := choosePreprocess(opt.Preprocess, res.Preprocess, src)
	if err != nil {
		return Result{}, err
	}
	m := weights.Manifest{Source: res.Source, License: res.License, Preprocess: pre}
	if opt.Source != "" {
		m.Source = opt.Source
	}
	if opt.License != "" {
		m.License = opt.License
	}
	if err := weights.WriteAs(outDir, m, res.Tensors, opt.Encoding); err != nil {
		return Result{}, fmt.Errorf("convert: %w", err)
	}
	size := int64(0)
	if st, err := os.Stat(filepath.Join(outDir, weights.BinaryFile)); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(log, "convert: wrote %s (%d layers, %s, %.1f MB, %s preprocessing)\n",
		filepath.Join(outDir, weights.ManifestFile), len(res.Layers()), opt.Encoding, float64(size)/1e6, pre.ChannelOrder)
	return res, nil
}

// Read reads the VGG-19 convolutions of src, choosing the reader by what src
// is: crema's own manifest, a directory or another .json file (a
// TensorFlow.js layers model), anything else a PyTorch checkpoint.
func Read(src string, log io.Writer) (Result, error) {
	if log == nil {
		log = io.Discard
	}
	st, err := os.Stat(src)
	if err != nil {
		return Result{}, fmt.Errorf("convert: %w", err)
	}
	if st.IsDir() {
		return ReadTFJS(filepath.Join(src, "model.json"), log)
	}
	if strings.HasSuffix(strings.ToLower(src), ".json") {
		if isCremaManifest(src) {
			return ReadCrema(src)
		}
		return ReadTFJS(src, log)
	}
	return ReadPyTorch(src, log)
}

// PreprocessNamed returns the preprocessing called name: "caffe" (BGR,
// 0–255, minus the ImageNet mean) or "torchvision" (RGB, 0–1, mean and std).
func PreprocessNamed(name string) (weights.Preprocess, error) {
	switch name {
	case "caffe":
		return weights.Caffe, nil
	case "torchvision":
		return weights.Torchvision, nil
	}
	return weights.Preprocess{}, fmt.Errorf("convert: unknown preprocessing %q (want caffe or torchvision)", name)
}

func choosePreprocess(flag string, fromSource *weights.Preprocess, src string) (weights.Preprocess, error) {
	if flag != "" {
		return PreprocessNamed(flag)
	}
	if fromSource != nil {
		return *fromSource, nil
	}
	return weights.Preprocess{}, fmt.Errorf("convert: cannot tell which input preprocessing %s expects: pass -preprocess caffe (BGR, 0-255, mean subtracted: Caffe/Keras weights) or -preprocess torchvision (RGB, 0-1, mean/std)", filepath.Base(src))
}

// collect orders the tensors read from src (name → values) as VGG-19's
// convolutions, each weight followed by its bias, and lists the layers that
// are absent. part names the weight in the error for a layer that has only
// one of the two ("weight", or "kernel" for Keras).
func collect(got map[string][]float32, src, part string) (tensors []weights.Named, absent []string, err error) {
	for _, c := range weights.VGG19 {
		w, hasW := got[c.Name+".weight"]
		b, hasB := got[c.Name+".bias"]
		switch {
		case hasW && hasB:
			tensors = append(tensors,
				weights.Named{Name: c.Name + ".weight", Shape: c.WeightShape(), Data: w},
				weights.Named{Name: c.Name + ".bias", Shape: c.BiasShape(), Data: b})
		case hasW || hasB:
			return nil, nil, fmt.Errorf("convert: %s holds only one of %s's %s and bias", src, c.Name, part)
		default:
			absent = append(absent, c.Name)
		}
	}
	return tensors, absent, nil
}

// ccBy is the licence line of the original VGG-19 weights.
const ccBy = "VGG-19 weights by Karen Simonyan and Andrew Zisserman (Visual Geometry Group, University of Oxford), " +
	"\"Very Deep Convolutional Networks for Large-Scale Image Recognition\", ICLR 2015; " +
	"released under the Creative Commons Attribution 4.0 International licence (CC BY 4.0, https://creativecommons.org/licenses/by/4.0/)."
