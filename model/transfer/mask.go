package transfer

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Masks are settings, so that a link, the worker's settings messages, the
// CLI's flags and a comparison's variants carry them like any other value.
// One mask is text: the base64url encoding (RFC 4648 §5, without padding)
// of a PNG whose grey level is the weight (white = 1: the region's style
// applies; black = 0; transparent reads as black). Any PNG (or JPEG, GIF)
// is read; FormatMask writes a paletted grey PNG of 1 bit a pixel when the
// mask is black and white, else of 4 bits (16 levels, steps of 1/15, for
// soft edges). Deflate turns a painted mask's long runs into a few bytes:
// an ellipse and its complement on a 256×171 image take 1,100 characters
// with hard edges, 2,600 with soft ones. A browser can make one (canvas.toDataURL) and show one
// without Go. A field of kind Masks is a comma list of them (base64url has
// no comma).

// MaxMaskText is the longest encoded mask ParseMask reads.
const MaxMaskText = 8 << 20

// ParseMask reads one encoded mask (see FormatMask). It also accepts
// padding and the standard base64 alphabet ('+', '/'), as a data URL's
// payload has them. Masks larger than MaxInputSide are downscaled.
func ParseMask(text string) (*image.Gray, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("transfer: empty mask")
	}
	if len(text) > MaxMaskText {
		return nil, fmt.Errorf("transfer: mask text is %d characters, more than %d", len(text), MaxMaskText)
	}
	t := strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(text, "="))
	data, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("transfer: mask %q is not base64url text (%v)", short(text), err)
	}
	img, _, err := DecodeImage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("transfer: mask %q: %s", short(text), trimPrefix(err))
	}
	return MaskOf(img), nil
}

// short is the start of a long text, for messages.
func short(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// FormatMask encodes m's grey levels as ParseMask reads them: a paletted
// grey PNG (1 bit a pixel for a black-and-white mask, else 4 bits: 16
// levels), best compression, in base64url without padding.
func FormatMask(m image.Image) string {
	g := MaskOf(m)
	levels := 2
	for _, v := range g.Pix {
		if v != 0 && v != 255 {
			levels = 16
			break
		}
	}
	step := 255 / (levels - 1) // 255 or 17
	pal := make(color.Palette, levels)
	for i := range pal {
		pal[i] = color.Gray{uint8(i * step)}
	}
	p := image.NewPaletted(g.Rect, pal)
	for i, v := range g.Pix {
		p.Pix[i] = uint8((int(v) + step/2) / step)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, p); err != nil {
		panic("transfer: encoding a mask: " + err.Error()) // writes to memory do not fail
	}
	return base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

// MaskOf returns img's grey levels as a mask: white = 1, black = 0, alpha
// multiplied in (a transparent pixel is black).
func MaskOf(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			g.SetGray(x, y, color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray))
		}
	}
	return g
}

// maskPlane returns m resized to w×h (stretched when its aspect differs, as
// neural-style's forks do) as weights [h, w] in [0, 1].
func maskPlane(m *image.Gray, w, h int) []float32 {
	src := image.Image(m)
	if b := m.Bounds(); b.Dx() != w || b.Dy() != h {
		src = Resize(m, w, h)
	}
	out := make([]float32, w*h) // [h, w]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, _, _, _ := src.At(x, y).RGBA()
			out[y*w+x] = float32(r) / 0xffff
		}
	}
	return out
}

// blank reports a mask that is black everywhere.
func blank(m *image.Gray) bool {
	for _, v := range m.Pix {
		if v != 0 {
			return false
		}
	}
	return true
}

// parseMasks reads a Masks field's text: a comma list of encoded masks.
// Empty entries are kept (as "") when allowEmpty, refused otherwise.
func parseMasks(name, v string, allowEmpty bool) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []string
	for i, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			if !allowEmpty {
				return nil, fmt.Errorf("transfer: %s: mask %d is empty", name, i+1)
			}
			out = append(out, "")
			continue
		}
		m, err := ParseMask(part)
		if err != nil {
			return nil, fmt.Errorf("transfer: %s: mask %d: %s", name, i+1, trimPrefix(err))
		}
		if blank(m) {
			return nil, fmt.Errorf("transfer: %s: mask %d is black everywhere (an empty region)", name, i+1)
		}
		out = append(out, part)
	}
	return out, nil
}

