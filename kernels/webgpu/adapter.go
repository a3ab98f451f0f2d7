package webgpu

import (
	"regexp"
	"strings"
)

// What the backend derives from the adapter: whether it is a CPU
// implementation, how many workgroups it runs at once, and how much memory
// crema lets itself allocate on it. Browsers tell little (no memory size,
// no core count; Firefox even leaves adapter.info empty), so each is an
// estimate from what they do tell, documented where it is made and tested
// on the host (adapter_test.go).

// softwareName matches the adapter names of CPU implementations of WebGPU's
// backends (Chromium's SwiftShader, Mesa's llvmpipe and lavapipe), as whole
// words of adapter.info.
var softwareName = regexp.MustCompile(`\b(swiftshader|llvmpipe|lavapipe)\b`)

// isSoftware reports whether a runs on the CPU: the browser says so
// (isFallbackAdapter), or its info names a known CPU implementation.
func (a adapter) isSoftware() bool {
	return a.fallback || softwareName.MatchString(strings.ToLower(a.info))
}

// parallelism estimates how many workgroups of 256 invocations the adapter
// runs at once: the work below which splitting a product's K (more
// workgroups, then a pass that adds the slices) pays. WebGPU exposes no core
// count, so it is a guess by vendor — desktop GPUs (NVIDIA, AMD) 128, Apple
// and Intel 64, mobile GPUs (ARM Mali, Qualcomm Adreno, Imagination) 16,
// unknown 64 — and, for a CPU implementation, the number of CPU cores
// (each runs one workgroup at a time), so that it never splits beyond them.
func (a adapter) parallelism() int {
	if a.isSoftware() {
		return max(a.cores, 1)
	}
	id := strings.ToLower(a.vendor + " " + a.arch + " " + a.info)
	for _, v := range []struct {
		names string
		n     int
	}{
		{"nvidia amd ati radeon", 128},
		{"apple intel", 64},
		{"arm mali qualcomm adreno imagination powervr samsung", 16},
	} {
		for _, name := range strings.Fields(v.names) {
			if regexp.MustCompile(`\b` + name + `\b`).MatchString(id) {
				return v.n
			}
		}
	}
	return 64
}

// Bounds of the memory budget.
const (
	minBudget = 512 << 20
	maxBudget = 4 << 30
)

// budget is the device memory crema lets itself allocate at once on an
// adapter with limits lim (live tensors, scratch and the pool of freed
// buffers). Browsers do not expose the GPU's memory; what they expose that
// scales with it is maxBufferSize (256 MiB, WebGPU's default, on most
// phones; 1–4 GiB on desktop GPUs) and, in Chromium, navigator.deviceMemory
// (the device's RAM in GiB, rounded and capped at 8). The budget is
// 2 × maxBufferSize, kept within [512 MiB, 4 GiB] and, when deviceMemory is
// known, at most half of it (integrated and mobile GPUs share that RAM):
// 512 MiB on a phone that grants 256 MiB buffers, 2 GiB with 1 GiB
// buffers, 4 GiB on desktop GPUs with 2 GiB buffers and 8 GiB of RAM. It is
// a pre-check, not the guard: allocations the device cannot make fail
// inside an error scope, and the run continues on the CPU.
func budget(lim limits, a adapter) int64 {
	b := min(max(2*lim.maxBuffer, minBudget), maxBudget)
	if a.memoryGiB > 0 {
		b = min(b, int64(a.memoryGiB*float64(1<<30))/2)
	}
	return b
}
