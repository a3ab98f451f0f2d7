package getweights

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crema-app/crema/model/weights"
	"github.com/crema-app/crema/tools/internal/convert"
	"github.com/crema-app/crema/tools/internal/convert/pthfixture"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pthfixture.Cleanup()
	os.Exit(code)
}

func fixture(t *testing.T) []byte { return pthfixture.Zip(t) }

// site stands in for the download sites: it serves body at every path
// (with Range support) except paths containing "missing", and records the
// requests' Range headers.
type site struct {
	*httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	ranges []string
	// cutFirst, when set, makes the first request send only that many bytes
	// of the body and then drop the connection.
	cutFirst int
	// noRange makes the site ignore Range and send the whole body.
	noRange bool
}

func newSite(t *testing.T, body []byte) *site {
	s := &site{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.hits.Add(1)
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		s.mu.Unlock()
		if strings.Contains(r.URL.Path, "missing") {
			http.NotFound(w, r)
			return
		}
		if n == 1 && s.cutFirst > 0 {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(http.StatusOK)
			w.Write(body[:s.cutFirst])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if s.noRange {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "vgg19.pth", time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func fullSum(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func mustLoad(t *testing.T, path string) *weights.Weights {
	t.Helper()
	w, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEnsureDownloadsConvertsAndPacks(t *testing.T) {
	body := fixture(t)
	s := newSite(t, body)
	dir := t.TempDir()
	var log bytes.Buffer
	// Served under the canonical name; the fixture's full digest replaces
	// the canonical file's prefix.
	opt := Options{Dir: dir, PackUpTo: "conv1_1", Client: s.Client(), Log: &log,
		Sources: []Source{{URL: s.URL + "/models/vgg19-d01eb7cb.pth", SHA256: fullSum(body), Preprocess: "caffe"}}}
	source, err := Ensure(opt)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{"getweights: downloading " + s.URL, "MB", "SHA-256 verified", "convert: wrote"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, log.String())
		}
	}
	w := mustLoad(t, filepath.Join(dir, weights.ManifestFile))
	if got := w.Layers(); !slices.Equal(got, []string{"conv1_1", "conv1_2"}) {
		t.Errorf("Layers() = %v", got)
	}
	if w.Preprocess() != weights.Caffe || w.Manifest.Tensors[0].DType != "float32" || source != w.Manifest.Source {
		t.Errorf("Preprocess() = %+v, dtype %s, source %q vs %q", w.Preprocess(), w.Manifest.Tensors[0].DType, source, w.Manifest.Source)
	}
	pack := mustLoad(t, filepath.Join(dir, weights.PackDir("f16"), weights.ManifestFile))
	if got := pack.Layers(); !slices.Equal(got, []string{"conv1_1"}) || pack.Manifest.Tensors[0].DType != "float16" ||
		!strings.HasPrefix(pack.Manifest.Source, w.Manifest.Source) {
		t.Errorf("pack: layers %v, dtype %s, source %q", got, pack.Manifest.Tensors[0].DType, pack.Manifest.Source)
	}
	if _, err := os.Stat(filepath.Join(dir, "vgg19-d01eb7cb.pth.part")); !os.IsNotExist(err) {
		t.Errorf(".part file left behind: %v", err)
	}

	// Re-running finds everything in place: no request, no file rewritten.
	packStat, _ := os.Stat(filepath.Join(dir, weights.PackDir("f16"), weights.BinaryFile))
	log.Reset()
	if _, err := Ensure(opt); err != nil {
		t.Fatal(err)
	}
	if s.hits.Load() != 1 || !strings.Contains(log.String(), "is in place") {
		t.Errorf("second run: %d requests, output:\n%s", s.hits.Load(), log.String())
	}
	if st, _ := os.Stat(filepath.Join(dir, weights.PackDir("f16"), weights.BinaryFile)); !st.ModTime().Equal(packStat.ModTime()) {
		t.Errorf("the pack was rewritten on a re-run")
	}

	// Converted weights gone but a verified download kept: converted again
	// without a request. A damaged download is fetched again.
	os.Remove(filepath.Join(dir, weights.ManifestFile))
	log.Reset()
	if _, err := Ensure(opt); err != nil || s.hits.Load() != 1 || !strings.Contains(log.String(), "already present and verified") {
		t.Errorf("reconvert: %v, %d requests, output:\n%s", err, s.hits.Load(), log.String())
	}
	os.Remove(filepath.Join(dir, weights.ManifestFile))
	os.WriteFile(filepath.Join(dir, "vgg19-d01eb7cb.pth"), body[:100], 0o644)
	log.Reset()
	if _, err := Ensure(opt); err != nil || s.hits.Load() != 2 || !strings.Contains(log.String(), "is present but fails its check") {
		t.Errorf("damaged copy: %v, %d requests, output:\n%s", err, s.hits.Load(), log.String())
	}
}

// A download cut half way keeps its part and resumes it with a Range
// request; the result is verified as a whole.
func TestCutDownloadResumes(t *testing.T) {
	body := fixture(t)
	s := newSite(t, body)
	s.cutFirst = len(body) / 2
	dir := t.TempDir()
	var log bytes.Buffer
	_, err := Ensure(Options{Dir: dir, Client: s.Client(), Log: &log,
		Sources: []Source{{URL: s.URL + "/vgg19-d01eb7cb.pth", SHA256: fullSum(body), Preprocess: "caffe"}}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	want := []string{"", fmt.Sprintf("bytes=%d-", len(body)/2)}
	if !slices.Equal(s.ranges, want) {
		t.Errorf("Range headers %q, want %q", s.ranges, want)
	}
	if !strings.Contains(log.String(), "download cut after") || !strings.Contains(log.String(), "resuming") {
		t.Errorf("output:\n%s", log.String())
	}
	got, _ := os.ReadFile(filepath.Join(dir, "vgg19-d01eb7cb.pth"))
	if !bytes.Equal(got, body) {
		t.Errorf("resumed file differs from the original (%d vs %d bytes)", len(got), len(body))
	}
}

// A server that ignores Range sends the whole file: the part restarts, and
// a stale part of wrong bytes does not survive into the result.
func TestPartRestartsWhenRangeIsIgnored(t *testing.T) {
	body := fixture(t)
	s := newSite(t, body)
	s.noRange = true
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vgg19-d01eb7cb.pth.part"), bytes.Repeat([]byte{7}, 50), 0o644)
	var log bytes.Buffer
	_, err := Ensure(Options{Dir: dir, Client: s.Client(), Log: &log,
		Sources: []Source{{URL: s.URL + "/vgg19-d01eb7cb.pth", SHA256: fullSum(body), Preprocess: "caffe"}}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "vgg19-d01eb7cb.pth")); !bytes.Equal(got, body) {
		t.Errorf("restarted file differs from the original")
	}
	if !slices.Equal(s.ranges, []string{"bytes=50-"}) {
		t.Errorf("Range headers %q", s.ranges)
	}
}

// When the first site is dead, the next one stands in, and the user is told
// which network they got.
func TestFallsBackToTheNextSource(t *testing.T) {
	body := fixture(t)
	s := newSite(t, body)
	dir := t.TempDir()
	var log bytes.Buffer
	source, err := Ensure(Options{Dir: dir, Client: s.Client(), Log: &log, Sources: []Source{
		{URL: s.URL + "/missing/vgg19-d01eb7cb.pth", Preprocess: "caffe", What: caffeWhat},
		{URL: s.URL + "/models/vgg19-dcbb9e9d.pth", SHA256: fullSum(body), Preprocess: "torchvision", What: torchvisionWhat},
	}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{"HTTP 404 Not Found", "note: " + caffeWhat + " could not be downloaded, so you get " + torchvisionWhat} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, log.String())
		}
	}
	w := mustLoad(t, filepath.Join(dir, weights.ManifestFile))
	if w.Preprocess() != weights.Torchvision || !strings.Contains(source, "torchvision's ImageNet VGG-19") {
		t.Errorf("preprocess %+v, source %q", w.Preprocess(), source)
	}
}

// The prefix in the file name is the check when no full digest is given.
func TestNamePrefixIsChecked(t *testing.T) {
	body := fixture(t)
	sum := sha256.Sum256(body)
	prefix := hex.EncodeToString(sum[:4])
	s := newSite(t, body)

	var log bytes.Buffer
	src := Source{URL: s.URL + "/vgg19-" + prefix + ".pth", Preprocess: "caffe"}
	if _, err := Ensure(Options{Dir: t.TempDir(), Client: s.Client(), Log: &log, Sources: []Source{src}}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	wrong := "00000000"
	if prefix == wrong {
		wrong = "11111111"
	}
	dir := t.TempDir()
	src.URL = s.URL + "/vgg19-" + wrong + ".pth"
	_, err := Ensure(Options{Dir: dir, Client: s.Client(), Log: &log, Sources: []Source{src}})
	if err == nil || !strings.Contains(err.Error(), "SHA-256 mismatch: the file's is "+hex.EncodeToString(sum[:])+", want SHA-256 prefix "+wrong) ||
		!strings.Contains(err.Error(), "so it was not kept") {
		t.Errorf("wrong prefix: error = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed download left %d files (want none: no .part, nothing promoted)", len(entries))
	}
}

func TestEnsureRejects(t *testing.T) {
	body := fixture(t)
	s := newSite(t, body)
	dir := t.TempDir()
	ensure := func(src Source) error {
		_, err := Ensure(Options{Dir: dir, Client: s.Client(), Sources: []Source{src}})
		return err
	}
	err := ensure(Source{URL: s.URL + "/vgg19-d01eb7cb.pth", SHA256: strings.Repeat("ab", 32)})
	if err == nil || !strings.Contains(err.Error(), "want SHA-256 "+strings.Repeat("ab", 32)) {
		t.Errorf("wrong full digest: error = %v", err)
	}
	for _, name := range []string{"vgg19-d01eb7cb.pth", "vgg19-d01eb7cb.pth.part", weights.ManifestFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed download", name)
		}
	}
	if err := ensure(Source{URL: s.URL + "/missing/vgg19-d01eb7cb.pth"}); err == nil || !strings.Contains(err.Error(), "HTTP 404 Not Found") {
		t.Errorf("404: error = %v", err)
	}
	if err := ensure(Source{URL: s.URL + "/vgg19.pth"}); err == nil || !strings.Contains(err.Error(), "vgg19.pth carries no SHA-256 prefix in its name") {
		t.Errorf("no prefix: error = %v", err)
	}
	if err := ensure(Source{URL: s.URL + "/vgg19-d01eb7cb.pth", SHA256: "xyz"}); err == nil || !strings.Contains(err.Error(), `-sha256 "xyz" is not 64 hex digits`) {
		t.Errorf("bad -sha256: error = %v", err)
	}
}

// Weights already converted (here synthetic) need no network: the pack is
// derived from them, with the layers up to PackUpTo in float16.
func TestPackFromConvertedWeights(t *testing.T) {
	dir := t.TempDir()
	if _, err := convert.Write(convert.Synthetic(1, "conv3_1"), "synthetic", dir, convert.Options{}); err != nil {
		t.Fatal(err)
	}
	dead := Source{URL: "http://127.0.0.1:1/vgg19-d01eb7cb.pth"}
	if _, err := Ensure(Options{Dir: dir, PackUpTo: "conv2_1", Sources: []Source{dead}}); err != nil {
		t.Fatal(err)
	}
	pack := mustLoad(t, filepath.Join(dir, weights.PackDir("f16"), weights.ManifestFile))
	if got := pack.Layers(); !slices.Equal(got, []string{"conv1_1", "conv1_2", "conv2_1"}) || pack.Manifest.Tensors[0].DType != "float16" {
		t.Errorf("pack layers %v, dtype %s", got, pack.Manifest.Tensors[0].DType)
	}
	// The 8-bit pack beside it: int8 weights, float32 biases, a quarter
	// of float32's size for the weights.
	q8 := mustLoad(t, filepath.Join(dir, weights.PackDir("q8"), weights.ManifestFile))
	if got := q8.Layers(); !slices.Equal(got, []string{"conv1_1", "conv1_2", "conv2_1"}) || q8.Manifest.Tensors[0].DType != "int8" ||
		q8.Manifest.Tensors[1].DType != "float32" || !strings.HasSuffix(q8.Manifest.Source, "; the page's pack: 8-bit (int8 weights with a float32 scale per output channel)") {
		t.Errorf("q8 pack layers %v, tensors %+v, source %q", got, q8.Manifest.Tensors[:2], q8.Manifest.Source)
	}
	if q8.Manifest.Size*2 > pack.Manifest.Size+4096 {
		t.Errorf("q8 pack %d bytes, f16 %d: want about half", q8.Manifest.Size, pack.Manifest.Size)
	}

	// A pack of an older manifest version is written again (the page needs
	// per-tensor SHA-256s to use layers as they arrive); a current one is
	// kept.
	old := pack.Manifest
	old.Version = 1
	for i := range old.Tensors {
		old.Tensors[i].SHA256 = ""
	}
	js, _ := json.Marshal(old)
	if err := os.WriteFile(filepath.Join(dir, weights.PackDir("f16"), weights.ManifestFile), js, 0o644); err != nil {
		t.Fatal(err)
	}
	q8Stat, _ := os.Stat(filepath.Join(dir, weights.PackDir("q8"), weights.ManifestFile))
	if _, err := Ensure(Options{Dir: dir, PackUpTo: "conv2_1", Sources: []Source{dead}}); err != nil {
		t.Fatal(err)
	}
	if p := mustLoad(t, filepath.Join(dir, weights.PackDir("f16"), weights.ManifestFile)); p.Manifest.Version != weights.Version {
		t.Errorf("the version 1 pack was kept")
	}
	if st, _ := os.Stat(filepath.Join(dir, weights.PackDir("q8"), weights.ManifestFile)); !st.ModTime().Equal(q8Stat.ModTime()) {
		t.Errorf("the current q8 pack was rewritten")
	}
	w, _, _ := pack.Tensor("conv2_1.weight")
	full := mustLoad(t, filepath.Join(dir, weights.ManifestFile))
	ref, _, _ := full.Tensor("conv2_1.weight")
	for i := range ref {
		if d := ref[i] - w[i]; d > 1e-3*max(1, abs(ref[i])) || -d > 1e-3*max(1, abs(ref[i])) {
			t.Fatalf("conv2_1.weight[%d]: pack %g, full %g", i, w[i], ref[i])
		}
	}
}

func abs(x float32) float32 { return max(x, -x) }

func TestPublishedSources(t *testing.T) {
	want := []struct{ name, prefix, pre string }{
		{"vgg19-d01eb7cb.pth", "d01eb7cb", "caffe"},
		{"vgg19-d01eb7cb.pth", "d01eb7cb", "caffe"},
		{"vgg19-dcbb9e9d.pth", "dcbb9e9d", "torchvision"},
	}
	if len(Sources) != len(want) {
		t.Fatalf("%d sources, want %d", len(Sources), len(want))
	}
	for i, s := range Sources {
		name, err := fileName(s.URL)
		c, cerr := newChecksum(name, s.SHA256)
		if err != nil || cerr != nil || name != want[i].name || c.hexPrefix != want[i].prefix || s.Preprocess != want[i].pre {
			t.Errorf("%s: name %q, checksum %+v, preprocess %q (%v, %v)", s.URL, name, c, s.Preprocess, err, cerr)
		}
	}
}
