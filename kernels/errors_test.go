package kernels_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/naive"
)

// A lost device is a GPU error; a DeviceError says only its own words and
// is one, or both when Lost; LastError reads through wrappers.
func TestDeviceErrors(t *testing.T) {
	lost := fmt.Errorf("webgpu: queue: %w", kernels.ErrDeviceLost)
	if !errors.Is(lost, kernels.ErrDevice) || !errors.Is(lost, kernels.ErrDeviceLost) {
		t.Error("a lost device is not an ErrDevice")
	}
	if errors.Is(kernels.ErrDevice, kernels.ErrDeviceLost) {
		t.Error("every GPU error counts as a loss")
	}
	e := &kernels.DeviceError{Msg: "webgpu: validation error: x"}
	if e.Error() != "webgpu: validation error: x" || !errors.Is(fmt.Errorf("run: %w", e), kernels.ErrDevice) || errors.Is(e, kernels.ErrDeviceLost) {
		t.Errorf("DeviceError %q: Is(ErrDevice) %v, Is(ErrDeviceLost) %v", e, errors.Is(e, kernels.ErrDevice), errors.Is(e, kernels.ErrDeviceLost))
	}
	if l := (&kernels.DeviceError{Msg: "gone", Lost: true}); !errors.Is(l, kernels.ErrDeviceLost) || !errors.Is(l, kernels.ErrDevice) {
		t.Error("a lost DeviceError is not ErrDeviceLost")
	}
	if kernels.LastError(kernels.Checked(naive.Backend{})) != nil {
		t.Error("the naive backend has a last error")
	}
	r := recorder{Backend: naive.Backend{}, last: e}
	if kernels.LastError(kernels.Checked(r)) != e {
		t.Error("LastError does not read through Checked")
	}
}

type recorder struct {
	kernels.Backend
	last error
}

func (r recorder) LastError() error { return r.last }

// Dots' pairs are checked like Dot's, and its slots against dst.
func TestCheckedDots(t *testing.T) {
	b := kernels.Checked(naive.Backend{})
	z := func(n int) kernels.Tensor {
		x, err := b.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	dst, a, c, short := z(4), z(5), z(5), z(4)
	for want, f := range map[string]func(){
		"kernels: Dots: 2 tensors in a, 1 in b":                  func() { b.Dots(dst, 0, []kernels.Tensor{a, a}, []kernels.Tensor{c}) },
		"kernels: Dots: slot 4 is outside dst of 4 elements":     func() { b.Dots(dst, 2, []kernels.Tensor{a, a, a}, []kernels.Tensor{c, c, c}) },
		"kernels: Dots: b[1] has 4 elements, want len(a[0]) = 5": func() { b.Dots(dst, 0, []kernels.Tensor{a, a}, []kernels.Tensor{c, short}) },
		"kernels: Dots: a[1] is nil":                             func() { b.Dots(dst, 0, []kernels.Tensor{a, nil}, []kernels.Tensor{c, c}) },
		"kernels: Dots: slot -1 is outside dst of 4 elements":    func() { b.Dots(dst, -1, []kernels.Tensor{a}, []kernels.Tensor{c}) },
	} {
		if got := panicOf(f); got != want {
			t.Errorf("panic %q, want %q", got, want)
		}
	}
	if got := panicOf(func() { b.Dots(dst, 9, nil, nil) }); got != "" {
		t.Errorf("no pairs: panic %q", got)
	}
	b.Write(a, []float32{1, 2, 3, 4, 5})
	b.Write(c, []float32{1, 1, 1, 1, 2})
	b.Dots(dst, 1, []kernels.Tensor{a, c, a}, []kernels.Tensor{c, c, a})
	got := make([]float32, 4)
	if err := b.Read(got, dst); err != nil || strings.TrimSpace(fmt.Sprint(got)) != "[0 20 8 55]" {
		t.Errorf("Dots = %v, %v; want [0 20 8 55]", got, err)
	}
}
