// Command convert turns published VGG-19 weights into crema's weight format:
//
//	go run ./tools/convert -o DIR [-f16 | -q8] [-upto LAYER] [-preprocess caffe|torchvision] SOURCE
//	go run ./tools/convert -o DIR -synthetic [-f16 | -q8] [-upto LAYER]
//
// SOURCE is a TensorFlow.js layers model (its model.json, or the directory
// holding it), a PyTorch checkpoint (torchvision's vgg19-dcbb9e9d.pth, the
// Caffe-converted vgg19-d01eb7cb.pth, or another VGG-19 state dict), or
// crema's own vgg19.json (to make a smaller pack: -upto, -f16, -q8). It
// writes DIR/vgg19.json and DIR/vgg19.bin: float32 unless -f16 (IEEE half,
// half the size) or -q8 (8-bit weights with a float32 scale per output
// channel, a quarter of the size; biases stay float32) says otherwise. Layers the source lacks are listed; the
// file then holds the others. -synthetic writes random weights of VGG-19's
// shapes instead (for tests where no real weights are at hand; the manifest
// says so, and so does the page).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/convert"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output directory for vgg19.json and vgg19.bin (required)")
	f16 := fs.Bool("f16", false, "store float16 (half the size) instead of float32")
	q8 := fs.Bool("q8", false, "store the weights as int8 with a float32 scale per output channel (a quarter of the size; biases stay float32)")
	pre := fs.String("preprocess", "", "input preprocessing: caffe or torchvision (default: from the source; required for unknown PyTorch files)")
	source := fs.String("source", "", "source text for the manifest (default: describes SOURCE)")
	license := fs.String("license", "", "licence text for the manifest (default: known for the canonical files)")
	upto := fs.String("upto", "", "keep the convolutions up to and including this one, e.g. conv5_1 (default: all)")
	synthetic := fs.Bool("synthetic", false, "write random weights of VGG-19's shapes (for tests) instead of converting a SOURCE")
	seed := fs.Uint64("seed", 1, "seed of -synthetic")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: convert -o DIR [-f16 | -q8] [-upto LAYER] [-preprocess caffe|torchvision] SOURCE\n       convert -o DIR -synthetic [-f16 | -q8] [-upto LAYER]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	enc := weights.Float32
	switch {
	case *f16 && *q8:
		return fmt.Errorf("convert: -f16 and -q8 are two encodings; choose one")
	case *f16:
		enc = weights.Float16
	case *q8:
		enc = weights.Int8
	}
	opt := convert.Options{Encoding: enc, Preprocess: *pre, Source: *source, License: *license, UpTo: *upto, Log: stderr}
	switch {
	case *out != "" && *synthetic && fs.NArg() == 0:
		_, err := convert.Write(convert.Synthetic(*seed, ""), "synthetic", *out, opt)
		return err
	case *out == "" || *synthetic || fs.NArg() != 1:
		fs.Usage()
		return fmt.Errorf("convert: need -o DIR and one SOURCE (or -synthetic and no SOURCE)")
	}
	_, err := convert.Convert(fs.Arg(0), *out, opt)
	return err
}
