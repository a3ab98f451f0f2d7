// Command convert turns published VGG-19 weights into crema's weight format:
//
//	go run ./tools/convert -o DIR [-f16] [-preprocess caffe|torchvision] SOURCE
//
// SOURCE is a TensorFlow.js layers model (its model.json, or the directory
// holding it) or a PyTorch checkpoint (torchvision's vgg19-dcbb9e9d.pth, the
// Caffe-converted vgg19-d01eb7cb.pth, or another VGG-19 state dict). It
// writes DIR/vgg19.json and DIR/vgg19.bin. Layers the source lacks are
// listed; the file then holds the others.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

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
	pre := fs.String("preprocess", "", "input preprocessing: caffe or torchvision (default: from the source; required for unknown PyTorch files)")
	source := fs.String("source", "", "source text for the manifest (default: describes SOURCE)")
	license := fs.String("license", "", "licence text for the manifest (default: known for the canonical files)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: convert -o DIR [-f16] [-preprocess caffe|torchvision] SOURCE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("convert: need -o DIR and one SOURCE")
	}
	_, err := convert.Convert(fs.Arg(0), *out, convert.Options{
		F16: *f16, Preprocess: *pre, Source: *source, License: *license, Log: stderr,
	})
	return err
}
