package transfer

import (
	"encoding/base64"
	"image"
	"image/color"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// twoRegions is a w×h label map as the page's brush paints it: an ellipse
// (region 1) on a background (region 2), with a soft edge.
func twoRegions(w, h int, soft bool) (inside, outside *image.Gray) {
	inside, outside = image.NewGray(image.Rect(0, 0, w, h)), image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x-w/2)/float64(w/3), float64(y-h/2)/float64(h/3)
			d := dx*dx + dy*dy
			v := uint8(255)
			switch {
			case d > 1.05:
				v = 0
			case d > 0.95 && soft:
				v = uint8(255 * (1.05 - d) / 0.1)
			case d > 1:
				v = 0
			}
			inside.SetGray(x, y, color.Gray{v})
			outside.SetGray(x, y, color.Gray{255 - v})
		}
	}
	return inside, outside
}

// A black-and-white mask survives FormatMask → ParseMask exactly, a soft
// one to 16 levels (and exactly from then on), and a painted two-region
// mask is short enough for a link.
func TestMaskRoundTrip(t *testing.T) {
	for _, soft := range []bool{false, true} {
		in, out := twoRegions(256, 171, soft)
		total := 0
		for _, m := range []*image.Gray{in, out} {
			text := FormatMask(m)
			total += len(text)
			if strings.ContainsAny(text, ",=+/ ") {
				t.Fatalf("mask text %q is not bare base64url", short(text))
			}
			back, err := ParseMask(text)
			if err != nil {
				t.Fatal(err)
			}
			if back.Bounds() != m.Bounds() {
				t.Fatalf("bounds %v, want %v", back.Bounds(), m.Bounds())
			}
			for i, v := range back.Pix {
				if d := int(v) - int(m.Pix[i]); d < -8 || d > 8 || (!soft && d != 0) {
					t.Fatalf("soft %v: pixel %d is %d, was %d", soft, i, v, m.Pix[i])
				}
			}
			if again := FormatMask(back); again != text {
				t.Fatalf("soft %v: a parsed mask encodes differently", soft)
			}
		}
		t.Logf("a two-region 256×171 mask (soft edges %v): %d characters", soft, total)
		if limit := map[bool]int{false: 1200, true: 2600}[soft]; total > limit {
			t.Errorf("a two-region 256×171 mask (soft %v) takes %d characters, more than %d", soft, total, limit)
		}
	}
	in, _ := twoRegions(256, 171, true)
	// A data URL's payload (standard alphabet, padding) reads the same.
	raw, _ := base64.RawURLEncoding.DecodeString(FormatMask(in))
	std := base64.StdEncoding.EncodeToString(raw)
	if m, err := ParseMask(std); err != nil || FormatMask(m) != FormatMask(in) {
		t.Errorf("standard base64: %v", err)
	}
	// An RGBA image with transparency: alpha multiplies the grey level.
	rgba := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	rgba.SetNRGBA(0, 0, color.NRGBA{255, 255, 255, 255})
	rgba.SetNRGBA(1, 0, color.NRGBA{255, 255, 255, 0})
	if m := MaskOf(rgba); m.Pix[0] != 255 || m.Pix[1] != 0 {
		t.Errorf("MaskOf(white, transparent white) = %v", m.Pix)
	}
}

func TestMaskErrors(t *testing.T) {
	png := FormatMask(image.NewGray(image.Rect(0, 0, 3, 3)))
	for _, c := range []struct{ text, want string }{
		{"", "transfer: empty mask"},
		{"not*base64", `transfer: mask "not*base64" is not base64url text (illegal base64 data at input byte 3)`},
		{"aGVsbG8gd29ybGQ", `transfer: mask "aGVsbG8gd29ybGQ": not an image crema can read (want PNG, JPEG or GIF)`},
		{png[:len(png)/2], `transfer: mask "` + png[:16] + `…": corrupt image header: unexpected EOF`},
	} {
		if _, err := ParseMask(c.text); err == nil || err.Error() != c.want {
			t.Errorf("ParseMask(%q): %v\nwant %s", short(c.text), err, c.want)
		}
	}
	// Fields: a black mask is an empty region; content masks may not be
	// empty entries, style masks may (all of that style image).
	s := Defaults()
	if err := s.Set("content_masks", png); err == nil || err.Error() != "transfer: content_masks: mask 1 is black everywhere (an empty region)" {
		t.Errorf("black mask: %v", err)
	}
	ex := exampleMask()
	if err := s.Set("content_masks", ex+",,"+ex); err == nil || err.Error() != "transfer: content_masks: mask 2 is empty" {
		t.Errorf("empty content mask: %v", err)
	}
	if err := s.Set("style_masks", ","+ex); err != nil || !slices.Equal(s.StyleMasks, []string{"", ex}) {
		t.Errorf("style_masks with an empty entry: %v %q", err, s.StyleMasks)
	}
	if got, _ := s.Get("style_masks"); got != ","+ex {
		t.Errorf("style_masks reads back as %q", got)
	}
	if err := s.Set("content_masks", "x.png"); err == nil || !strings.HasPrefix(err.Error(), `transfer: content_masks: mask 1: mask "x.png" is not base64url text`) {
		t.Errorf("a file name: %v", err)
	}
}

