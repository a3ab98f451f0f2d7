# crema: `make run` starts the app, `make test` runs every test.
# Sections are owned by the issue that introduced them; keep targets small and
# put logic in tools/ (Go) or scripts, not here.

GO      ?= go
PORT    ?= 8080
WEIGHTS ?= weights

.PHONY: all deps test test-go test-wasm test-browser test-wasm-simd run dist weights bench clean

all: test

## ---- tests -------------------------------------------------------------
test: test-go test-wasm test-browser

# What the browser tests need, installed when missing or stale: the npm
# packages (npm ci), Debian's Chromium and Debian's firefox-esr with Mesa's
# Vulkan drivers (a second WebGPU: wgpu on lavapipe) — apt-get as root;
# otherwise a one-line message with the command to run. See
# tools/setup/deps.sh.
deps:
	tools/setup/deps.sh npm chromium firefox

# On amd64 the kernels and the TF.js reference test are also run with Go's
# experimental SIMD package (GOEXPERIMENT=simd), which adds the CPU backend's
# AVX-512/AVX2 GEMM micro-kernels (their test reads the kernels' disassembly
# with binutils' objdump, which deps.sh installs). tools/testsum prints go test's usual lines and then lists
# every skipped test with its reason (tests that need ../shared skip when
# it is absent), so that no skip is silent.
test-go:
	$(GO) vet ./...
	$(GO) test -json ./... | $(GO) run ./tools/testsum
	if [ "$$($(GO) env GOARCH)" = amd64 ]; then \
		tools/setup/deps.sh objdump && \
		GOEXPERIMENT=simd $(GO) test -json ./kernels/... ./tools/tfjsref/ | $(GO) run ./tools/testsum; fi

# Everything must build for the browser.
test-wasm:
	GOOS=js GOARCH=wasm $(GO) build ./...

# Browser tests: the js/wasm test binaries of every package with
# *_js_test.go files (tools/wasmtest/packages lists them) run one at a time in
# headless Chromium (WebGPU: Dawn on SwiftShader) and then in headless
# Firefox (WebGPU: wgpu on lavapipe) by tools/wasmtest; only the browser
# tests, named TestWebGPU…, run there. Firefox skips two tests that exercise
# nothing browser-specific and are slow there, since each readback waits for
# Firefox's ~100 ms poll: the finite-difference gradients (~1000 readbacks,
# 2 min) and the dispatch counts (counted in Go, 45 s). Then the page's
# tests. Needs `npm ci` (playwright-core, puppeteer-core), chromium and
# firefox-esr.
WASMTEST = $(CURDIR)/tools/wasmtest/gowasm-browser
WASMTEST_FIREFOX = $(CURDIR)/tools/wasmtest/gowasm-firefox
test-browser: deps
	GOOS=js GOARCH=wasm $(GO) test -p 1 -timeout 30m -exec $(WASMTEST) -run WebGPU $$(GO=$(GO) tools/wasmtest/packages)
	GOOS=js GOARCH=wasm $(GO) test -p 1 -timeout 30m -exec $(WASMTEST_FIREFOX) -run WebGPU -skip 'WebGPUGradients|WebGPUDispatchesPerIteration' $$(GO=$(GO) tools/wasmtest/packages)
	$(MAKE) test-wasm-simd
	node --test web/test/*.test.mjs

# The CPU backend's WebAssembly SIMD kernels (kernels/cpu/wasmsimd, issue 10)
# in Chromium: every kernel through the conformance table, then as a browser
# without relaxed SIMD and one without SIMD would (CREMA_WASM_SIMD, which
# tools/wasmtest passes to the program).
test-wasm-simd:
	GOOS=js GOARCH=wasm $(GO) test -p 1 -exec $(WASMTEST) ./kernels/cpu/...
	CREMA_WASM_SIMD=simd128 GOOS=js GOARCH=wasm $(GO) test -p 1 -exec $(WASMTEST) -run 'TestWasmKernels|TestLoad|TestEveryMicroKernel|TestKernelInTheBrowser' ./kernels/cpu/...
	CREMA_WASM_SIMD=off GOOS=js GOARCH=wasm $(GO) test -p 1 -exec $(WASMTEST) -run 'TestWasmKernels|TestLoad|TestKernelInTheBrowser' ./kernels/cpu/...

## ---- reference fixtures ------------------------------------------------
# Regenerates testdata/tfjsref_48x40.{json,bin}: TensorFlow.js' VGG-19 features
# and input gradients on the real weights in ../shared (needs npm ci).
SHARED_TFJS ?= ../shared/weights/vgg19-keras-conv1-3
.PHONY: testdata-tfjs
testdata-tfjs:
	node tools/tfjsref/main.mjs $(SHARED_TFJS) testdata

## ---- app ---------------------------------------------------------------
# The page: tools/serve first gets the weights when $(WEIGHTS)/ has none (as
# `make weights` does; if the download fails it says why, and serves
# anyway), then builds the wasm worker (rebuilding it when Go sources
# change) and serves web/ and $(WEIGHTS)/ on http://localhost:$(PORT).
run:
	PORT=$(PORT) GO=$(GO) $(GO) run ./tools/serve -fetch -weights $(WEIGHTS)

# A self-contained static site in dist/ for any static host, from its root
# or a sub-path: the page, worker, wasm (stripped) + .wasm.gz, wasm_exec.js,
# samples, the weight packs PACKS names (the first is the page's default;
# the page's ?pack= picks another shipped one) when $(WEIGHTS)/ has them, a
# .gz beside every text file, and the service worker with the build's
# version (a hash of its files). LABEL names the build in the page's footer.
# PACKS=q8 ships only the 8-bit pack (13 MB instead of 26).
PACKS ?= f16 q8
LABEL ?= dist
dist:
	GO=$(GO) $(GO) run ./tools/serve -dist dist -weights $(WEIGHTS) -packs '$(PACKS)' -label '$(LABEL)'

## ---- weights -----------------------------------------------------------
# Downloads VGG-19 (the Caffe vgg19-d01eb7cb.pth, ~548 MB, from two sites,
# else torchvision's vgg19-dcbb9e9d.pth; SHA-256 prefix checked; a cut
# download resumes; see tools/getweights) into $(WEIGHTS)/, converts it to
# $(WEIGHTS)/vgg19.json + vgg19.bin (the CLI's, float32) and writes the
# page's packs (conv1_1 … conv5_1): $(WEIGHTS)/pack-f16/ (float16, 26 MB)
# and $(WEIGHTS)/pack-q8/ (8-bit weights with a scale per output channel,
# 13 MB). Safe to re-run. WEIGHTS_FLAGS=-f16 halves the full size.
weights:
	$(GO) run ./tools/getweights -o $(WEIGHTS) $(WEIGHTS_FLAGS)

## ---- benchmarks --------------------------------------------------------
# crema (WebGPU, CPU) vs TensorFlow.js (webgpu, wasm) in headless Chromium;
# writes BENCHMARKS.md's browser section. BENCH_ARGS e.g. '--sizes 64 --rounds 2'.
# On a GPU machine: node tools/bench/gpu.mjs (Dawn in node, 256² and 512²).
bench:
	BENCH_ARGS='$(BENCH_ARGS)' node tools/bench/bench.mjs $(BENCH_ARGS)

clean:
	rm -rf dist node_modules
