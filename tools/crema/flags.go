package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crema-app/crema/model/transfer"
)

// common holds the flags of both commands: one per transfer.Schema field
// (its name, CLI default and help, with its limits or choices), and the
// CLI's own (images, output, weights, backend).
type common struct {
	fs       *flag.FlagSet
	values   map[string]*string
	content  *string
	style    *string
	output   *string
	weights  *string
	backend  *string
	initImg  *string
	settings transfer.Settings
	explicit map[string]bool
	// noContent: the command takes no -content_image (explore).
	noContent bool
	// maskFiles are the mask images the mask flags named, for the notes
	// on their sizes once the images are loaded.
	maskFiles []maskFile
}

// maskFile is one mask image read from a file: which flag, which entry.
type maskFile struct {
	field string // content_masks or style_masks
	index int    // entry (0 = the first)
	path  string
	w, h  int // its size in the file
}

// usage is a field's help with its limits or choices.
func usage(f *transfer.Field) string {
	switch {
	case f.Kind == transfer.Choice:
		return fmt.Sprintf("%s (%s)", f.Help, strings.Join(f.Choices, ", "))
	case f.Range() != "":
		return fmt.Sprintf("%s (%s)", f.Help, f.Range())
	}
	return f.Help
}

// newCommon registers the shared flags on a new flag set.
func newCommon(name string, stderr io.Writer, output string) *common {
	c := &common{fs: flag.NewFlagSet(name, flag.ContinueOnError), values: map[string]*string{}}
	c.fs.SetOutput(stderr)
	for i := range transfer.Schema {
		f := &transfer.Schema[i]
		if !f.PageOnly {
			c.values[f.Name] = c.fs.String(f.Name, f.CLI, usage(f))
		}
	}
	c.content = c.fs.String("content_image", "", "content image (PNG, JPEG or GIF)")
	c.style = c.fs.String("style_image", "", "comma list of style images")
	c.output = c.fs.String("output_image", output, "output PNG or JPEG")
	c.weights = c.fs.String("weights", filepath.Join("weights", "vgg19.json"), "crema weights manifest (make weights puts it here)")
	c.backend = c.fs.String("backend", "cpu", "compute backend: cpu or naive")
	c.initImg = c.fs.String("init_image", "", "start from this image")
	return c
}

// parse parses args and builds the settings: Defaults, then every setting
// flag the user gave (transfer.Settings.SetValues checks each against the
// schema), then the checks of the CLI's own flags.
func (c *common) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with -)", c.fs.Arg(0))
	}
	c.explicit = map[string]bool{}
	values := map[string]string{}
	masks := map[string]string{}
	c.fs.Visit(func(f *flag.Flag) {
		c.explicit[f.Name] = true
		if fd, ok := transfer.Lookup(f.Name); ok && fd.Kind == transfer.Masks {
			masks[f.Name] = f.Value.String() // read once the size is known
			return
		}
		if _, ok := c.values[f.Name]; ok && !(f.Name == "seed" && f.Value.String() == "-1") {
			values[f.Name] = f.Value.String()
		}
	})
	if *c.initImg != "" && c.explicit["init"] && *c.values["init"] != "image" {
		return fmt.Errorf("-init %s contradicts -init_image %s", *c.values["init"], *c.initImg)
	}
	s := transfer.Defaults()
	if errs := s.SetValues(values); len(errs) > 0 {
		return settingError(errs[0])
	}
	for _, name := range []string{"content_masks", "style_masks"} {
		v, ok := masks[name]
		if !ok {
			continue
		}
		text, err := c.readMasks(name, v, s.ImageSize)
		if err != nil {
			return err
		}
		if errs := s.SetValues(map[string]string{name: text}); len(errs) > 0 {
			return settingError(errs[0])
		}
	}
	if *c.initImg != "" {
		s.Init = "given"
	}
	if s.Init == "given" && *c.initImg == "" {
		return errors.New("-init given needs -init_image")
	}
	switch {
	case *c.content == "" && !c.noContent:
		return errors.New("missing -content_image")
	case *c.content != "" && c.noContent:
		return fmt.Errorf("-content_image: %s takes no content image", c.fs.Name())
	}
	ext := strings.ToLower(filepath.Ext(*c.output))
	if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
		return fmt.Errorf("-output_image %s: want a .png, .jpg or .jpeg name", *c.output)
	}
	c.settings = s
	return nil
}

// settingError is a refused setting as the CLI says it.
func settingError(e transfer.FieldError) error {
	msg := strings.TrimPrefix(e.Message, "transfer: ")
	if strings.HasPrefix(msg, e.Name+":") {
		msg = "-" + msg // "-image_size: "big" is not a whole number"
	}
	return errors.New(msg)
}

// readMasks reads a mask flag (neural-style's forks: one mask image per
// style image, white = where it applies): each entry that names a file (it
// has a '.', '/' or a backslash, which encoded masks never have, or exists) is
// read and encoded as the settings carry masks, downscaled to fit
// imageSize; other entries are already encoded (a link's text) and are
// kept. Empty entries are kept.
func (c *common) readMasks(name, v string, imageSize int) (string, error) {
	role := strings.TrimSuffix(strings.ReplaceAll(name, "_", " "), "s") // "content mask"
	parts := strings.Split(v, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		parts[i] = p
		if p == "" {
			continue
		}
		_, statErr := os.Stat(p)
		if statErr != nil && !strings.ContainsAny(p, `./\`) {
			continue // encoded
		}
		img, _, err := transfer.LoadImage(p)
		if err != nil {
			return "", fmt.Errorf("%s: %s", role, oneLine(err))
		}
		if !slices.ContainsFunc(transfer.MaskOf(img).Pix, func(v uint8) bool { return v != 0 }) {
			return "", fmt.Errorf("%s %s is black everywhere (an empty region)", role, p)
		}
		b := img.Bounds()
		c.maskFiles = append(c.maskFiles, maskFile{field: name, index: i, path: p, w: b.Dx(), h: b.Dy()})
		if max(b.Dx(), b.Dy()) > imageSize {
			w, h := transfer.FitSize(b.Dx(), b.Dy(), imageSize)
			img = transfer.Resize(img, w, h)
		}
		parts[i] = transfer.FormatMask(img)
	}
	return strings.Join(parts, ","), nil
}

// styles splits -style_image.
func (c *common) styles() []string {
	var out []string
	for _, p := range strings.Split(*c.style, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
