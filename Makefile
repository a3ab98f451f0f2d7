# crema: `make run` starts the app, `make test` runs every test.
# Sections are owned by the issue that introduced them; keep targets small and
# put logic in tools/ (Go) or scripts, not here.

GO      ?= go
PORT    ?= 8080
WEIGHTS ?= weights

.PHONY: all test test-go test-wasm test-browser run dist weights bench clean

all: test

## ---- tests -------------------------------------------------------------
test: test-go test-wasm test-browser

test-go:
	$(GO) vet ./...
	$(GO) test ./...

# Everything must build for the browser.
test-wasm:
	GOOS=js GOARCH=wasm $(GO) build ./...

test-browser:
	@echo "browser tests: none yet"

## ---- reference fixtures ------------------------------------------------
# Regenerates testdata/tfjsref_48x40.{json,bin}: TensorFlow.js' VGG-19 features
# and input gradients on the real weights in ../shared (needs npm ci).
SHARED_TFJS ?= ../shared/weights/vgg19-keras-conv1-3
.PHONY: testdata-tfjs
testdata-tfjs:
	node tools/tfjsref/main.mjs $(SHARED_TFJS) testdata

## ---- app ---------------------------------------------------------------
run:
	@echo "make run: not wired yet"

dist:
	@echo "make dist: not wired yet"

## ---- weights -----------------------------------------------------------
weights:
	@echo "make weights: not wired yet"

## ---- benchmarks --------------------------------------------------------
bench:
	@echo "make bench: not wired yet"

clean:
	rm -rf dist node_modules
