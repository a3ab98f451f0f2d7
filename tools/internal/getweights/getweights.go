// Package getweights puts VGG-19 weights where crema looks for them: it
// downloads a published checkpoint (trying several sites in turn, resuming a
// cut download, checking its SHA-256), converts it into crema's format
// (DIR/vgg19.json + vgg19.bin, float32, every layer: what the CLI loads) and
// derives the page's packs from it (weights.Packs: DIR/pack-f16/, float16,
// and DIR/pack-q8/, 8-bit; only the layers the page can use). `make weights` (tools/getweights) and `make run`
// (tools/serve) both call Ensure; whatever is already in place and verified
// is never fetched or written again.
package getweights

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/convert"
)

// Source is one published VGG-19 checkpoint.
type Source struct {
	URL string
	// SHA256 is the full hex digest, or "" to check the 8-or-more hex digit
	// prefix that the file name carries (NAME-xxxxxxxx.pth, torchvision's
	// convention).
	SHA256 string
	// Preprocess is "caffe", "torchvision" or "" (inferred from the name).
	Preprocess string
	// What says which network this is, for the note when a later source
	// stands in for an earlier one.
	What string
}

const (
	caffeWhat       = "the original Caffe VGG-19 (the network of Gatys et al. and neural-style)"
	torchvisionWhat = "torchvision's VGG-19 (trained by the PyTorch project: the same architecture, other weights, so results differ a little from the Caffe network's)"
)

// Sources are tried in order: Justin Johnson's university page and the S3
// bucket that jcjohnson/pytorch-vgg names, both serving the Caffe VGG-19,
// then PyTorch's long-lived model host for torchvision's VGG-19, so that one
// dead link costs the user only a note of which network they got.
var Sources = []Source{
	{URL: "https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth", Preprocess: "caffe", What: caffeWhat},
	{URL: "https://s3-us-west-2.amazonaws.com/jcjohns-models/vgg19-d01eb7cb.pth", Preprocess: "caffe", What: caffeWhat},
	{URL: "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", Preprocess: "torchvision", What: torchvisionWhat},
}

// Options steer Ensure.
type Options struct {
	Dir     string   // the weights folder ("weights")
	Sources []Source // nil: Sources
	F16     bool     // store the full weights as float16 too
	// PackUpTo is the deepest convolution the page's pack keeps (the page's
	// deepest layer); "" writes no pack.
	PackUpTo string
	Client   *http.Client // nil: http.DefaultClient
	Log      io.Writer    // progress and notes; nil discards
}

// Ensure makes opt.Dir hold the full weights and the page's pack. It
// downloads only when no verified weights are there, and returns the manifest
// source of the weights in place.
func Ensure(opt Options) (source string, err error) {
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	if opt.Sources == nil {
		opt.Sources = Sources
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return "", fmt.Errorf("getweights: %w", err)
	}
	full := filepath.Join(opt.Dir, weights.ManifestFile)
	w, err := weights.Load(full)
	switch {
	case err == nil:
		fmt.Fprintf(opt.Log, "getweights: %s is in place (%s)\n", full, w.Manifest.Source)
	case errors.Is(err, os.ErrNotExist):
		if err := fetchAndConvert(opt); err != nil {
			return "", err
		}
		if w, err = weights.Load(full); err != nil {
			return "", err
		}
	default:
		fmt.Fprintf(opt.Log, "getweights: %s is unusable (%v); making it again\n", full, err)
		if err := fetchAndConvert(opt); err != nil {
			return "", err
		}
		if w, err = weights.Load(full); err != nil {
			return "", err
		}
	}
	if opt.PackUpTo != "" {
		if err := ensurePack(opt, full, w); err != nil {
			return "", err
		}
	}
	return w.Manifest.Source, nil
}

// ensurePack writes each of the page's packs (weights.Packs) from the full
// weights unless a current one (made from them, in the current manifest
// version) is there.
func ensurePack(opt Options, full string, w *weights.Weights) error {
	for _, pack := range weights.Packs {
		dir := filepath.Join(opt.Dir, pack.Dir())
		if p, err := weights.Load(filepath.Join(dir, weights.ManifestFile)); err == nil && p.Manifest.Source == packSource(w, pack) && p.Manifest.Version == weights.Version {
			continue
		}
		if _, err := convert.Convert(full, dir, convert.Options{Encoding: pack.Encoding, UpTo: opt.PackUpTo, Source: packSource(w, pack), Log: opt.Log}); err != nil {
			return err
		}
	}
	return nil
}

// packSource is a pack's manifest source: the full weights' source, and
// what the pack keeps of it. It also tells a stale pack from a current one.
func packSource(w *weights.Weights, pack weights.Pack) string {
	return w.Manifest.Source + "; the page's pack: " + pack.What
}

func fullEncoding(f16 bool) weights.Encoding {
	if f16 {
		return weights.Float16
	}
	return weights.Float32
}

