//go:build !js

package main

import (
	"fmt"
	"os"
)

// main outside the browser only says what this command is: the worker runs
// in a Web Worker (build with GOOS=js GOARCH=wasm; `make run` does).
func main() {
	fmt.Fprintln(os.Stderr, "wasm: crema's worker runs in a browser; build it with GOOS=js GOARCH=wasm (make run serves it)")
	os.Exit(2)
}
