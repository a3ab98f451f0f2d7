package kernels

import "errors"

// ErrDevice is wrapped by every error a GPU backend returns when its device
// cannot do what was asked: a validation, out-of-memory or internal error
// of the GPU, a failed self-test, an allocation beyond the device's budget
// or limits, or the loss of the device (ErrDeviceLost, which is also an
// ErrDevice). Callers test for it with errors.Is and carry on with the CPU
// backend from the last iterate they read back; the error's text says why.
var ErrDevice = errors.New("kernels: GPU error")

// ErrDeviceLost is wrapped by every error a GPU backend returns once its
// device is gone (the browser reset the GPU process, the driver crashed, or
// the device was destroyed). errors.Is(err, ErrDevice) holds for it too.
var ErrDeviceLost error = deviceLost{}

// deviceLost is ErrDeviceLost's type: a case of ErrDevice.
type deviceLost struct{}

func (deviceLost) Error() string { return "kernels: GPU device lost" }

// Is makes ErrDeviceLost an ErrDevice.
func (deviceLost) Is(target error) bool { return target == ErrDevice }

// LastError returns the last error wrapping ErrDevice that b (or the backend
// under b's wrappers, such as Checked) returned, if that backend keeps it
// (GPU backends do: a run that falls back to the CPU says why), else nil.
func LastError(b Backend) error {
	for b != nil {
		if e, ok := b.(interface{ LastError() error }); ok {
			return e.LastError()
		}
		u, ok := b.(interface{ Unwrap() Backend })
		if !ok {
			return nil
		}
		b = u.Unwrap()
	}
	return nil
}

// DeviceError is an error of a GPU backend's device whose text is Msg alone
// (it does not repeat the sentinels'): errors.Is reports it as ErrDevice,
// and as ErrDeviceLost too when Lost.
type DeviceError struct {
	Msg  string
	Lost bool
}

func (e *DeviceError) Error() string { return e.Msg }

// Is makes a DeviceError an ErrDevice (and an ErrDeviceLost when Lost).
func (e *DeviceError) Is(target error) bool {
	return target == ErrDevice || (e.Lost && target == ErrDeviceLost)
}
