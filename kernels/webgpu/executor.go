package webgpu

import "time"

// executor is the half of the backend that owns the GPU objects: exec.js in
// the browser (exec_js.go). The Go half names buffers and pipelines by ids it
// picks and hands over whole command streams (see stream.go).
//
// Every GPU call the executor makes is inside error scopes for validation,
// out-of-memory and internal errors; their verdicts are gathered and awaited
// by the next read, which fails with a *gpuError when any of them (or an
// uncaptured error) reported one, so that no readback is trusted before the
// work it depends on is known to be valid.
type executor interface {
	// newBuffer creates buffer id of size bytes. With checked set it waits
	// for the device's verdict and returns its out-of-memory or validation
	// error, if any (as a *gpuError); else a failure surfaces at the next
	// read.
	newBuffer(id uint32, size int, label string, checked bool) error
	// freeBuffer destroys buffer id.
	freeBuffer(id uint32)
	// newPipelines compiles every pipeline of ps with
	// createComputePipelineAsync, in parallel, and waits for all of them. It
	// returns a *gpuError naming the pipelines that failed, if any.
	newPipelines(ps []pipelineSpec) error
	// run submits the command stream cmds, after uploading uni, the uniform
	// slots its dispatches refer to.
	run(cmds []uint32, uni []byte)
	// write copies src into buffer id from byte 0.
	write(id uint32, src []byte)
	// read waits for the submitted work and the verdicts of its error
	// scopes, then copies the bytes of buffer id from off into dst. It
	// returns a *gpuError when the device reported an error since the last
	// read (the data are then not read), or another error when the device
	// is gone.
	read(dst []byte, id uint32, off int) error
	// lost returns "" while the device lives, else why it was lost.
	lost() string
	// destroy destroys the device.
	destroy()
	// limitWaits bounds each later wait for the device (newBuffer when
	// checked, newPipelines, read) to d, or lifts the bound (d = 0); a wait
	// that runs out returns a *waitError.
	limitWaits(d time.Duration)
}

// pipelineSpec is one pipeline for the executor to create: id, label, the
// module's name and WGSL source (compiled once per name), the entry point,
// one binding kind per binding number (bindUniform ...) and the override
// constants "NAME=v,...".
type pipelineSpec struct {
	id                                              uint32
	label, module, code, entry, bindings, constants string
}

// gpuError is an error the device reported (validation, out of memory,
// internal), as opposed to its loss.
type gpuError struct{ msg string }

func (e *gpuError) Error() string { return e.msg }

// limits are the adapter limits crema requests and sizes work by.
type limits struct {
	maxStorageBinding  int64
	maxBuffer          int64
	maxWorkgroupMemory int64
	maxStorageBuffers  int64
	uniformAlign       int
}

// adapter is what Open learns about the adapter besides its limits.
type adapter struct {
	info         string  // "vendor architecture device (description)", or "unknown adapter"
	vendor, arch string  // adapter.info's, lower case ("" when the browser hides them)
	fallback     bool    // adapter.info.isFallbackAdapter (or adapter.isFallbackAdapter)
	cores        int     // navigator.hardwareConcurrency (0: unknown)
	memoryGiB    float64 // navigator.deviceMemory (0: unknown)
}
