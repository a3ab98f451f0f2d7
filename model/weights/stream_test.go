package weights

import (
	"slices"
	"strings"
	"testing"
)

// streamOf writes layers with enc and returns the manifest JSON and binary.
func streamOf(t *testing.T, enc Encoding, layers ...string) (Manifest, []byte, []byte) {
	t.Helper()
	m, bin, err := Encode(testManifest(), randomTensors(10, layers...), enc)
	if err != nil {
		t.Fatal(err)
	}
	return m, marshal(t, m), bin
}

// Layers become usable one by one as the bytes arrive, in any piece sizes,
// and the result equals Parse's.
func TestStreamLayersArriveInOrder(t *testing.T) {
	for _, enc := range []Encoding{Float32, Float16, Int8} {
		m, js, bin := streamOf(t, enc, "conv1_1", "conv1_2", "conv2_1")
		want, err := Parse(js, bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range []int{1 << 20, 1000, 7} {
			s, err := NewStream(js)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			ends := map[string]int64{}
			for _, ti := range m.Tensors {
				ends[strings.TrimSuffix(ti.Name, ".bias")] = ti.Offset + ti.Length // the bias ends each layer
			}
			for off := 0; off < len(bin); off += piece {
				p := bin[off:min(off+piece, len(bin))]
				got, err := s.Write(p)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range got {
					if s.Received() < ends[l] {
						t.Fatalf("%v: %s complete at %d bytes, before its end %d", enc, l, s.Received(), ends[l])
					}
					if s.Received()-int64(len(p)) >= ends[l] {
						t.Fatalf("%v: %s reported late", enc, l)
					}
				}
				order = append(order, got...)
				if part := s.Partial(); !slices.Equal(part.Layers(), s.Layers()) {
					t.Fatalf("partial weights hold %v, stream says %v", part.Layers(), s.Layers())
				}
			}
			if !slices.Equal(order, []string{"conv1_1", "conv1_2", "conv2_1"}) {
				t.Errorf("%v, pieces of %d: layers arrived as %v", enc, piece, order)
			}
			w, err := s.Finish()
			if err != nil {
				t.Fatal(err)
			}
			for _, ti := range m.Tensors {
				a, _, _ := w.Tensor(ti.Name)
				b, _, _ := want.Tensor(ti.Name)
				if !slices.Equal(a, b) {
					t.Fatalf("%v: %s differs from Parse's", enc, ti.Name)
				}
			}
		}
	}
}

// A damaged tensor is never used; the download goes on and Finish names
// the whole binary's SHA-256 mismatch and the first damaged tensor.
func TestStreamDamagedTensor(t *testing.T) {
	m, js, bin := streamOf(t, Float16, "conv1_1", "conv1_2")
	bin[m.Tensors[2].Offset+5] ^= 1 // conv1_2.weight
	s, err := NewStream(js)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Write(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"conv1_1"}) || !slices.Equal(s.Partial().Layers(), []string{"conv1_1"}) {
		t.Errorf("layers %v: the damaged conv1_2 must not be usable", got)
	}
	if err := s.Damaged(); err == nil || !strings.Contains(err.Error(), "weights: tensor conv1_2.weight (bytes 3584..77312) has SHA-256 ") {
		t.Errorf("Damaged() = %v", err)
	}
	_, err = s.Finish()
	if err == nil || !strings.HasPrefix(err.Error(), "weights: binary vgg19.bin has SHA-256 ") ||
		!strings.Contains(err.Error(), "the file is corrupted or does not belong to this manifest (the first damaged tensor: conv1_2.weight, bytes 3584..77312)") {
		t.Errorf("Finish: %v", err)
	}
}

func TestStreamRefusals(t *testing.T) {
	m, js, bin := streamOf(t, Float32, "conv1_1")
	s, _ := NewStream(js)
	if _, err := s.Write(append(slices.Clone(bin), 0)); err == nil || !strings.Contains(err.Error(), "binary vgg19.bin is longer than the 7168 bytes the manifest says") {
		t.Errorf("too long: %v", err)
	}
	s, _ = NewStream(js)
	s.Write(bin[:100])
	if _, err := s.Finish(); err == nil || !strings.Contains(err.Error(), "weights: binary vgg19.bin is 100 bytes but the manifest says 7168: truncated") {
		t.Errorf("short: %v", err)
	}
	big := m
	big.Size = 1 << 40
	if _, err := NewStream(marshal(t, big)); err == nil || !strings.Contains(err.Error(), "the manifest says binary vgg19.bin is 1099511627776 bytes, more than its tensors take with their alignment (7198): not a file crema wrote") {
		t.Errorf("huge size: %v", err)
	}
	bad := m
	bad.Model = "vgg16"
	if _, err := NewStream(marshal(t, bad)); err == nil || err.Error() != `weights: model is "vgg16", want "vgg19"` {
		t.Errorf("vgg16: %v", err)
	}
	if _, err := NewStream([]byte("{")); err == nil || !strings.Contains(err.Error(), "bad JSON in manifest") {
		t.Errorf("bad JSON: %v", err)
	}
}

// A version 1 manifest streams too, but its layers are usable only once
// the whole binary is checked.
func TestStreamVersion1(t *testing.T) {
	m, _, bin := streamOf(t, Float16, "conv1_1", "conv1_2")
	m.Version = 1
	for i := range m.Tensors {
		m.Tensors[i].SHA256 = ""
	}
	s, err := NewStream(marshal(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Write(bin); len(got) != 0 {
		t.Errorf("version 1: layers %v usable before the whole check", got)
	}
	w, err := s.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.Layers(), []string{"conv1_1", "conv1_2"}) || !slices.Equal(s.Layers(), w.Layers()) {
		t.Errorf("after Finish: %v, stream %v", w.Layers(), s.Layers())
	}
}

// Without hashing the whole binary again, a damaged byte between the
// tensors is still caught.
func TestStreamDamagedPadding(t *testing.T) {
	m, _, bin := streamOf(t, Float32, "conv1_1")
	bin = append(bin, make([]byte, 8)...) // trailing padding
	reseal(&m, bin)
	js := marshal(t, m)
	if _, err := Parse(js, bin); err != nil {
		t.Fatal(err)
	}
	s, _ := NewStream(js)
	s.Write(bin)
	if _, err := s.Finish(); err != nil {
		t.Fatalf("zero padding: %v", err)
	}
	bin[len(bin)-3] = 1
	s, _ = NewStream(js)
	s.Write(bin)
	if _, err := s.Finish(); err == nil || !strings.Contains(err.Error(), "binary vgg19.bin has SHA-256 ") {
		t.Fatalf("damaged padding: %v", err)
	}
}
