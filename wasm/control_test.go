package main

import (
	"image"
	"strings"
	"testing"

	"github.com/crema-app/crema/model/transfer"
)

// labelImage is w×h RGBA: the left third red, the rest blue.
func labelImage(w, h int) *Image {
	pix := make([]byte, w*h*4)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := pix[(y*w+x)*4:]
			if x < w/3 {
				p[0] = 255
			} else {
				p[2] = 255
			}
			p[3] = 255
		}
	}
	return &Image{Width: w, Height: h, Pixels: pix}
}

func TestLabelsSplitsALabelImageIntoMasks(t *testing.T) {
	rec := newRecorder()
	w := newWorker(rec.post, func() {})
	w.handle(Inbound{Type: InLabels, Image: labelImage(30, 10)})
	l := rec.waitFor(t, "labels", isType(OutLabels)).(Labels)
	if len(l.Masks) != 2 || len(l.Colours) != 2 || l.Width != 30 || l.Height != 10 {
		t.Fatalf("labels = %+v, want two masks of 30×10", l)
	}
	// Most common colour first: blue (two thirds), then red.
	if l.Colours[0] != [4]uint8{0, 0, 255, 255} || l.Colours[1] != [4]uint8{255, 0, 0, 255} {
		t.Fatalf("colours %v", l.Colours)
	}
	for i, want := range []int{200, 100} {
		m, err := transfer.ParseMask(l.Masks[i])
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range m.Pix {
			if v == 255 {
				n++
			}
		}
		if n != want {
			t.Errorf("mask %d covers %d pixels, want %d", i+1, n, want)
		}
	}
	// The masks are content_masks' text as they come.
	s, refused := parseSettings(map[string]string{"content_masks": strings.Join(l.Masks, ","), "region_styles": "1,1:0.5"})
	if len(refused) > 0 || len(s.ContentMasks) != 2 {
		t.Fatalf("the masks as settings: refused %v", refused)
	}
	// What cannot be split says why.
	for _, c := range []struct {
		in   *Image
		want string
	}{
		{nil, "labels: no image"},
		{&Image{Width: 2, Height: 2, Pixels: make([]byte, 3)}, "label image is 2×2 but has 3 bytes"},
	} {
		w.handle(Inbound{Type: InLabels, Image: c.in})
		e := rec.waitFor(t, "labels error", isType(OutError)).(Error)
		if e.Stage != InLabels || !strings.Contains(e.Message, c.want) {
			t.Errorf("labels error %+v, want %q", e, c.want)
		}
	}
}

func TestExploreListsTheTilesAndWhyLayersAreMissing(t *testing.T) {
	rec := newRecorder()
	w := newWorker(rec.post, func() {})
	w.handle(Inbound{Type: InExplore, Values: map[string]string{"image_size": "16"}})
	if e := rec.waitFor(t, "explore error", isType(OutError)).(Error); e.Stage != InExplore || !strings.Contains(e.Message, "no weights loaded yet") {
		t.Fatalf("explore without weights: %+v", e)
	}
	w, rec = readyWorker(t) // weights up to conv2_2
	w.handle(Inbound{Type: InExplore, Values: map[string]string{"image_size": "16", "num_iterations": "3", "content_masks": transfer.FormatMask(image.NewGray(image.Rect(0, 0, 1, 1)))}})
	ex := rec.waitFor(t, "explore", isType(OutExplore)).(Explore)
	if len(ex.Tiles) != 10 || ex.Style != [2]int{16, 16} || len(ex.Layers) != 5 {
		t.Fatalf("explore: %d tiles, style %v, layers %v", len(ex.Tiles), ex.Style, ex.Layers)
	}
	if len(ex.Refused) != 1 || ex.Refused[0].Name != "content_masks" {
		t.Errorf("refused %+v, want the black mask", ex.Refused)
	}
	for i, tile := range ex.Tiles {
		if tile.Values["content_weight"] != "0" || tile.Values["init"] != "random" || tile.Values["image_size"] != "16" || tile.Values["num_iterations"] != "3" {
			t.Errorf("tile %d (%s): values %v", i, tile.Caption, tile.Values)
		}
		deep := strings.HasPrefix(tile.Layers[len(tile.Layers)-1], "conv3") || strings.HasPrefix(tile.Layers[len(tile.Layers)-1], "conv4") || strings.HasPrefix(tile.Layers[len(tile.Layers)-1], "conv5")
		if deep != (tile.Disabled != "") {
			t.Errorf("tile %s: disabled %q", tile.Caption, tile.Disabled)
		}
	}
	if want := "conv3_1 is not in the loaded weights (they hold conv1_1 … conv2_2)" + moreWeights; ex.Tiles[2].Disabled != want {
		t.Errorf("conv3_1 tile: %q, want %q", ex.Tiles[2].Disabled, want)
	}
	if ex.Tiles[6].Caption != "conv1_1 … conv2_1" || ex.Tiles[6].Values["style_layers"] != "conv1_1:0.5,conv2_1:0.5" {
		t.Errorf("cumulative tile: %+v", ex.Tiles[6])
	}
	// A tile runs on the style image (16×16) in place of the content (20×16).
	w.handle(Inbound{Type: InStart, ID: 3, Values: ex.Tiles[6].Values, ContentFromStyle: true})
	d := rec.waitFor(t, "done", isType(OutDone)).(Frame)
	if d.ID != 3 || d.Width != 16 || d.Height != 16 || d.Iter != 3 {
		t.Fatalf("explore tile: done id %d, %d×%d after %d iterations; want 16×16 after 3", d.ID, d.Width, d.Height, d.Iter)
	}
}

func TestContentFromStyleNeedsAStyleImage(t *testing.T) {
	w, rec := readyWorker(t)
	w.styles = nil
	w.handle(Inbound{Type: InStart, ID: 2, Values: smallRun(1), ContentFromStyle: true})
	e := rec.waitFor(t, "start error", isType(OutError)).(Error)
	if e.Stage != InStart || e.ID != 2 || !strings.Contains(e.Message, "no style image") || w.busy() {
		t.Fatalf("start: %+v (busy %v)", e, w.busy())
	}
}

// halves are two masks: the left and the right half of a w×h image.
func halves(w, h int) string {
	l, r := image.NewGray(image.Rect(0, 0, w, h)), image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x < w/2 {
				l.Pix[y*w+x] = 255
			} else {
				r.Pix[y*w+x] = 255
			}
		}
	}
	return transfer.FormatMask(l) + "," + transfer.FormatMask(r)
}

func TestARunWithRegionsReportsEachRegionsLosses(t *testing.T) {
	w, rec := readyWorker(t)
	v := smallRun(2)
	v["content_masks"] = halves(10, 8)
	v["region_styles"] = "1,1:0.5"
	w.handle(Inbound{Type: InStart, ID: 9, Values: v})
	st := rec.waitFor(t, "started", isType(OutStarted)).(SettingsInfo)
	if st.Values["content_masks"] != v["content_masks"] || st.Values["region_styles"] != "1,1:0.5" {
		t.Fatalf("started values %v", st.Values)
	}
	p := rec.waitFor(t, "progress", isType(OutProgress)).(ProgressMsg)
	if len(p.Progress.Regions) != 2 || len(p.Progress.Regions["conv1_1"]) != 2 || len(p.Progress.Regions["conv2_1"]) != 2 {
		t.Fatalf("progress regions %v, want two losses for conv1_1 and conv2_1", p.Progress.Regions)
	}
	rec.waitFor(t, "done", isType(OutDone))
}
