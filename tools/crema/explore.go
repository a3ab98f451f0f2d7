package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"strings"

	"github.com/crema-app/crema/model/transfer"
)

// exploreMain is `crema explore`: the layer explorer. For the style image
// it synthesises a texture from noise (content weight 0) with each of
// conv1_1 … conv5_1 alone and with the cumulative sets (conv1_1; conv1_1 +
// conv2_1; …), as in Gatys et al. 2015's first figure, and writes them as
// one captioned grid: the style and the starting noise, then one row each.
// Layers the weights lack are grey cells that say why. The tiles are
// transfer.Explore's, as the page's explorer has them.
func exploreMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommon("crema explore", stderr, "explore.png")
	c.noContent = true
	c.fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crema explore -style_image FILE [-weights FILE] [-image_size N] [-num_iterations N] [flags]\n"+
			"texture synthesis from noise with each style layer alone and the cumulative sets; the other flags apply to every tile")
		c.fs.PrintDefaults()
	}
	if err := c.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return usageFail(stderr, err)
	}
	if len(c.styles()) == 0 {
		return usageFail(stderr, errors.New("missing -style_image"))
	}
	job, err := loadJob(c, c.settings, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	sess, err := openSession(*c.backend, *c.weights, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer sess.Close()
	net := sess.Net()
	tiles := transfer.Explore(c.settings, net.Why)
	// The output takes the (first) style image's aspect.
	job.Content = job.Styles[0]
	first := -1
	for i, t := range tiles {
		if t.Disabled != "" {
			fmt.Fprintf(stderr, "crema: explore %s: disabled: %s\n", t.Caption, t.Disabled)
			continue
		}
		if first < 0 {
			first = i
		}
		if err := t.Settings.Validate(net); err != nil {
			return fail(stderr, fmt.Errorf("%s: %s", t.Caption, oneLine(err)))
		}
	}
	if first < 0 {
		return fail(stderr, errors.New("none of the explorer's layers (conv1_1 … conv5_1) is in the loaded weights"))
	}
	// The starting noise: the first tile's initial image (0 iterations).
	noise := tiles[first].Settings
	noise.Iterations = 0
	job.Settings = noise
	start, err := sess.Run(ctx, job, transfer.Hooks{})
	if err != nil {
		return fail(stderr, err)
	}
	w, h := start.Bounds().Dx(), start.Bounds().Dy()
	results := map[string]*image.RGBA{} // by layer set: conv1_1 alone is the first cumulative set
	var runs []int
	for i, t := range tiles {
		if key := strings.Join(t.Layers, "+"); t.Disabled == "" && results[key] == nil {
			results[key] = start // placeholder until it runs
			runs = append(runs, i)
		}
	}
	for n, i := range runs {
		t := tiles[i]
		fmt.Fprintf(stderr, "crema: explore %d/%d: %s (-style_layers %s -content_weight 0 -init random)\n", n+1, len(runs), t.Caption, transfer.FormatLayers(t.Settings.StyleLayers))
		bar := newProgressBar(stderr, t.Settings.Iterations, 0)
		job.Settings = t.Settings
		img, err := sess.Run(ctx, job, transfer.Hooks{Progress: bar.update})
		bar.finish()
		if err != nil {
			return fail(stderr, fmt.Errorf("%s: %s", t.Caption, oneLine(err)))
		}
		results[strings.Join(t.Layers, "+")] = img
	}
	var cells []cell
	for i, t := range tiles {
		if i == 0 {
			cells = append(cells, cell{img: job.Styles[0], caption: []string{"style"}})
		}
		if i == len(transfer.ExploreLayers) {
			cells = append(cells, cell{img: start, caption: []string{"start: noise"}})
		}
		caption := []string{t.Layers[len(t.Layers)-1] + " alone"}
		if t.Cumulative {
			caption = []string{t.Layers[0]}
			for _, l := range t.Layers[1:] {
				caption = append(caption, "+ "+l)
			}
		}
		if t.Disabled != "" {
			why := strings.TrimPrefix(t.Disabled, firstMissing(t.Disabled)+" is ")
			cells = append(cells, cell{img: textCell(w, h, "disabled: "+strings.ReplaceAll(why, "…", "...")), caption: caption})
			continue
		}
		cells = append(cells, cell{img: results[strings.Join(t.Layers, "+")], caption: caption})
	}
	grid := renderGrid(cells, w, h, len(transfer.ExploreLayers)+1)
	if err := writeImage(*c.output, grid); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintln(stdout, *c.output)
	return exitOK
}

// firstMissing is the layer a reason starts with ("conv4_1 is not in …").
func firstMissing(why string) string {
	name, _, _ := strings.Cut(why, " ")
	return name
}
