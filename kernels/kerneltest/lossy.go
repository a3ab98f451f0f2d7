package kerneltest

import (
	"fmt"

	"github.com/crema-app/crema/kernels"
)

// Lossy is a backend that works until its device is "lost": after
// FailAfter reads, every Read and ReadAt returns an error wrapping
// kernels.ErrDeviceLost, as a GPU backend's do. Tests of the fallback to the
// CPU (model/transfer, model/session) run on it.
type Lossy struct {
	kernels.Backend
	FailAfter int
	reads     int
}

func (l *Lossy) lost() error {
	l.reads++
	if l.reads > l.FailAfter {
		return fmt.Errorf("webgpu: queue: %w", kernels.ErrDeviceLost)
	}
	return nil
}

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
