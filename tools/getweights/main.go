// Command getweights is `make weights`: it downloads VGG-19 and converts it
// into crema's weight format where the CLI and the page look by default:
// DIR/vgg19.json + vgg19.bin (float32, every layer: the CLI's) and the
// page's packs DIR/pack-f16/ (float16) and DIR/pack-q8/ (8-bit), up to the
// page's deepest layer.
//
//	go run ./tools/getweights [-o DIR] [-f16] [-url URL [-sha256 HEX] [-preprocess caffe|torchvision]]
//
// Without -url it tries, in order, Justin Johnson's Caffe VGG-19
// (vgg19-d01eb7cb.pth, the network Gatys et al. and the neural-style ports
// use: BGR, 0–255, mean subtracted) at two sites, then torchvision's VGG-19
// (vgg19-dcbb9e9d.pth: RGB, 0–1, ImageNet mean/std), and says which network
// it got. The download goes to DIR/NAME.part (a cut download resumes from
// it), is checked, and only then renamed to DIR/NAME; whatever is already in
// place and verified is not fetched or written again, so re-running is safe.
//
// Checksum: no full SHA-256 of these files is published alongside them. Like
// torchvision's files, their names carry the first 8 hex digits of their
// SHA-256, and that prefix is what is checked unless -sha256 gives the full
// digest. The logic lives in tools/internal/getweights, which `make run`
// (tools/serve) shares.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/tools/internal/getweights"
)

func main() {
	if err := run(os.Args[1:], os.Stderr, http.DefaultClient); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer, client *http.Client) error {
	fs := flag.NewFlagSet("getweights", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("o", "weights", "directory for the download, vgg19.json / vgg19.bin and the page's pack")
	f16 := fs.Bool("f16", false, "store the full weights as float16 (half the size) instead of float32")
	src := fs.String("url", "", "download this checkpoint instead of the published VGG-19s")
	sum := fs.String("sha256", "", "full SHA-256 the download must have (default: the 8-hex-digit prefix in its file name)")
	pre := fs.String("preprocess", "", "preprocessing of -url's weights: caffe or torchvision (default: from the file name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("getweights: unexpected arguments %v", fs.Args())
	}
	if *src == "" && (*sum != "" || *pre != "") {
		return fmt.Errorf("getweights: -sha256 and -preprocess describe -url's file; give -url too")
	}
	opt := getweights.Options{Dir: *dir, F16: *f16, PackUpTo: transfer.PageDeepest(), Client: client, Log: stderr}
	if *src != "" {
		opt.Sources = []getweights.Source{{URL: *src, SHA256: *sum, Preprocess: *pre}}
	}
	source, err := getweights.Ensure(opt)
	if err == nil {
		fmt.Fprintf(stderr, "getweights: weights ready in %s: %s\n", *dir, source)
	}
	return err
}
