package weights

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Stream reads a binary while it downloads. NewStream checks the manifest;
// Write takes the binary's bytes in order, in pieces of any size, and
// checks and decodes each tensor as soon as its bytes are in (against its
// own SHA-256: version 2 manifests), so that a layer can be used long before
// the whole binary has arrived; Finish checks the size and the SHA-256 of
// the whole binary. Parse and Stream accept and refuse the same files.
//
// A tensor that fails its own check is never used; Write goes on (the page
// keeps downloading) and Finish reports the damage: the whole binary's
// SHA-256 mismatch, naming the first damaged tensor. Version 1 manifests have
// no per-tensor SHA-256: their layers become usable only in Finish, once the
// whole binary is checked.
type Stream struct {
	m       Manifest
	buf     []byte
	n       int64
	pending []TensorInfo // not yet in, by end offset
	w       *Weights     // every tensor checked and decoded so far
	damaged error        // the first tensor that failed its check
	badAt   string       // its name and bytes
	layers  []string     // complete layers (weight and bias in), in the order they completed
}

// NewStream checks manifestJSON for a download of its binary. It refuses
// what Parse would refuse without the binary, and a size larger than the
// tensors take (crema's writer pads only to align them), so a manifest
// cannot make the reader reserve memory its tensors do not need.
func NewStream(manifestJSON []byte) (*Stream, error) {
	m, err := decodeManifest(manifestJSON)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if err := checkBinaryName(m.Binary); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if err := checkManifest(m); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	var most int64
	for _, t := range m.Tensors {
		most += t.Length + align - 1
	}
	if m.Size > most {
		return nil, fmt.Errorf("weights: the manifest says binary %s is %d bytes, more than its tensors take with their alignment (%d): not a file crema wrote", m.Binary, m.Size, most)
	}
	pending := slices.Clone(m.Tensors)
	slices.SortStableFunc(pending, func(a, b TensorInfo) int { return int(min(max(a.Offset+a.Length-b.Offset-b.Length, -1), 1)) })
	return &Stream{m: m, buf: make([]byte, m.Size), pending: pending, w: newWeights(m)}, nil
}

// Manifest is the stream's manifest.
func (s *Stream) Manifest() Manifest { return s.m }

// Received is the number of bytes written so far; Size the binary's.
func (s *Stream) Received() int64 { return s.n }

// Size is the binary's size in bytes, as the manifest says.
func (s *Stream) Size() int64 { return s.m.Size }

// Write appends p to the binary and returns the layers that p completed
// (both tensors in and checked), in network order. It fails only when p
// runs past the size the manifest gives.
func (s *Stream) Write(p []byte) ([]string, error) {
	if int64(len(p)) > s.m.Size-s.n {
		return nil, fmt.Errorf("weights: binary %s is longer than the %d bytes the manifest says: not the file the manifest describes", s.m.Binary, s.m.Size)
	}
	copy(s.buf[s.n:], p)
	s.n += int64(len(p))
	var done []TensorInfo
	keep := s.pending[:0]
	for _, t := range s.pending {
		if t.Offset+t.Length <= s.n && t.SHA256 != "" {
			done = append(done, t)
		} else {
			keep = append(keep, t)
		}
	}
	s.pending = keep
	for _, t := range done {
		if err := s.w.add(t, s.buf[t.Offset:t.Offset+t.Length]); err != nil && s.damaged == nil {
			s.damaged = err
			s.badAt = fmt.Sprintf("%s, bytes %d..%d", t.Name, t.Offset, t.Offset+t.Length)
		}
	}
	return s.complete(), nil
}

// complete moves the layers whose weight and bias are both in to s.layers
// and returns them.
func (s *Stream) complete() []string {
	var out []string
	for _, c := range VGG19 {
		_, hasW := s.w.tensors[c.Name+".weight"]
		_, hasB := s.w.tensors[c.Name+".bias"]
		if hasW && hasB && !slices.Contains(s.layers, c.Name) {
			s.layers = append(s.layers, c.Name)
			out = append(out, c.Name)
		}
	}
	return out
}

// Layers lists the complete layers so far, in network order.
func (s *Stream) Layers() []string {
	var out []string
	for _, c := range VGG19 {
		if slices.Contains(s.layers, c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// Damaged is the first tensor that failed its own check, or nil.
func (s *Stream) Damaged() error {
	if s.damaged == nil {
		return nil
	}
	return fmt.Errorf("weights: %w", s.damaged)
}

// Partial is the weights of the complete layers so far (it shares their
// memory with the stream). Its Manifest is the whole file's.
func (s *Stream) Partial() *Weights {
	w := newWeights(s.m)
	for _, l := range s.layers {
		for _, part := range []string{".weight", ".bias"} {
			w.tensors[l+part] = s.w.tensors[l+part]
		}
	}
	return w
}

// Finish checks the size and the bytes between the tensors, decodes what
// had no SHA-256 of its own (checking the whole binary's SHA-256 first),
// and returns the weights of every tensor.
func (s *Stream) Finish() (*Weights, error) {
	if s.n != s.m.Size {
		return nil, fmt.Errorf("weights: binary %s is %d bytes but the manifest says %d: truncated or not the file the manifest describes", s.m.Binary, s.n, s.m.Size)
	}
	if s.damaged != nil || len(s.pending) > 0 || !s.paddingIsZero() {
		got := sha256.Sum256(s.buf)
		if hex.EncodeToString(got[:]) != strings.ToLower(s.m.SHA256) {
			err := wholeMismatch(s.m, got[:])
			if s.damaged != nil {
				err = fmt.Errorf("%w (the first damaged tensor: %s)", err, s.badAt)
			}
			return nil, fmt.Errorf("weights: %w", err)
		}
	}
	if s.damaged != nil {
		return nil, fmt.Errorf("weights: %w", s.damaged)
	}
	for _, t := range s.pending {
		if err := s.w.add(t, s.buf[t.Offset:t.Offset+t.Length]); err != nil {
			return nil, fmt.Errorf("weights: %w", err)
		}
	}
	s.pending = nil
	s.complete()
	return s.w, nil
}

// paddingIsZero reports whether every byte outside the tensors is zero.
func (s *Stream) paddingIsZero() bool {
	ts := slices.Clone(s.m.Tensors)
	slices.SortFunc(ts, func(a, b TensorInfo) int { return int(min(max(a.Offset-b.Offset, -1), 1)) })
	at := int64(0)
	zero := func(b []byte) bool {
		for _, c := range b {
			if c != 0 {
				return false
			}
		}
		return true
	}
	for _, t := range ts {
		if !zero(s.buf[at:t.Offset]) {
			return false
		}
		at = t.Offset + t.Length
	}
	return zero(s.buf[at:])
}

// Layers lists the convolutions the manifest holds (weight and bias), in
// network order.
func (m Manifest) Layers() []string {
	var out []string
	for _, c := range VGG19 {
		var w, b bool
		for _, t := range m.Tensors {
			w = w || t.Name == c.Name+".weight"
			b = b || t.Name == c.Name+".bias"
		}
		if w && b {
			out = append(out, c.Name)
		}
	}
	return out
}
