package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/crema-app/crema/model/transfer"
)

// settingFlags are the flags that map one-to-one onto transfer.Settings.Set
// keys, with their help text. Defaults come from transfer.Defaults.
var settingFlags = []struct{ name, help string }{
	{"image_size", "long side of the output image, pixels"},
	{"num_iterations", "optimiser iterations"},
	{"content_weight", "α, the content loss weight"},
	{"style_weight", "β, the style loss weight"},
	{"tv_weight", "γ, the total-variation weight"},
	{"content_layers", "comma list of content layers"},
	{"style_layers", "style layers with weights, e.g. conv1_1:0.8,conv2_1:0.2 (no weights: equal shares); excludes -preset"},
	{"preset", "style-layer preset: even, early or late (used when -style_layers is not given)"},
	{"style_stat", "style statistic: gram, cov, meanstd or mmd"},
	{"style_cost", "style cost: mse or swd (sliced Wasserstein; takes no -style_stat)"},
	{"style_blend_weights", "comma list of weights, one per style image (default equal)"},
	{"style_scale", "style image size relative to -image_size"},
	{"original_colors", "1 keeps the content's colours (luminance-only transfer)"},
	{"init", "initial image: image (the content) or random; -init_image gives one"},
	{"optimizer", "lbfgs or adam"},
	{"learning_rate", "Adam's learning rate, in 0–255 pixel levels"},
	{"lbfgs_num_correction", "L-BFGS history length"},
	{"pooling", "max or avg"},
	{"seed", "random seed (random init, swd directions); -1 picks one"},
	{"coarse_to_fine", "1 runs half the iterations at half size first"},
}

// common holds the flags of both commands.
type common struct {
	fs       *flag.FlagSet
	values   map[string]*string
	content  *string
	style    *string
	output   *string
	weights  *string
	backend  *string
	initImg  *string
	printIt  *int
	saveIt   *int
	logFile  *string
	settings transfer.Settings
	explicit map[string]bool
}

func defaultText(d transfer.Settings, name string) string {
	switch name {
	case "image_size":
		return strconv.Itoa(d.ImageSize)
	case "num_iterations":
		return strconv.Itoa(d.Iterations)
	case "content_weight":
		return fmtF(d.ContentWeight)
	case "style_weight":
		return fmtF(d.StyleWeight)
	case "tv_weight":
		return fmtF(d.TVWeight)
	case "content_layers":
		return strings.Join(d.ContentLayers, ",")
	case "preset":
		return d.Preset
	case "style_stat":
		return d.StyleStat
	case "style_cost":
		return d.StyleCost
	case "style_scale":
		return fmtF(d.StyleScale)
	case "original_colors", "coarse_to_fine":
		return "0"
	case "init":
		return d.Init
	case "optimizer":
		return d.Optimizer
	case "learning_rate":
		return fmtF(d.LearningRate)
	case "lbfgs_num_correction":
		return strconv.Itoa(d.LBFGSHistory)
	case "pooling":
		return d.Pooling
	case "seed":
		return strconv.FormatInt(d.Seed, 10)
	}
	return ""
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// newCommon registers the shared flags on a new flag set.
func newCommon(name string, stderr io.Writer, output string) *common {
	c := &common{fs: flag.NewFlagSet(name, flag.ContinueOnError), values: map[string]*string{}}
	c.fs.SetOutput(stderr)
	d := transfer.Defaults()
	for _, f := range settingFlags {
		c.values[f.name] = c.fs.String(f.name, defaultText(d, f.name), f.help)
	}
	c.content = c.fs.String("content_image", "", "content image (PNG, JPEG or GIF)")
	c.style = c.fs.String("style_image", "", "comma list of style images")
	c.output = c.fs.String("output_image", output, "output PNG or JPEG")
	c.weights = c.fs.String("weights", filepath.Join("weights", "vgg19.json"), "crema weights manifest (make weights puts it here)")
	c.backend = c.fs.String("backend", "cpu", "compute backend: cpu or naive")
	c.initImg = c.fs.String("init_image", "", "start from this image")
	return c
}

// parse parses args and builds the settings: Defaults, then every flag the
// user gave, then the checks that need to know which flags were given.
func (c *common) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with -)", c.fs.Arg(0))
	}
	c.explicit = map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { c.explicit[f.Name] = true })
	if c.explicit["preset"] && c.explicit["style_layers"] {
		return errors.New("give -style_layers or -preset, not both")
	}
	if *c.initImg != "" && c.explicit["init"] && *c.values["init"] != "image" {
		return fmt.Errorf("-init %s contradicts -init_image %s", *c.values["init"], *c.initImg)
	}
	s := transfer.Defaults()
	for _, f := range settingFlags {
		v := *c.values[f.name]
		if f.name == "seed" && v == "-1" {
			continue // chosen by the caller
		}
		if !c.explicit[f.name] {
			continue
		}
		if err := s.Set(f.name, v); err != nil {
			return fmt.Errorf("-%s", strings.TrimPrefix(err.Error(), "transfer: "))
		}
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
