package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/model/weights"
)

// transferMain is `crema [flags]`: one style transfer.
func transferMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommon("crema", stderr, "out.png")
	printIter := c.fs.Int("print_iter", 50, "print the losses every this many iterations (0: never)")
	saveIter := c.fs.Int("save_iter", 100, "save the image every this many iterations as OUTPUT_<iter>.png (0: never)")
	logPath := c.fs.String("log", "", "write one JSON line per iteration to this file")
	c.fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crema -content_image FILE -style_image FILE[,FILE…] [flags]\n       crema compare -h\n       crema explore -h")
		c.fs.PrintDefaults()
	}
	if err := c.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return usageFail(stderr, err)
	}
	s := c.settings
	if *c.values["seed"] == "-1" {
		s.Seed = time.Now().UnixNano() % 1_000_000
		fmt.Fprintf(stderr, "crema: seed %d\n", s.Seed)
	}
	if *printIter < 0 || *saveIter < 0 {
		return usageFail(stderr, errors.New("-print_iter and -save_iter must be ≥ 0"))
	}
	job, err := loadJob(c, s, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	sess, err := openSession(*c.backend, *c.weights, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer sess.Close()

	var logw *json.Encoder
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return fail(stderr, fmt.Errorf("-log: %w", err))
		}
		defer f.Close()
		logw = json.NewEncoder(f)
	}
	bar := newProgressBar(stderr, s.Iterations, *printIter)
	var hooks transfer.Hooks
	var logErr error
	hooks.Progress = func(p transfer.Progress) {
		if logw != nil && logErr == nil {
			logErr = logw.Encode(logLine{Iter: p.Iter, Total: p.Total, Content: p.Content, Style: p.Style, MS: p.MS})
		}
		bar.update(p)
	}
	if *saveIter > 0 {
		s.PreviewEvery = *saveIter
		saved := 0
		hooks.Preview = func(iter int, img *image.RGBA) {
			// A tiled stage previews after every tile: save when the
			// iterations pass the next multiple of -save_iter.
			if iter == s.Iterations || iter < (saved / *saveIter + 1)*(*saveIter) {
				return // the final image is written below
			}
			saved = iter
			path := iterPath(*c.output, iter)
			if err := writeImage(path, img); err != nil {
				bar.note("could not save " + path + ": " + oneLine(err))
			}
		}
	}
	job.Settings = s
	fmt.Fprintf(stderr, "crema: %s on %s, %d×%d content, %d style image(s)\n", s.Optimizer, sess.Backend().Describe, job.Content.Bounds().Dx(), job.Content.Bounds().Dy(), len(job.Styles))
	if plan, err := transfer.PlanRun(sess.Net().Backend(), sess.Net(), s, transfer.ShapeOf(job)); err == nil {
		fmt.Fprintln(stderr, "crema: "+memoryLine(plan)) // highres.go
		// The memory model's figure is also Go's soft memory limit (with
		// the weights as read from the file and 64 MiB for the runtime and
		// the decoded images): the collector works harder rather than let
		// garbage take the process past the figure.
		if plan.Fits {
			debug.SetMemoryLimit(plan.Memory.Total() + plan.Memory.Weights + 64<<20)
		}
	}
	img, runErr := sess.Run(ctx, job, hooks)
	bar.finish()
	if logErr != nil {
		fmt.Fprintln(stderr, "crema: -log: "+oneLine(logErr))
	}
	interrupted := runErr != nil && (errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded))
	if runErr != nil && !interrupted {
		if img == nil {
			return fail(stderr, runErr)
		}
		fmt.Fprintln(stderr, "crema: "+oneLine(runErr))
	}
	if img == nil {
		return fail(stderr, errors.New("no image was produced"))
	}
	if err := writeImage(*c.output, img); err != nil {
		return fail(stderr, err)
	}
	switch {
	case interrupted:
		fmt.Fprintf(stderr, "crema: interrupted at iteration %d; saved %s\n", bar.iter, *c.output)
		return exitInterrupt
	case runErr != nil:
		fmt.Fprintf(stderr, "crema: saved the last good image to %s\n", *c.output)
		return exitError
	}
	fmt.Fprintf(stdout, "%s\n", *c.output)
	return exitOK
}

// logLine is one line of -log, exactly the fields in its order.
type logLine struct {
	Iter    int                `json:"iter"`
	Total   float64            `json:"total"`
	Content float64            `json:"content"`
	Style   map[string]float64 `json:"style"`
	MS      float64            `json:"ms"`
}

func usageFail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "crema: "+oneLine(err))
	return exitUsage
}

// loadJob reads the images the flags name.
func loadJob(c *common, s transfer.Settings, stderr io.Writer) (transfer.Job, error) {
	var job transfer.Job
	load := func(role, path string) (image.Image, error) {
		img, note, err := transfer.LoadImage(path)
		if err != nil {
			return nil, fmt.Errorf("%s image: %s", role, oneLine(err))
		}
		if note != "" {
			fmt.Fprintf(stderr, "crema: %s image %s: %s\n", role, path, note)
		}
		return img, nil
	}
	var err error
	if !c.noContent {
		if job.Content, err = load("content", *c.content); err != nil {
			return job, err
		}
	}
	styles := c.styles()
	if len(styles) == 0 && s.StyleWeight > 0 {
		return job, errors.New("missing -style_image (or set -style_weight 0)")
	}
	if len(s.StyleBlend) > 0 && len(s.StyleBlend) != len(styles) {
		return job, fmt.Errorf("-style_blend_weights has %d weights for %d style images", len(s.StyleBlend), len(styles))
	}
	for _, p := range styles {
		img, err := load("style", p)
		if err != nil {
			return job, err
		}
		job.Styles = append(job.Styles, img)
	}
	if *c.initImg != "" {
		if job.Init, err = load("init", *c.initImg); err != nil {
			return job, err
		}
	}
	// Masks of another size than their image are resized to it (stretched
	// when the aspect differs, as neural-style's forks do); say so.
	for _, m := range c.maskFiles {
		img, what := job.Content, "the content image"
		if m.field == "style_masks" {
			if m.index >= len(job.Styles) {
				continue // the run refuses the count
			}
			img, what = job.Styles[m.index], fmt.Sprintf("style image %d", m.index+1)
		}
		if img == nil {
			continue
		}
		if b := img.Bounds(); b.Dx() != m.w || b.Dy() != m.h {
			role := strings.TrimSuffix(strings.ReplaceAll(m.field, "_", " "), "s")
			fmt.Fprintf(stderr, "crema: %s %s is %d×%d, %s %d×%d: resized to it\n", role, m.path, m.w, m.h, what, b.Dx(), b.Dy())
		}
	}
	return job, nil
}

// openSession opens the backend, loads the weights and says which
// weights they are.
func openSession(backend, path string, stderr io.Writer) (*session.Session, error) {
	switch backend {
	case "cpu", "naive":
	default:
		return nil, fmt.Errorf("-backend %q: natively crema has cpu and naive", backend)
	}
	w, err := weights.Load(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("weights %s not found: run `make weights` or pass -weights", path)
		}
		return nil, err
	}
	sess, err := session.New(backend)
	if err != nil {
		return nil, err
	}
	if err := sess.Load(w); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "crema: weights %s: %s (%s)\n", path, w.Manifest.Source, sess.Net().Held())
	return sess, nil
}

// iterPath is OUTPUT with _<iter> before the extension, as neural-style
// names its intermediate images.
func iterPath(out string, iter int) string {
	ext := filepath.Ext(out)
	return fmt.Sprintf("%s_%d%s", strings.TrimSuffix(out, ext), iter, ext)
}