// fetchAndConvert gets the first source that can be had, verified, and
// converts it into DIR/vgg19.json.
func fetchAndConvert(opt Options) error {
	var errs []error
	for i, src := range opt.Sources {
		file, err := fetchSource(opt, src)
		if err != nil {
			fmt.Fprintln(opt.Log, err)
			errs = append(errs, err)
			continue
		}
		if i > 0 && src.What != "" && src.What != opt.Sources[0].What {
			fmt.Fprintf(opt.Log, "getweights: note: %s could not be downloaded, so you get %s\n", opt.Sources[0].What, src.What)
		}
		_, err = convert.Convert(file, opt.Dir, convert.Options{Encoding: fullEncoding(opt.F16), Preprocess: src.Preprocess, Log: opt.Log})
		return err
	}
	return fmt.Errorf("getweights: no source could be downloaded: %w", errors.Join(errs...))
}

// fetchSource makes DIR/NAME a verified copy of src and returns its path.
func fetchSource(opt Options, src Source) (string, error) {
	name, err := fileName(src.URL)
	if err != nil {
		return "", err
	}
	check, err := newChecksum(name, src.SHA256)
	if err != nil {
		return "", err
	}
	final := filepath.Join(opt.Dir, name)
	if sum, err := fileSum(final); err == nil {
		bad := check.verify(sum)
		if bad == nil {
			fmt.Fprintf(opt.Log, "getweights: %s is already present and verified\n", final)
			return final, nil
		}
		fmt.Fprintf(opt.Log, "getweights: %s is present but fails its check (%v); downloading again\n", final, bad)
		os.Remove(final)
	}
	// A cut connection keeps what arrived and resumes from there.
	for attempt := 1; ; attempt++ {
		err := download(opt.Client, src.URL, final, check, opt.Log)
		if err == nil {
			return final, nil
		}
		var cut *cutError
		if !errors.As(err, &cut) || attempt == maxAttempts {
			return "", err
		}
		fmt.Fprintf(opt.Log, "%v; resuming\n", err)
	}
}

// maxAttempts bounds the resumptions of one source's download.
const maxAttempts = 4

// cutError is a download that ended early: its part file is kept so that
// the next attempt resumes it.
type cutError struct{ err error }

func (e *cutError) Error() string { return e.err.Error() }
func (e *cutError) Unwrap() error { return e.err }

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

// download fetches u into final+".part", resuming a part file left by a cut
// download (an HTTP Range request; a server that ignores it sends the whole
// file, which restarts the part), and renames it to final only when the
// checksum holds. A download that ends early returns a *cutError and keeps
// the part; any other failure removes it.
func download(client *http.Client, u, final string, check checksum, log io.Writer) (err error) {
	part := final + ".part"
	have := int64(0)
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		fmt.Fprintf(log, "getweights: resuming %s at %d bytes\n", u, have)
	} else {
		fmt.Fprintf(log, "getweights: downloading %s\n", u)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	defer resp.Body.Close()
	total := resp.ContentLength
	switch {
	case have > 0 && resp.StatusCode == http.StatusPartialContent && contentRangeStart(resp) == have:
		if total >= 0 {
			total += have
		}
	case resp.StatusCode == http.StatusOK:
		have = 0 // the server sends the whole file: start again
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part) // the part is longer than the file: it cannot be right
		return &cutError{fmt.Errorf("getweights: %s: the kept part is larger than the file", u)}
	default:
		return fmt.Errorf("getweights: %s: HTTP %s", u, resp.Status)
	}
	h := sha256.New()
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if have > 0 {
		if err := hashFile(h, part, have); err != nil {
			return fmt.Errorf("getweights: %w", err)
		}
		flags = os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return fmt.Errorf("getweights: %w", err)
	}
	keep := false
	defer func() {
		if err != nil {
			f.Close()
			if !keep {
				os.Remove(part)
			}
		}
	}()
	p := &progress{w: log, total: total, n: have, start: time.Now(), from: have}
	n, err := io.Copy(io.MultiWriter(f, h, p), resp.Body)
	p.done()
	got := have + n
	if err == nil && total >= 0 && got != total {
		err = fmt.Errorf("got %d bytes of %d", got, total)
	}
	if err != nil {
		keep = f.Sync() == nil
		return &cutError{fmt.Errorf("getweights: %s: download cut after %d bytes: %w", u, got, err)}
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
	fmt.Fprintf(log, "getweights: saved %s (%d bytes, SHA-256 verified)\n", final, got)
	return nil
}

// contentRangeStart is the first byte of a 206 answer ("bytes N-M/T"), or -1.
func contentRangeStart(resp *http.Response) int64 {
	var start, end int64
	var total string
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%s", &start, &end, &total); err != nil {
		return -1
	}
	return start
}

// hashFile feeds the first n bytes of the file at p to h.
func hashFile(h io.Writer, p string, n int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyN(h, f, n)
	return err
}

// progress prints the download's progress on one line, at most a few times
// a second: MB of MB, the percentage and the rate.
type progress struct {
	w     io.Writer
	total int64 // -1 when unknown
	n     int64
	from  int64 // bytes that were there before this download
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
	rate := float64(p.n-p.from) / mb / max(time.Since(p.start).Seconds(), 1e-3)
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
