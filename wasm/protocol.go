package main

import (
	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/kernels/pool"
	"github.com/crema-app/crema/model/session"
	"github.com/crema-app/crema/model/transfer"
)

// Message types sent by the page (see PROTOCOL.md).
const (
	InInit     = "init"         // open a backend
	InWeights  = "weights"      // load weights (manifest JSON + binary), or begin a download (stream)
	InPart     = "weights_part" // the next bytes of the download's binary
	InImages   = "images"       // set the content and style images
	InSettings = "settings"     // read settings and check them against the loaded weights
	InStart    = "start"        // start a run
	InPause    = "pause"        // pause the run (it waits between iterations)
	InResume   = "resume"       // resume a paused run
	InStop     = "stop"         // stop the run; its current image comes back
	// The helper pool's (kernels/pool): a helper's port, or why it failed.
	InHelper      = pool.MsgHelper
	InHelperError = pool.MsgHelperError
)

// Message types sent by the worker.
const (
	OutReady    = "ready"    // the worker is up: defaults, presets, choices
	OutBackend  = "backend"  // the backend in use (and why, on a fallback)
	OutWeights  = "weights"  // weights loaded: which layers exist
	OutImages   = "images"   // images received
	OutSettings = "settings" // settings checked
	OutStarted  = "started"  // a run began, with its full settings
	OutWaiting  = "waiting"  // a start waits for layers still downloading
	OutProgress = "progress" // losses after an update
	OutPreview  = "preview"  // an RGBA frame of the image being optimised
	OutPaused   = "paused"
	OutResumed  = "resumed"
	OutDone     = "done"  // the run ended (finished or stopped): final frame
	OutError    = "error" // something failed; stage says what
	OutPool     = "pool"  // the helper workers (kernels/pool): how many run, and why fewer
	// The helper pool's requests: start a helper worker, terminate one.
	OutSpawn      = pool.MsgSpawn
	OutHelperStop = pool.MsgStop
)

// Image is an RGBA image as the page sends it (ImageData's layout: 4 bytes a
// pixel, rows top to bottom, no padding).
type Image struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Pixels []byte `json:"-"` // [H, W, 4], from an ArrayBuffer
}

// Inbound is any message from the page. Which fields matter depends on Type.
type Inbound struct {
	Type     string            `json:"type"`
	ID       int               `json:"id,omitempty"`       // start: the page's run id, echoed back
	Backend  string            `json:"backend,omitempty"`  // init: auto, cpu or webgpu
	Manifest string            `json:"manifest,omitempty"` // weights: the manifest JSON text
	Binary   []byte            `json:"-"`                  // weights: the binary; weights_part: its next bytes (ArrayBuffer)
	Stream   bool              `json:"stream,omitempty"`   // weights: the binary follows in weights_part messages
	Content  *Image            `json:"content,omitempty"`  // images
	Styles   []Image           `json:"styles,omitempty"`   // images
	Values   map[string]string `json:"values,omitempty"`   // settings, start: setting name → text, over the page's defaults
	// Shape (settings): the sizes of the page's images, for the memory
	// model before the images themselves are sent (memory.go).
	Shape *transfer.JobShape `json:"shape,omitempty"`
	// Remembered (init, with backend "auto"): the choice an earlier visit's
	// measurement made on this device, which the page kept (the backend
	// message's choice); "auto" then opens it without measuring.
	Remembered *backends.Choice `json:"remembered,omitempty"`
	// Control (control.go): labels' image; a start's content_from_style
	// (the explorer's tiles: the first style image stands for the content).
	Image            *Image `json:"image,omitempty"`
	ContentFromStyle bool   `json:"content_from_style,omitempty"`
	// Helper pool (pool.go), with init: helpers (absent: the default, 0:
	// none), helper_main (false: the worker only hands out shares, computing
	// none itself) and helper_fault (a test hook: exit@N).
	Helpers     *int   `json:"helpers,omitempty"`
	HelperMain  *bool  `json:"helper_main,omitempty"`
	HelperFault string `json:"helper_fault,omitempty"`
}

