package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/model/weights"
)

// worker is the state behind the protocol: one session (backend, weights,
// network), the images and at most one run. handle is called by the message
// loop, one message at a time; a run has its own goroutine.
type worker struct {
	post  func(msg any) // sends a message to the page (a Frame's Pixels are transferred)
	yield func()        // lets the host's event loop deliver messages (between iterations)
	// open opens backends (backends.OpenWith).
	open session.Opener

	sess    *session.Session
	content image.Image
	styles  []image.Image

	dl   *download // the weights download, when the page streams them (download.go)
	held *held     // a start waiting for layers still downloading

	mu  sync.Mutex
	run *activeRun // nil when idle

	helpers helpers // the helper workers' pool (pool.go)
}

// activeRun is the run in progress.
type activeRun struct {
	id     int
	cancel context.CancelFunc
	gate   gate
	done   chan struct{} // closed when the run's goroutine has posted its last message
}

func newWorker(post func(any), yield func()) *worker {
	return &worker{post: post, yield: yield, open: backends.OpenWith}
}

// fail posts err, if any, as an error of stage.
func (w *worker) fail(stage string, id int, err error) {
	if err == nil {
		return
	}
	w.post(Error{Type: OutError, ID: id, Stage: stage, Message: err.Error()})
}

// handle acts on one message from the page.
func (w *worker) handle(in Inbound) {
	switch in.Type {
	case InInit:
		w.wantHelpers(in) // pool.go
		w.fail(InInit, 0, w.init(in.Backend, in.Remembered))
	case InWeights:
		if in.Stream {
			w.fail(InWeights, 0, w.beginDownload(in.Manifest))
		} else {
			w.fail(InWeights, 0, w.loadWeights(in.Manifest, in.Binary))
		}
	case InPart:
		w.fail(InWeights, 0, w.downloadPart(in.Binary))
	case InImages:
		w.fail(InImages, 0, w.setImages(in.Content, in.Styles))
	case InSettings:
		s, refused := parseSettings(in.Values)
		msg := settingsInfo(OutSettings, 0, s, refused)
		msg.Error, msg.Waiting = w.check(s)
		w.withMemory(&msg, s, in.Shape) // memory.go
		w.post(msg)
	case InStart:
		w.fail(InStart, in.ID, w.start(in.ID, in.Values, in.ContentFromStyle))
	case InLabels: // control.go
		w.fail(InLabels, 0, w.labels(in.Image))
	case InExplore: // control.go
		w.fail(InExplore, 0, w.explore(in.Values))
	case InPause, InResume, InStop:
		w.control(in.Type)
	default:
		w.fail("message", in.ID, fmt.Errorf("wasm: unknown message type %q", in.Type))
	}
}

// settingsInfo is the page's view of s: every value as text and parsed,
// with the style layers spelt out.
func settingsInfo(typ string, id int, s transfer.Settings, refused []transfer.FieldError) SettingsInfo {
	r := s.Resolved()
	return SettingsInfo{Type: typ, ID: id, Values: r.Values(), Settings: r, Refused: refused}
}

// init opens the backend the page asked for; "auto" follows remembered, the
// choice of an earlier visit's measurement, when the page has one (else it
// measures). WebGPU that cannot start falls back to the CPU, and the page
// is told why.
func (w *worker) init(name string, remembered *backends.Choice) error {
	if w.busy() {
		return errors.New("wasm: cannot change the backend during a run; stop it first")
	}
	if w.sess == nil {
		s, err := session.NewOpener(name, remembered, w.openBackend) // pool.go
		if err != nil {
			return err
		}
		s.OnBackend = w.postBackend
		w.sess = s
	} else if err := w.sess.SetBackendRemembered(name, remembered); err != nil {
		return err
	}
	w.postBackend(w.sess.Backend())
	return nil
}

func (w *worker) postBackend(b session.BackendInfo) {
	w.post(BackendInfo{Type: OutBackend, BackendInfo: b})
}

// loadWeights checks the manifest and binary (size and SHA-256) and uploads
// them.
func (w *worker) loadWeights(manifest string, bin []byte) error {
	if w.busy() {
		return errors.New("wasm: cannot change the weights during a run; stop it first")
	}
	if w.sess == nil {
		if err := w.init("auto", nil); err != nil {
			return err
		}
	}
	wt, err := weights.Parse([]byte(manifest), bin)
	if err != nil {
		return err
	}
	if err := w.sess.Load(wt); err != nil {
		return err
	}
	w.dl = nil
	w.dropHeld("the weights were replaced")
	w.post(weightsInfo(w.sess, len(bin)))
	return nil
}

// setImages keeps the content and style images for the next runs.
func (w *worker) setImages(content *Image, styles []Image) error {
	if content == nil {
		return errors.New("wasm: images: no content image")
	}
	if len(styles) == 0 {
		return errors.New("wasm: images: no style image")
	}
	c, err := content.rgba("content image")
	if err != nil {
		return err
	}
	msg := ImagesInfo{Type: OutImages, Content: [2]int{content.Width, content.Height}}
	var ss []image.Image
	for i := range styles {
		s, err := styles[i].rgba(fmt.Sprintf("style image %d", i+1))
		if err != nil {
			return err
		}
		ss = append(ss, s)
		msg.Styles = append(msg.Styles, [2]int{styles[i].Width, styles[i].Height})
	}
	w.content, w.styles = c, ss
	w.post(msg)
	return nil
}

