package transfer

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeImage(t *testing.T) {
	data := encodePNG(t, testImage(30, 20, 1))
	img, note, err := DecodeImage(bytes.NewReader(data))
	if err != nil || note != "" || img.Bounds().Dx() != 30 {
		t.Fatalf("png: %v %q %v", img.Bounds(), note, err)
	}
	if _, _, err := DecodeImage(strings.NewReader("hello, not an image")); err == nil ||
		err.Error() != "transfer: not an image crema can read (want PNG, JPEG or GIF)" {
		t.Fatalf("text: %v", err)
	}
	if _, _, err := DecodeImage(bytes.NewReader(data[:len(data)/2])); err == nil || !strings.HasPrefix(err.Error(), "transfer: corrupt png image: ") {
		t.Fatalf("truncated: %v", err)
	}
	// A header claiming 20000×20000 is refused before decoding.
	huge := append([]byte(nil), data...)
	binary.BigEndian.PutUint32(huge[16:], 20000)
	binary.BigEndian.PutUint32(huge[20:], 20000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	if _, _, err := DecodeImage(bytes.NewReader(huge)); err == nil ||
		err.Error() != "transfer: png image is 20000×20000 (400 megapixels), more than crema decodes (100)" {
		t.Fatalf("huge: %v", err)
	}
	// Wider than MaxInputSide: downscaled, and said so.
	wide := encodePNG(t, image.NewGray(image.Rect(0, 0, 5000, 10)))
	img, note, err = DecodeImage(bytes.NewReader(wide))
	if err != nil || img.Bounds().Dx() != 4096 || img.Bounds().Dy() != 8 || note != "downscaled from 5000×10 to 4096×8" {
		t.Fatalf("wide: %v %q %v", img.Bounds(), note, err)
	}
	if _, _, err := LoadImage("/nonexistent/cat.png"); err == nil || err.Error() != "transfer: /nonexistent/cat.png: no such file or directory" {
		t.Fatalf("missing file: %v", err)
	}
}

func TestResizeAndPlanar(t *testing.T) {
	if w, h := FitSize(451, 300, 128); w != 128 || h != 85 {
		t.Fatalf("FitSize = %d×%d", w, h)
	}
	if w, h := FitSize(300, 451, 128); w != 85 || h != 128 {
		t.Fatalf("FitSize = %d×%d", w, h)
	}
	src := testImage(40, 40, 2)
	small := Resize(src, 10, 10)
	if small.Bounds().Dx() != 10 {
		t.Fatal(small.Bounds())
	}
	// planar/toRGBA round trip is exact on 8-bit values.
	p := planar(src)
	back := toRGBA(p, 40, 40)
	if !bytes.Equal(back.Pix, src.Pix) {
		t.Fatal("planar → toRGBA changed the pixels")
	}
	// Bilinear upsampling of a constant stays constant; of a ramp stays in range.
	c := make([]float32, 3*4*4)
	for i := range c {
		c[i] = 7
	}
	for _, v := range resizePlanar(c, 3, 4, 4, 9, 7) {
		if d := v - 7; d > 1e-5 || d < -1e-5 {
			t.Fatalf("resizePlanar of a constant gave %g", v)
		}
	}
	// YIQ round trip.
	for i, v := range fromYIQ(yiq(p)) {
		if d := v - p[i]; d > 1e-3 || d < -1e-3 {
			t.Fatalf("YIQ round trip: %g vs %g", v, p[i])
		}
	}
}
