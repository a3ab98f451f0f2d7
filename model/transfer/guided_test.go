package transfer

import (
	"context"
	"image"
	"reflect"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/model"
)

// halfMask is a w×h mask, white on the left half (or the right).
func halfMask(w, h int, left bool) string {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (x < w/2) == left {
				m.Pix[y*w+x] = 255
			}
		}
	}
	return FormatMask(m)
}

func whiteMask(w, h int) string {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = 255
	}
	return FormatMask(m)
}

func runRecorded(t *testing.T, b kernels.Backend, net *model.Net, job Job) ([]Progress, *image.RGBA) {
	t.Helper()
	var rec recorder
	img, err := Run(context.Background(), b, net, job, Hooks{Progress: rec.hook})
	if err != nil {
		t.Fatal(err)
	}
	return rec.p, img
}

// A white mask (of another size than the content: resized) reproduces the
// unguided run exactly: every loss of every iteration and the image, for
// a content mask, a style mask and both.
func TestRunAllOnesMaskIsUnguided(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	content, sty := testImage(20, 14, 1), testImage(16, 16, 3)
	for _, stat := range []string{"gram", "cov", "meanstd", "mmd"} {
		base := smallSettings()
		base.StyleStat, base.Iterations = stat, 4
		job := Job{Content: content, Styles: []image.Image{sty}, Settings: base}
		want, wantImg := runRecorded(t, b, net, job)
		for _, masks := range [][2]string{{whiteMask(7, 5), ""}, {"", whiteMask(16, 16)}, {whiteMask(20, 14), whiteMask(3, 3)}} {
			s := base
			if errs := s.SetValues(map[string]string{"content_masks": masks[0], "style_masks": masks[1]}); len(errs) > 0 {
				t.Fatal(errs)
			}
			job.Settings = s
			got, img := runRecorded(t, b, net, job)
			for i := range want {
				g, w := got[i], want[i]
				g.MS, w.MS, g.Regions = 0, 0, nil
				if !reflect.DeepEqual(g, w) {
					t.Fatalf("%s, masks %v: iteration %d\n got %+v\nwant %+v", stat, masks[0] != "", i, g, w)
				}
			}
			if !reflect.DeepEqual(img.Pix, wantImg.Pix) {
				t.Fatalf("%s: the images differ", stat)
			}
			if masks[0] != "" && (len(got[0].Regions["conv1_1"]) != 1 || got[0].Regions["conv1_1"][0] != want[0].Style["conv1_1"]) {
				t.Fatalf("%s: regions %v", stat, got[0].Regions)
			}
		}
	}
}

// Two regions with two styles: each region's loss is computed against its
// own style only (it equals the loss of a run with that region and style
// alone), the layer's loss is their sum, swapping the styles changes them,
// and the run lowers both.
func TestRunTwoRegions(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	content, s1, s2 := testImage(24, 16, 1), testImage(16, 16, 3), testImage(12, 18, 2)
	left, right := halfMask(24, 16, true), halfMask(24, 16, false)
	run := func(styles []image.Image, values map[string]string) []Progress {
		s := smallSettings()
		s.Iterations = 6
		if errs := s.SetValues(values); len(errs) > 0 {
			t.Fatal(errs)
		}
		p, _ := runRecorded(t, b, net, Job{Content: content, Styles: styles, Settings: s})
		return p
	}
	both := run([]image.Image{s1, s2}, map[string]string{"content_masks": left + "," + right})
	alone1 := run([]image.Image{s1}, map[string]string{"content_masks": left})
	alone2 := run([]image.Image{s2}, map[string]string{"content_masks": right})
	swapped := run([]image.Image{s1, s2}, map[string]string{"content_masks": left + "," + right, "region_styles": "2,1"})
	weighted := run([]image.Image{s1, s2}, map[string]string{"content_masks": left + "," + right, "region_styles": "1,2:0.5"})
	eroded := run([]image.Image{s1, s2}, map[string]string{"content_masks": left + "," + right, "mask_erode": "1"})
	for _, l := range []string{"conv1_1", "conv2_1"} {
		r := both[0].Regions[l]
		if len(r) != 2 || r[0] != alone1[0].Regions[l][0] || r[1] != alone2[0].Regions[l][0] {
			t.Errorf("%s: regions %v; alone %v and %v", l, r, alone1[0].Regions[l], alone2[0].Regions[l])
		}
		if both[0].Style[l] != r[0]+r[1] {
			t.Errorf("%s: style loss %g, want the regions' sum %g", l, both[0].Style[l], r[0]+r[1])
		}
		if sw := swapped[0].Regions[l]; sw[0] == r[0] || sw[1] == r[1] {
			t.Errorf("%s: swapping the styles kept the losses %v", l, sw)
		}
		if w := weighted[0]; w.Regions[l][1] != r[1] || w.Style[l] != r[0]+0.5*r[1] {
			t.Errorf("%s: region weight 0.5: regions %v, style %g", l, w.Regions[l], w.Style[l])
		}
		if e := eroded[0].Regions[l]; len(e) != 2 || e[0] == r[0] || e[1] == r[1] {
			t.Errorf("%s: eroded masks kept the losses %v", l, e)
		}
		last := both[len(both)-1].Regions[l]
		if !(last[0] < r[0]) || !(last[1] < r[1]) {
			t.Errorf("%s: region losses %v → %v, want both lower", l, r, last)
		}
	}
}

// Masks that cannot run are refused with a message.
func TestRunMaskErrors(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv2_1")
	img := testImage(15, 15, 1)
	// One white pixel in the last column of a 15×15 image: the first
	// pooling drops that column, so the region is empty at conv2_1.
	dot := image.NewGray(image.Rect(0, 0, 15, 15))
	dot.Pix[7*15+14] = 255
	for _, c := range []struct {
		values map[string]string
		styles int
		want   string
	}{
		{map[string]string{"content_masks": whiteMask(4, 4)}, 2, "transfer: 1 content_masks for 2 style images (one mask per style image, or region_styles to say which style each region takes)"},
		{map[string]string{"content_masks": whiteMask(4, 4), "region_styles": "3"}, 2, "transfer: region 1 takes style 3, but there are 2 style images"},
		{map[string]string{"style_masks": whiteMask(4, 4) + "," + whiteMask(4, 4)}, 1, "transfer: 2 style_masks for 1 style images"},
		{map[string]string{"content_masks": FormatMask(dot), "image_size": "15"}, 1, "transfer: region 1 is empty at conv2_1 (7×7): its mask covers too little of the image at that layer's resolution"},
		{map[string]string{"content_masks": whiteMask(4, 4), "style_cost": "swd"}, 1, "transfer: swd cannot be guided: "},
	} {
		s := smallSettings()
		if errs := s.SetValues(c.values); len(errs) > 0 {
			t.Fatal(errs)
		}
		var styles []image.Image
		for range c.styles {
			styles = append(styles, img)
		}
		_, err := Run(context.Background(), b, net, Job{Content: img, Styles: styles, Settings: s}, Hooks{})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: %v\nwant %s", c.values, err, c.want)
		}
	}
}
