// Command getweights is `make weights`: it downloads the canonical VGG-19
// and converts it into crema's weight format where the CLI and the page look
// by default (DIR/vgg19.json and DIR/vgg19.bin, DIR = ./weights).
//
//	go run ./tools/getweights [-o DIR] [-f16] [-url URL -sha256 HEX] [-preprocess caffe|torchvision]
//
// The canonical file is vgg19-d01eb7cb.pth: the original Caffe VGG-19 of
// Simonyan and Zisserman converted to PyTorch by Justin Johnson
// (github.com/jcjohnson/pytorch-vgg), the network Gatys et al. and the
// neural-style ports use (BGR, 0–255, mean subtracted). The download goes to
// DIR/NAME.part, is checked, and only then renamed to DIR/NAME, so
// re-running is safe; a present NAME that verifies is not fetched again.
//
// Checksum: no full SHA-256 of this file is published alongside it. Like
// torchvision's files, its name carries the first 8 hex digits of its
// SHA-256 (the conversion script names it so), and that prefix is what is
// checked unless -sha256 gives the full digest.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/crema-app/crema/tools/internal/convert"
)

// canonicalURLs are tried in order: Justin Johnson's university page, then
// the S3 bucket the pytorch-vgg README names.
var canonicalURLs = []string{
	"https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth",
	"https://s3-us-west-2.amazonaws.com/jcjohns-models/vgg19-d01eb7cb.pth",
}

func main() {
	if err := run(os.Args[1:], os.Stderr, http.DefaultClient); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer, client *http.Client) error {
	fs := flag.NewFlagSet("getweights", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("o", "weights", "directory for the download and for vgg19.json / vgg19.bin")
	f16 := fs.Bool("f16", false, "store float16 weights (half the size) instead of float32")
	src := fs.String("url", "", "download this checkpoint instead of the canonical VGG-19")
	sum := fs.String("sha256", "", "full SHA-256 the download must have (default: the 8-hex-digit prefix in its file name)")
	pre := fs.String("preprocess", "", "preprocessing of the weights: caffe or torchvision (default: from the file name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("getweights: unexpected arguments %v", fs.Args())
	}
	urls := canonicalURLs
	if *src != "" {
		urls = []string{*src}
	}
	name, err := fileName(urls[0])
	if err != nil {
		return err
	}
	check, err := newChecksum(name, *sum)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	final := filepath.Join(*dir, name)
	if err := fetch(client, urls, final, check, stderr); err != nil {
		return err
	}
	_, err = convert.Convert(final, *dir, convert.Options{F16: *f16, Preprocess: *pre, Log: stderr})
	return err
}

// fileName is the last element of u's path.
func fileName(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("getweights: bad URL %q: %w", u, err)
	}
	name := path.Base(p.Path)
	if name == "" || name == "/" || name == "." {
		return "", fmt.Errorf("getweights: URL %q names no file", u)
	}
	return name, nil
}

// checksum is the SHA-256 a download must have: the full digest, or a
// prefix of its hex form.
type checksum struct {
	hexPrefix string // lower-case hex: all 64 digits, or a prefix
}

var namePrefix = regexp.MustCompile(`-([0-9a-f]{8,64})\.[^.]+$`)

func newChecksum(name, full string) (checksum, error) {
	if full != "" {
		full = strings.ToLower(full)
		if b, err := hex.DecodeString(full); err != nil || len(b) != sha256.Size {
			return checksum{}, fmt.Errorf("getweights: -sha256 %q is not 64 hex digits", full)
		}
		return checksum{full}, nil
	}
	m := namePrefix.FindStringSubmatch(name)
	if m == nil {
		return checksum{}, fmt.Errorf("getweights: %s carries no SHA-256 prefix in its name (NAME-xxxxxxxx.pth); pass -sha256", name)
	}
	return checksum{m[1]}, nil
}

func (c checksum) verify(sum []byte) error {
	got := hex.EncodeToString(sum)
	if !strings.HasPrefix(got, c.hexPrefix) {
		what := "SHA-256"
		if len(c.hexPrefix) < 64 {
			what = "SHA-256 prefix"
		}
		return fmt.Errorf("SHA-256 mismatch: the file's is %s, want %s %s", got, what, c.hexPrefix)
	}
	return nil
}

// fileSum hashes the file at p.
func fileSum(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// fetch makes final hold a verified copy, downloading it from the first
// URL that works unless a verified copy is already there.
func fetch(client *http.Client, urls []string, final string, check checksum, log io.Writer) error {
	if sum, err := fileSum(final); err == nil {
		bad := check.verify(sum)
		if bad == nil {
			fmt.Fprintf(log, "getweights: %s is already present and verified\n", final)
			return nil
		}
		fmt.Fprintf(log, "getweights: %s is present but fails its check (%v); downloading again\n", final, bad)
	}
	var errs []error
	for _, u := range urls {
		err := download(client, u, final, check, log)
		if err == nil {
			return nil
		}
		fmt.Fprintln(log, err)
		errs = append(errs, err)
	}
	return fmt.Errorf("getweights: could not download %s: %w", filepath.Base(final), errors.Join(errs...))
}

// download fetches u into final+".part", hashing as it goes, and renames
// it to final only when the checksum holds; a failed download removes the
// part file.
func download(client *http.Client, u, final string, check checksum, log io.Writer) (err error) {
	fmt.Fprintf(log, "getweights: downloading %s\n", u)
	resp, err := client.Get(u)
	if err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("getweights: %s: HTTP %s", u, resp.Status)
	}
	part := final + ".part"
	f, err := os.Create(part)
	if err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(part)
		}
	}()
	h := sha256.New()
	p := &progress{w: log, total: resp.ContentLength, start: time.Now()}
	n, err := io.Copy(io.MultiWriter(f, h, p), resp.Body)
	p.done()
	if err != nil {
		return fmt.Errorf("getweights: %s: %w after %d bytes", u, err, n)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("getweights: %s: got %d bytes of %d", u, n, resp.ContentLength)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	if err = check.verify(h.Sum(nil)); err != nil {
		return fmt.Errorf("getweights: %s: %w; the download is corrupt or the file changed upstream, so it was not kept", u, err)
	}
	if err = os.Rename(part, final); err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	fmt.Fprintf(log, "getweights: saved %s (%d bytes, SHA-256 verified)\n", final, n)
	return nil
}

// progress prints the download's progress on one line, at most a few times
// a second.
type progress struct {
	w     io.Writer
	total int64 // -1 when unknown
	n     int64
	start time.Time
	last  time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= 250*time.Millisecond {
		p.last = now
		p.print()
	}
	return len(b), nil
}

func (p *progress) print() {
	const mb = 1 << 20
	rate := float64(p.n) / mb / max(time.Since(p.start).Seconds(), 1e-3)
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r  %.1f / %.1f MB (%.0f%%), %.1f MB/s   ", float64(p.n)/mb, float64(p.total)/mb, 100*float64(p.n)/float64(p.total), rate)
	} else {
		fmt.Fprintf(p.w, "\r  %.1f MB, %.1f MB/s   ", float64(p.n)/mb, rate)
	}
}

func (p *progress) done() {
	p.print()
	fmt.Fprintln(p.w)
}
