// Command wasm is crema's Web Worker: the Go main that the page runs, compiled
// with GOOS=js GOARCH=wasm, inside a dedicated Worker (web/worker.js starts
// it), so that a long style-transfer run never freezes the page.
//
// The page and the worker talk with postMessage, in the small protocol that
// PROTOCOL.md documents (message types and fields are the structs in
// protocol.go; settings use transfer.Settings' JSON names). The worker holds
// one backend (WebGPU or the CPU fallback), one set of weights, the current
// content and style images and at most one run at a time; runs are started,
// paused, resumed and stopped by messages, and report progress, preview
// frames (RGBA bytes in a transferred ArrayBuffer) and errors.
//
// Only worker_js.go touches syscall/js. Everything else (message handling,
// pause and stop, settings and layer availability) is plain Go, tested
// natively with synthetic weights.
package main
