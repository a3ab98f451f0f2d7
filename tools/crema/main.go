// Command crema is the native style-transfer CLI: Gatys et al.'s method on
// VGG-19 with jcjohnson/neural-style's flags, plus crema's style statistics,
// costs and presets.
//
//	go run ./tools/crema -content_image cat.png -style_image coffee.png -output_image out.png
//	go run ./tools/crema compare -content_image cat.png -style_image coffee.png -output_image grid.png
//	go run ./tools/crema explore -style_image coffee.png -output_image layers.png
//
// Run with -h for the flags. Ctrl-C saves the current image and exits.
// Every error is one line on stderr and a non-zero exit status; output
// files are written atomically, so an error never damages an existing one.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitInterrupt = 130
)

// cli runs crema with args and returns the exit status.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "compare" {
		return compareMain(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "explore" {
		return exploreMain(ctx, args[1:], stdout, stderr)
	}
	return transferMain(ctx, args, stdout, stderr)
}

// fail prints err as crema's one-line error and returns exitError.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "crema: "+oneLine(err))
	return exitError
}

// oneLine drops the package prefixes errors carry inside crema and folds
// the message onto one line.
func oneLine(err error) string {
	s := err.Error()
	for _, p := range []string{"transfer: ", "weights: ", "model: ", "session: ", "kernels: ", "backends: ", "cpu: ", "naive: ", "style: ", "optim: "} {
		s = strings.TrimPrefix(s, p)
	}
	return strings.Join(strings.Fields(s), " ")
}