func TestRegions(t *testing.T) {
	r, err := ParseRegions(" 1, 2+3:0.5 ,1:0")
	want := []RegionStyle{{[]int{1}, 1}, {[]int{2, 3}, 0.5}, {[]int{1}, 0}}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("ParseRegions = %v %v, want %v", r, err, want)
	}
	if got := FormatRegions(r); got != "1,2+3:0.5,1:0" {
		t.Errorf("FormatRegions = %q", got)
	}
	for _, c := range []struct{ text, want string }{
		{"1,0", `transfer: region_styles: region 2 names style "0"; want style numbers from 1, joined by + (e.g. 1+2:0.5)`},
		{"1,", `transfer: region_styles: region 2 names style ""; want style numbers from 1, joined by + (e.g. 1+2:0.5)`},
		{"1:-1", `transfer: region_styles: region 1 has weight "-1"; want a finite number ≥ 0`},
		{"2+2", "transfer: region_styles: region 1 lists style 2 twice"},
	} {
		if _, err := ParseRegions(c.text); err == nil || err.Error() != c.want {
			t.Errorf("ParseRegions(%q): %v\nwant %s", c.text, err, c.want)
		}
	}
	// Across settings: region_styles must match content_masks one to one,
	// and swd cannot be guided.
	ex := exampleMask()
	for _, c := range []struct {
		values map[string]string
		want   string
	}{
		{map[string]string{"region_styles": "1"}, "transfer: region_styles needs content_masks (one mask per region)"},
		{map[string]string{"region_styles": "1,2", "content_masks": ex}, "transfer: 2 region_styles for 1 content_masks"},
		{map[string]string{"content_masks": ex, "style_cost": "swd"}, "transfer: swd cannot be guided: "},
		{map[string]string{"style_masks": ex, "style_cost": "swd"}, "transfer: swd cannot be guided: "},
	} {
		s := Defaults()
		if errs := s.SetValues(c.values); len(errs) > 0 {
			t.Fatal(errs)
		}
		if err := s.Validate(nil); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: %v, want %s", c.values, err, c.want)
		}
	}
}

// maskPlane: an all-white mask is exactly 1 at any size; a mask of another
// size is stretched to the image.
func TestMaskPlane(t *testing.T) {
	white := image.NewGray(image.Rect(0, 0, 7, 5))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	for _, size := range [][2]int{{7, 5}, {16, 16}, {3, 9}} {
		for i, v := range maskPlane(white, size[0], size[1]) {
			if v != 1 {
				t.Fatalf("%v: white mask is %g at %d", size, v, i)
			}
		}
	}
	half := image.NewGray(image.Rect(0, 0, 4, 2)) // left half white
	half.Pix[0], half.Pix[1], half.Pix[4], half.Pix[5] = 255, 255, 255, 255
	p := maskPlane(half, 16, 4)
	if p[0] != 1 || p[15] != 0 || p[3*16] != 1 || p[3*16+15] != 0 {
		t.Errorf("stretched mask rows %v", p[:16])
	}
}

// A label image (one colour per region, anti-aliased edges) splits into
// one mask per region, most common colour first; edge pixels join the
// nearest region and noise below 1 % is no region.
func TestSplitLabels(t *testing.T) {
	const w, h = 200, 20
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	red, blue, green := color.NRGBA{220, 30, 30, 255}, color.NRGBA{20, 40, 200, 255}, color.NRGBA{30, 200, 40, 255}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := red // the left half
			switch {
			case x >= 150:
				c = green // a quarter
			case x >= 100:
				c = blue
			case x == 99:
				c = color.NRGBA{200, 35, 60, 255} // an anti-aliased edge (0.5 %), nearer red
			}
			img.SetNRGBA(x, y, c)
		}
	}
	img.SetNRGBA(5, 5, color.NRGBA{25, 45, 190, 255}) // a stray pixel, nearer blue
	masks, colours, err := SplitLabels(img)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(colours, []color.NRGBA{red, blue, green}) {
		t.Fatalf("colours %v", colours)
	}
	at := func(m *image.Gray, x, y int) bool { return m.GrayAt(x, y).Y == 255 }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			want := 0
			switch {
			case x == 5 && y == 5:
				want = 1
			case x >= 150:
				want = 2
			case x >= 100:
				want = 1
			}
			for k, m := range masks {
				if at(m, x, y) != (k == want) {
					t.Fatalf("pixel (%d, %d) in region %d: %v, want region %d", x, y, k, at(m, x, y), want)
				}
			}
		}
	}
	// Masks encode as settings.
	s := Defaults()
	if err := s.Set("content_masks", FormatMask(masks[0])+","+FormatMask(masks[1])+","+FormatMask(masks[2])); err != nil || len(s.ContentMasks) != 3 {
		t.Fatalf("content_masks from labels: %v", err)
	}
}
