package main

// Control (Gatys et al. 2017) in the worker: the page's region masks from
// an uploaded label image (labels) and the layer explorer's tiles
// (explore). Masks themselves are settings (content_masks, style_masks,
// region_styles), so runs, links and comparisons carry them as text like
// any other value; a run's progress has each region's losses
// (transfer.Progress.Regions). The explorer's tiles run as ordinary starts
// with content_from_style (Inbound.ContentFromStyle): texture synthesis
// from noise has no content, and the first style image gives the output
// its aspect. See PROTOCOL.md.

import (
	"errors"
	"strings"

	"github.com/crema-app/crema/model/transfer"
)

// Message types of control.
const (
	InLabels   = "labels"  // page → worker: split a label image into region masks
	InExplore  = "explore" // page → worker: the layer explorer's tiles for values
	OutLabels  = "labels"  // worker → page: the masks (as text) and each region's colour
	OutExplore = "explore" // worker → page: the tiles
)

// Labels answers labels: one mask per region of the label image
// (transfer.SplitLabels: the colours covering at least 1 % of it, most
// common first), each as content_masks' text (transfer.FormatMask), and
// the region's colour [r, g, b, a].
type Labels struct {
	Type    string     `json:"type"`
	Masks   []string   `json:"masks"`
	Colours [][4]uint8 `json:"colours"`
	Width   int        `json:"width"`
	Height  int        `json:"height"`
}

// Explore answers explore: the layer explorer's tiles (transfer.Explore)
// for the values, each with its settings as text and, when the loaded
// weights cannot compute its layers, why (with the page's advice).
type Explore struct {
	Type    string                 `json:"type"`
	Tiles   []transfer.ExploreTile `json:"tiles"`
	Refused []transfer.FieldError  `json:"refused,omitempty"`
	Layers  []string               `json:"layers"` // transfer.ExploreLayers
	Style   [2]int                 `json:"style"`  // the first style image's size (0×0 when none is set)
}

// labels splits the page's label image into region masks.
func (w *worker) labels(im *Image) error {
	if im == nil {
		return errors.New("wasm: labels: no image")
	}
	img, err := im.rgba("label image")
	if err != nil {
		return err
	}
	masks, colours, err := transfer.SplitLabels(img)
	if err != nil {
		return err
	}
	msg := Labels{Type: OutLabels, Width: im.Width, Height: im.Height}
	for i, m := range masks {
		msg.Masks = append(msg.Masks, transfer.FormatMask(m))
		c := colours[i]
		msg.Colours = append(msg.Colours, [4]uint8{c.R, c.G, c.B, c.A})
	}
	w.post(msg)
	return nil
}

// explore answers with the explorer's tiles for values (over the page's
// defaults). Layers the weights lack (the manifest's, during a download)
// disable their tiles, with the reason the page gives for its sliders.
func (w *worker) explore(values map[string]string) error {
	s, refused := parseSettings(values)
	var why func(string) string
	switch {
	case w.downloading():
		why = w.dl.final.Why
	case w.sess != nil && w.sess.Net() != nil:
		why = w.sess.Net().Why
	default:
		return errors.New("wasm: explore: no weights loaded yet")
	}
	tiles := transfer.Explore(s, func(layer string) string {
		if r := why(layer); r != "" {
			return strings.TrimSuffix(r, ".") + moreWeights
		}
		return ""
	})
	msg := Explore{Type: OutExplore, Tiles: tiles, Refused: refused, Layers: transfer.ExploreLayers}
	if len(w.styles) > 0 {
		b := w.styles[0].Bounds()
		msg.Style = [2]int{b.Dx(), b.Dy()}
	}
	w.post(msg)
	return nil
}

// startContent is the content image of a start: the content, or with
// fromStyle (the explorer's tiles) the first style image.
func (w *worker) startContent(fromStyle bool) (transfer.Job, error) {
	job := transfer.Job{Content: w.content, Styles: w.styles}
	if fromStyle {
		if len(w.styles) == 0 {
			return job, errors.New("wasm: content_from_style: no style image set yet")
		}
		job.Content = w.styles[0]
	}
	return job, nil
}
