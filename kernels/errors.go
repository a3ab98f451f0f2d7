package kernels

import "errors"

// ErrDeviceLost is wrapped by every error a GPU backend returns once its
// device is gone (the browser reset the GPU process, the driver crashed, or
// the device was destroyed). Callers test for it with errors.Is and carry on
// with the CPU backend from the last iterate they read back.
var ErrDeviceLost = errors.New("kernels: GPU device lost")
