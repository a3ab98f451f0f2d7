package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // register GIF for DecodeImage
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io"
	"math"
	"os"
	"strings"

	"golang.org/x/image/draw"
)

// Input image limits: DecodeImage refuses images of more than
// MaxDecodePixels (before decoding them) and downscales any whose long side
// exceeds MaxInputSide.
const (
	MaxDecodePixels = 100_000_000
	MaxInputSide    = 4096
)

// DecodeImage decodes a PNG, JPEG or GIF from r. Images with a long side
// above MaxInputSide are downscaled to it and note says so ("downscaled from
// 8000×6000 to 4096×3072"); note is empty otherwise. Errors are one line:
// not an image, corrupt, or too large to decode.
func DecodeImage(r io.Reader) (img image.Image, note string, err error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, "", fmt.Errorf("transfer: reading image: %w", err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, "", fmt.Errorf("transfer: not an image crema can read (want PNG, JPEG or GIF)")
		}
		return nil, "", fmt.Errorf("transfer: corrupt image header: %v", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return nil, "", fmt.Errorf("transfer: %s image is empty (%d×%d)", format, cfg.Width, cfg.Height)
	}
	if px := float64(cfg.Width) * float64(cfg.Height); px > MaxDecodePixels {
		return nil, "", fmt.Errorf("transfer: %s image is %d×%d (%.0f megapixels), more than crema decodes (%d)",
			format, cfg.Width, cfg.Height, px/1e6, MaxDecodePixels/1_000_000)
	}
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("transfer: corrupt %s image: %s", format, strings.TrimPrefix(err.Error(), format+": "))
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if max(w, h) > MaxInputSide {
		nw, nh := FitSize(w, h, MaxInputSide)
		img = Resize(img, nw, nh)
		note = fmt.Sprintf("downscaled from %d×%d to %d×%d", w, h, nw, nh)
	}
	return img, note, nil
}

// LoadImage is DecodeImage of the file at path; errors name the file.
func LoadImage(path string) (image.Image, string, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, "", fmt.Errorf("transfer: %s: %v", path, err)
	}
	defer f.Close()
	img, note, err := DecodeImage(f)
	if err != nil {
		return nil, "", fmt.Errorf("transfer: %s: %s", path, trimPrefix(err))
	}
	return img, note, nil
}

func trimPrefix(err error) string {
	const p = "transfer: "
	s := err.Error()
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// FitSize scales w×h so that its long side is long, keeping the aspect
// ratio (each side at least 1).
func FitSize(w, h, long int) (int, int) {
	if w >= h {
		return long, max(1, int(math.Round(float64(h)*float64(long)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(long)/float64(h)))), long
}

// Resize returns src scaled to w×h with a Catmull-Rom filter (widened when
// shrinking, so that downscaling averages rather than aliases).
func Resize(src image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return dst
}

// planar returns img as RGB planes [3, H, W] with values in [0, 1]
// (alpha is dropped; transparent pixels read as their colour).
func planar(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, 3*w*h) // [3, H, W]
	plane := w * h
	nrgba, ok := img.(*image.NRGBA)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var r, g, bl float32
			if ok {
				p := nrgba.PixOffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl = float32(nrgba.Pix[p])/255, float32(nrgba.Pix[p+1])/255, float32(nrgba.Pix[p+2])/255
			} else {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				r, g, bl = float32(c.R)/255, float32(c.G)/255, float32(c.B)/255
			}
			i := y*w + x
			out[i], out[plane+i], out[2*plane+i] = r, g, bl
		}
	}
	return out
}

// toRGBA clips planes p: [3, H, W] (RGB in [0, 1] units) into an image.
func toRGBA(p []float32, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	plane := w * h
	q := func(v float32) uint8 {
		v = v*255 + 0.5
		switch {
		case !(v >= 0): // NaN too
			return 0
		case v >= 255:
			return 255
		}
		return uint8(v)
	}
	for i := 0; i < plane; i++ {
		img.Pix[4*i] = q(p[i])
		img.Pix[4*i+1] = q(p[plane+i])
		img.Pix[4*i+2] = q(p[2*plane+i])
		img.Pix[4*i+3] = 255
	}
	return img
}

// resizePlanar resamples planes p: [C, H, W] to [C, h2, w2] bilinearly
// (pixel centres aligned), without clipping: coarse-to-fine upsamples the
// optimised image in the network's units with it.
func resizePlanar(p []float32, c, h, w, h2, w2 int) []float32 {
	out := make([]float32, c*h2*w2) // [C, h2, w2]
	sy, sx := float64(h)/float64(h2), float64(w)/float64(w2)
	for ch := 0; ch < c; ch++ {
		src := p[ch*h*w : (ch+1)*h*w]
		dst := out[ch*h2*w2 : (ch+1)*h2*w2]
		for y := 0; y < h2; y++ {
			fy := math.Max(0, (float64(y)+0.5)*sy-0.5)
			y0 := min(int(fy), h-1)
			y1 := min(y0+1, h-1)
			ty := float32(fy - float64(y0))
			for x := 0; x < w2; x++ {
				fx := math.Max(0, (float64(x)+0.5)*sx-0.5)
				x0 := min(int(fx), w-1)
				x1 := min(x0+1, w-1)
				tx := float32(fx - float64(x0))
				top := src[y0*w+x0]*(1-tx) + src[y0*w+x1]*tx
				bot := src[y1*w+x0]*(1-tx) + src[y1*w+x1]*tx
				dst[y*w2+x] = top*(1-ty) + bot*ty
			}
		}
	}
	return out
}
