package kerneltest

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
)

// Lossy is a backend that works until its device is "lost": after
// FailAfter reads, every Read and ReadAt returns an error wrapping
// kernels.ErrDeviceLost, as a GPU backend's do — or Err, when set (say a
// validation error wrapping kernels.ErrDevice). With MaxAlloc > 0, Alloc
// of more than MaxAlloc elements fails with an out-of-memory error wrapping
// kernels.ErrDevice. LastError returns the last of those errors, as a GPU
// backend's does. Tests of the fallback to the CPU (model/transfer,
// model/session) run on it.
type Lossy struct {
	kernels.Backend
	FailAfter int
	Err       error
	MaxAlloc  int
	reads     int
	last      error
}

func (l *Lossy) lost() error {
	l.reads++
	if l.reads > l.FailAfter {
		l.last = l.Err
		if l.last == nil {
			l.last = fmt.Errorf("webgpu: queue: %w", kernels.ErrDeviceLost)
		}
		return l.last
	}
	return nil
}

// Alloc fails beyond MaxAlloc elements.
func (l *Lossy) Alloc(n int) (kernels.Tensor, error) {
	if l.MaxAlloc > 0 && n > l.MaxAlloc {
		l.last = &kernels.DeviceError{Msg: fmt.Sprintf("webgpu: cannot allocate %d floats: out of memory (test)", n)}
		return nil, l.last
	}
	return l.Backend.Alloc(n)
}

// LastError is the last error wrapping kernels.ErrDevice it returned.
func (l *Lossy) LastError() error { return l.last }

// Name is "webgpu": the backend stands in for a GPU.
func (l *Lossy) Name() string { return "webgpu" }

// Describe names the stand-in.
func (l *Lossy) Describe() string { return "a GPU that will be lost (test)" }

// Read fails once the device is lost.
func (l *Lossy) Read(dst []float32, src kernels.Tensor) error {
	if err := l.lost(); err != nil {
		return err
	}
	return l.Backend.Read(dst, src)
}

// ReadAt fails once the device is lost.
func (l *Lossy) ReadAt(dst []float32, src kernels.Tensor, off int) error {
	if err := l.lost(); err != nil {
		return err
	}
	return l.Backend.ReadAt(dst, src, off)
}