// RegionStyle is the style of one content mask's region: style images by
// number (1 = the first) blended by style_blend_weights, and the region's
// weight, which multiplies its style loss.
type RegionStyle struct {
	Styles []int   `json:"styles"`
	Weight float64 `json:"weight"`
}

// ParseRegions reads region_styles: one entry per content mask, separated
// by commas, each style numbers joined by '+' and an optional ":weight"
// (default 1): "1,2+3:0.5".
func ParseRegions(v string) ([]RegionStyle, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []RegionStyle
	for i, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		styles, ws, hasW := strings.Cut(part, ":")
		r := RegionStyle{Weight: 1}
		if hasW {
			w, err := strconv.ParseFloat(strings.TrimSpace(ws), 64)
			if err != nil || !(w >= 0) || math.IsInf(w, 0) {
				return nil, fmt.Errorf("transfer: region_styles: region %d has weight %q; want a finite number ≥ 0", i+1, strings.TrimSpace(ws))
			}
			r.Weight = w
		}
		for _, p := range strings.Split(styles, "+") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("transfer: region_styles: region %d names style %q; want style numbers from 1, joined by + (e.g. 1+2:0.5)", i+1, strings.TrimSpace(p))
			}
			for _, s := range r.Styles {
				if s == n {
					return nil, fmt.Errorf("transfer: region_styles: region %d lists style %d twice", i+1, n)
				}
			}
			r.Styles = append(r.Styles, n)
		}
		out = append(out, r)
	}
	return out, nil
}

// FormatRegions writes regions as ParseRegions reads them.
func FormatRegions(regions []RegionStyle) string {
	parts := make([]string, len(regions))
	for i, r := range regions {
		nums := make([]string, len(r.Styles))
		for j, n := range r.Styles {
			nums[j] = strconv.Itoa(n)
		}
		parts[i] = strings.Join(nums, "+")
		if r.Weight != 1 {
			parts[i] += ":" + formatFloat(r.Weight)
		}
	}
	return strings.Join(parts, ",")
}

// exampleMask is a valid mask for Field.Example: 4×2, the left half white.
func exampleMask() string {
	m := image.NewGray(image.Rect(0, 0, 4, 2))
	for y := 0; y < 2; y++ {
		m.Pix[y*4], m.Pix[y*4+1] = 255, 255
	}
	return FormatMask(m)
}

// MaxLabelRegions is the most regions SplitLabels finds in a label image.
const MaxLabelRegions = 8

// SplitLabels splits a label image — one colour per region, as a mask
// painted or uploaded on the page has it — into one black-and-white mask
// per region. The regions are the colours that cover at least 1 % of the
// pixels, most common first (ties by colour), at most MaxLabelRegions;
// every pixel goes to the nearest of them (RGBA distance), so that
// anti-aliased edges and JPEG noise join a region. It returns the masks
// and each region's colour.
func SplitLabels(img image.Image) ([]*image.Gray, []color.NRGBA, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 {
		return nil, nil, fmt.Errorf("transfer: the label image is empty")
	}
	px := make([]color.NRGBA, w*h) // [h, w]
	count := map[color.NRGBA]int{}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			px[y*w+x] = c
			count[c]++
		}
	}
	var colours []color.NRGBA
	for c, n := range count {
		if 100*n >= w*h {
			colours = append(colours, c)
		}
	}
	key := func(c color.NRGBA) uint32 { return uint32(c.R)<<24 | uint32(c.G)<<16 | uint32(c.B)<<8 | uint32(c.A) }
	slices.SortFunc(colours, func(a, b color.NRGBA) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return cmp.Compare(key(a), key(b))
	})
	if len(colours) > MaxLabelRegions {
		colours = colours[:MaxLabelRegions]
	}
	if len(colours) == 0 { // no colour covers 1 %: noise, not labels
		return nil, nil, fmt.Errorf("transfer: the label image has no colour covering 1 %% of it (want one flat colour per region)")
	}
	masks := make([]*image.Gray, len(colours))
	for i := range masks {
		masks[i] = image.NewGray(image.Rect(0, 0, w, h))
	}
	for i, c := range px {
		best, bestD := 0, math.MaxInt
		for k, r := range colours {
			d := sq(int(c.R)-int(r.R)) + sq(int(c.G)-int(r.G)) + sq(int(c.B)-int(r.B)) + sq(int(c.A)-int(r.A))
			if d < bestD {
				best, bestD = k, d
			}
		}
		masks[best].Pix[i] = 255
	}
	return masks, colours, nil
}

func sq(v int) int { return v * v }
