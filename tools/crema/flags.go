package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
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
	c.fs.Visit(func(f *flag.Flag) {
		c.explicit[f.Name] = true
		if _, ok := c.values[f.Name]; ok && !(f.Name == "seed" && f.Value.String() == "-1") {
			values[f.Name] = f.Value.String()
		}
	})
	if *c.initImg != "" && c.explicit["init"] && *c.values["init"] != "image" {
		return fmt.Errorf("-init %s contradicts -init_image %s", *c.values["init"], *c.initImg)
	}
	s := transfer.Defaults()
	if errs := s.SetValues(values); len(errs) > 0 {
		msg := strings.TrimPrefix(errs[0].Message, "transfer: ")
		if strings.HasPrefix(msg, errs[0].Name+":") {
			msg = "-" + msg // "-image_size: "big" is not a whole number"
		}
		return errors.New(msg)
	}
	if *c.initImg != "" {
		s.Init = "given"
	}
	if s.Init == "given" && *c.initImg == "" {
		return errors.New("-init given needs -init_image")
	}
	if *c.content == "" {
		return errors.New("missing -content_image")
	}
	ext := strings.ToLower(filepath.Ext(*c.output))
	if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
		return fmt.Errorf("-output_image %s: want a .png, .jpg or .jpeg name", *c.output)
	}
	c.settings = s
	return nil
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