// PoolInfo says what the helper pool is doing (kernels/pool.Status).
type PoolInfo struct {
	Type string `json:"type"`
	pool.Status
}

// Ready is the worker's first message.
type Ready struct {
	Type       string                            `json:"type"`
	GoVersion  string                            `json:"go"`
	Schema     []transfer.Field                  `json:"schema"`   // every setting: the page builds its controls from it
	Defaults   map[string]string                 `json:"defaults"` // the page's defaults, as text
	Settings   transfer.Settings                 `json:"settings"` // the same, parsed (style layers spelt out)
	Presets    map[string][]transfer.LayerWeight `json:"presets"`  // even, early, late
	WeightsURL string                            `json:"weights_url"`
	Build      string                            `json:"build"` // the build's label (tools/serve -dist -label), "dev" otherwise
}

// BackendInfo says which backend runs the work.
type BackendInfo struct {
	Type string `json:"type"`
	session.BackendInfo
}

// WeightsInfo describes loaded weights. During a download (weights with
// stream) it is sent when it begins, whenever layers have arrived, and at
// the end (Complete); Layers are those in so far, Unavailable those the
// manifest lacks (the final word), Pending those still on their way.
type WeightsInfo struct {
	Type string `json:"type"`
	session.WeightsInfo
	Bytes    int      `json:"bytes"`             // bytes received
	Size     int64    `json:"size"`              // bytes of the binary
	Pending  []string `json:"pending,omitempty"` // layers of the manifest not in yet
	Complete bool     `json:"complete"`          // every byte is in and the binary's SHA-256 checked
}

// Waiting says that a start waits for layers still downloading; it starts
// (started) as soon as they are in.
type Waiting struct {
	Type   string   `json:"type"`
	ID     int      `json:"id"`
	Layers []string `json:"layers"` // the layers the run needs that are not in yet
	Bytes  int64    `json:"bytes"`  // the run can start once this many bytes are in
	Size   int64    `json:"size"`
}

// ImagesInfo acknowledges an images message.
type ImagesInfo struct {
	Type    string   `json:"type"`
	Content [2]int   `json:"content"` // width, height
	Styles  [][2]int `json:"styles"`
}

// SettingsInfo is the answer to settings and the start of a run.
type SettingsInfo struct {
	Type     string                `json:"type"`
	ID       int                   `json:"id,omitempty"`
	Values   map[string]string     `json:"values"`   // every setting as text, style layers spelt out
	Settings transfer.Settings     `json:"settings"` // the same, parsed
	Refused  []transfer.FieldError `json:"refused,omitempty"`
	Error    string                `json:"error,omitempty"`   // why they would not run on the loaded weights
	Waiting  []string              `json:"waiting,omitempty"` // layers they need that are still downloading
	// Memory (settings only): the memory model's plan of the run on this
	// backend with the page's images: what it needs untiled and as
	// planned, the budget, the tiles, the largest sizes that fit (memory.go).
	Memory *transfer.Plan `json:"memory,omitempty"`
}

// ProgressMsg carries one transfer.Progress.
type ProgressMsg struct {
	Type     string            `json:"type"`
	ID       int               `json:"id"`
	Progress transfer.Progress `json:"progress"`
}

// Frame is a preview or the final image.
type Frame struct {
	Type    string  `json:"type"` // preview or done
	ID      int     `json:"id"`
	Iter    int     `json:"iter"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	Pixels  []byte  `json:"-"`                 // [H, W, 4] RGBA, transferred as an ArrayBuffer
	MS      float64 `json:"ms,omitempty"`      // done: run time
	Stopped bool    `json:"stopped,omitempty"` // done: stopped before the last iteration
}

// State acknowledges pause and resume.
type State struct {
	Type string `json:"type"`
	ID   int    `json:"id"`
}

// Error reports a failure. Stage is the message type that failed (init,
// weights, images, settings, start, run).
type Error struct {
	Type    string `json:"type"`
	ID      int    `json:"id,omitempty"`
	Stage   string `json:"stage"`
	Message string `json:"message"`
}