// rgba wraps the page's bytes as an image without copying.
func (im *Image) rgba(what string) (*image.RGBA, error) {
	if im.Width < 1 || im.Height < 1 {
		return nil, fmt.Errorf("wasm: %s is %d×%d", what, im.Width, im.Height)
	}
	if want := im.Width * im.Height * 4; len(im.Pixels) != want {
		return nil, fmt.Errorf("wasm: %s is %d×%d but has %d bytes, want %d (RGBA)", what, im.Width, im.Height, len(im.Pixels), want)
	}
	return &image.RGBA{Pix: im.Pixels, Stride: 4 * im.Width, Rect: image.Rect(0, 0, im.Width, im.Height)}, nil
}

func (w *worker) busy() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.run != nil
}

// start checks that everything a run needs is there and starts it on its
// own goroutine. The settings themselves are checked by the run (a
// refusal is an error of stage run).
//
// fromStyle (content_from_style: the explorer's tiles) runs on the first
// style image in place of the content (control.go).
func (w *worker) start(id int, values map[string]string, fromStyle bool) error {
	if w.busy() || w.held != nil {
		return errors.New("wasm: a run is already in progress; stop it first")
	}
	if (w.sess == nil || w.sess.Net() == nil) && !w.downloading() {
		return errors.New("wasm: no weights loaded yet")
	}
	if w.content == nil {
		return errors.New("wasm: no images set yet")
	}
	job, err := w.startContent(fromStyle)
	if err != nil {
		return err
	}
	s, refused := parseSettings(values)
	if err := firstError(refused); err != nil {
		return err
	}
	if w.downloading() {
		// Checked against the manifest's layers; a run that needs layers
		// still on their way waits for them.
		if problem, waiting := w.check(s); problem != "" {
			w.fail("run", id, errors.New(problem))
			return nil
		} else if len(waiting) > 0 {
			w.hold(id, values, fromStyle, waiting)
			return nil
		}
		w.syncWeights() // the layers in so far, into the network
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &activeRun{id: id, cancel: cancel, done: make(chan struct{})}
	w.mu.Lock()
	w.run = r
	w.mu.Unlock()
	w.post(settingsInfo(OutStarted, id, s, nil))
	job.Settings = s
	go w.execute(ctx, r, job)
	return nil
}

// execute is the run's goroutine.
func (w *worker) execute(ctx context.Context, r *activeRun, job transfer.Job) {
	defer close(r.done)
	defer r.cancel()
	last := 0
	hooks := transfer.Hooks{
		Progress: func(p transfer.Progress) {
			last = p.Iter
			w.post(ProgressMsg{Type: OutProgress, ID: r.id, Progress: p})
			w.yield()
			r.gate.Wait(ctx) // blocks while paused; a stop cancels ctx and Run returns
		},
		Preview: func(iter int, img *image.RGBA) {
			w.post(frame(OutPreview, r.id, iter, img))
		},
	}
	img, err := w.sess.Run(ctx, job, hooks)
	w.postPool() // the helpers' tasks so far (pool.go)
	w.mu.Lock()
	w.run = nil
	w.mu.Unlock()
	stopped := errors.Is(err, context.Canceled)
	if err != nil && !stopped {
		if img != nil { // keep what was made: the page can still download it
			w.post(frame(OutPreview, r.id, last, img))
		}
		w.fail("run", r.id, err)
		return
	}
	if img == nil {
		w.fail("run", r.id, errors.New("wasm: the run returned no image"))
		return
	}
	f := frame(OutDone, r.id, last, img)
	f.Stopped = stopped
	w.post(f)
}

// frame copies img into a Frame (tightly packed rows).
func frame(typ string, id, iter int, img *image.RGBA) Frame {
	b := img.Bounds()
	wd, ht := b.Dx(), b.Dy()
	pix := make([]byte, wd*ht*4)
	for y := 0; y < ht; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		copy(pix[y*wd*4:(y+1)*wd*4], row[:wd*4])
	}
	return Frame{Type: typ, ID: id, Iter: iter, Width: wd, Height: ht, Pixels: pix}
}

// control pauses, resumes or stops the current run.
func (w *worker) control(typ string) {
	w.mu.Lock()
	r := w.run
	w.mu.Unlock()
	if r == nil && typ == InStop && w.stopHeld() {
		return
	}
	if r == nil {
		w.fail(typ, 0, fmt.Errorf("wasm: %s: no run in progress", typ))
		return
	}
	switch typ {
	case InPause:
		if r.gate.Pause() {
			w.post(State{Type: OutPaused, ID: r.id})
		}
	case InResume:
		if r.gate.Resume() {
			w.post(State{Type: OutResumed, ID: r.id})
		}
	case InStop:
		r.cancel()
	}
}
