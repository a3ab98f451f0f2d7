package webgpu

// executor is the half of the backend that owns the GPU objects: exec.js in
// the browser (exec_js.go). The Go half names buffers and pipelines by ids it
// picks and hands over whole command streams (see stream.go).
type executor interface {
	// newBuffer creates buffer id of size bytes. With checked set it waits
	// for the device's verdict and returns its out-of-memory or validation
	// error, if any.
	newBuffer(id uint32, size int, label string, checked bool) error
	// freeBuffer destroys buffer id.
	freeBuffer(id uint32)
	// newPipeline creates pipeline id from entry of the WGSL code (compiled
	// once per module name), with one binding per character of bindings (see
	// bindUniform ...) and the override constants "NAME=v,...".
	newPipeline(id uint32, label, module, code, entry, bindings, constants string)
	// run submits the command stream cmds, after uploading uni, the uniform
	// slots its dispatches refer to.
	run(cmds []uint32, uni []byte)
	// write copies src into buffer id from byte 0.
	write(id uint32, src []byte)
	// read waits for the submitted work and copies the bytes of buffer id
	// from off into dst. It fails only when the device is gone.
	read(dst []byte, id uint32, off int) error
	// lost returns "" while the device lives, else why it was lost.
	lost() string
	// takeErrors returns the uncaptured GPU errors since the last call, one
	// per line, or "".
	takeErrors() string
	// destroy destroys the device.
	destroy()
}

// limits are the adapter limits crema requests and sizes work by.
type limits struct {
	maxStorageBinding  int64
	maxBuffer          int64
	maxWorkgroupMemory int64
	maxStorageBuffers  int64
	uniformAlign       int
}
