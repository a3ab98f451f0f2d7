package transfer

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/optim"
	"github.com/crema-app/crema/model/style"
)

// Loop constants.
const (
	// divergeFactor: a loss this many times the best so far is divergence.
	divergeFactor = 100
	// maxRollbacks: after this many rollbacks the run stops with the last
	// good image.
	maxRollbacks = 5
	// snapshotEvery: iterations between host copies of the image while a
	// Fallback is set.
	snapshotEvery = 10
)

// Run optimises an image for job on net (whose backend is b) and returns the
// final image, clipped to [0, 1]. Zero settings fields take Defaults' values
// where zero means nothing (sizes, names); Settings.Validate's errors are
// returned first. Cancelling ctx stops the run and returns the current image
// with ctx's error. NaN or a diverging loss rolls back to the last good image
// and restarts the optimiser (Adam at half the learning rate), with a Note
// on the next Progress. If b reports an error wrapping kernels.ErrDevice —
// the GPU was lost, or reported a validation, out-of-memory or internal
// error, or could not allocate what the run needs — and hooks.Fallback is
// set, the run continues on the fallback from the last host snapshot, with
// a Note that says why.
func Run(ctx context.Context, b kernels.Backend, net *model.Net, job Job, hooks Hooks) (*image.RGBA, error) {
	if net == nil {
		return nil, errors.New("transfer: no network")
	}
	if b != net.Backend() {
		return nil, fmt.Errorf("transfer: the network is on backend %s, not %s", net.Backend().Name(), b.Name())
	}
	s := job.Settings.normalized()
	if err := s.Validate(net); err != nil {
		return nil, err
	}
	layers := s.styleInUse()
	if err := checkJob(job, s, len(layers) > 0); err != nil {
		return nil, err
	}
	r := &runner{ctx: ctx, hooks: hooks, s: s, layers: layers, job: job, b: b, net: net,
		start: time.Now(), rng: rand.New(rand.NewPCG(uint64(s.Seed), 0xc0ffee))}
	if len(layers) > 0 {
		if err := r.planRegions(); err != nil {
			return nil, err
		}
	}
	// The memory model (memory.go): refuse before any work what cannot
	// fit, tile what fits only in tiles (tile.go).
	plan, err := PlanRun(b, net, s, ShapeOf(job))
	if err != nil {
		return nil, err
	}
	if !plan.Fits {
		return nil, errors.New(plan.Reason)
	}
	r.plan = plan
	return r.run()
}

// regionPlan is one region of a run: its content mask (an index into
// runner.cmasks, -1 for the whole image), its style images (indices into
// Job.Styles) and its weight.
type regionPlan struct {
	mask   int
	styles []int
	weight float64
}

// planRegions decodes the masks and lists the regions: the whole image with
// every style when there are no content masks; else one region per mask,
// taking style i (mask i) or region_styles' choice.
func (r *runner) planRegions() error {
	s := r.s
	for i, text := range s.ContentMasks {
		m, err := ParseMask(text)
		if err != nil {
			return fmt.Errorf("transfer: content_masks: mask %d: %s", i+1, trimPrefix(err))
		}
		r.cmasks = append(r.cmasks, m)
	}
	r.smasks = make([]*image.Gray, len(r.job.Styles))
	for i, text := range s.StyleMasks {
		if text == "" {
			continue
		}
		m, err := ParseMask(text)
		if err != nil {
			return fmt.Errorf("transfer: style_masks: mask %d: %s", i+1, trimPrefix(err))
		}
		r.smasks[i] = m
	}
	r.regions = regionList(s, len(r.job.Styles))
	return nil
}

// regionList lists the regions of s with nStyles style images (the memory
// model reads them without the masks).
func regionList(s Settings, nStyles int) []regionPlan {
	var regions []regionPlan
	switch {
	case len(s.ContentMasks) == 0:
		all := make([]int, nStyles)
		for i := range all {
			all[i] = i
		}
		regions = []regionPlan{{mask: -1, styles: all, weight: 1}}
	case len(s.RegionStyles) == 0:
		for i := range s.ContentMasks {
			regions = append(regions, regionPlan{mask: i, styles: []int{i}, weight: 1})
		}
	default:
		for i, rs := range s.RegionStyles {
			p := regionPlan{mask: i, weight: rs.Weight}
			for _, n := range rs.Styles {
				p.styles = append(p.styles, n-1)
			}
			regions = append(regions, p)
		}
	}
	return regions
}

func checkJob(job Job, s Settings, styled bool) error {
	if job.Content == nil {
		return errors.New("transfer: no content image")
	}
	if styled && len(job.Styles) == 0 {
		return errors.New("transfer: no style image")
	}
	for i, img := range append(append([]image.Image{job.Content}, job.Styles...), job.Init) {
		if img == nil {
			if i > 0 && i <= len(job.Styles) {
				return fmt.Errorf("transfer: style image %d is missing", i)
			}
			continue
		}
		if r := img.Bounds(); r.Dx() < 1 || r.Dy() < 1 {
			return errors.New("transfer: an input image is empty")
		}
	}
	if len(s.StyleBlend) > 0 && len(s.StyleBlend) != len(job.Styles) {
		return fmt.Errorf("transfer: %d style_blend_weights for %d style images", len(s.StyleBlend), len(job.Styles))
	}
	if s.Init == "given" && job.Init == nil {
		return errors.New("transfer: init is given but there is no init image")
	}
	if !styled {
		return nil
	}
	if n := len(s.ContentMasks); n > 0 && len(s.RegionStyles) == 0 && n != len(job.Styles) {
		return fmt.Errorf("transfer: %d content_masks for %d style images (one mask per style image, or region_styles to say which style each region takes)", n, len(job.Styles))
	}
	for i, rs := range s.RegionStyles {
		for _, n := range rs.Styles {
			if n > len(job.Styles) {
				return fmt.Errorf("transfer: region %d takes style %d, but there are %d style images", i+1, n, len(job.Styles))
			}
		}
	}
	if len(s.StyleMasks) > len(job.Styles) {
		return fmt.Errorf("transfer: %d style_masks for %d style images", len(s.StyleMasks), len(job.Styles))
	}
	return nil
}

// runner is one Run.
type runner struct {
	ctx    context.Context
	hooks  Hooks
	s      Settings
	layers []LayerWeight
	job    Job
	b      kernels.Backend
	net    *model.Net
	start  time.Time
	rng    *rand.Rand

	iter      int
	note      string    // for the next Progress
	snapX     []float32 // host copy of the image (network units) at snapIter
	snapIter  int
	fellBack  bool
	rollbacks int

	// Regions (planRegions): decoded content masks, style masks (one per
	// style image, nil for all of it) and the regions.
	cmasks  []*image.Gray
	smasks  []*image.Gray
	regions []regionPlan

	plan Plan // the memory model's plan: which stages are tiled (memory.go)
}

// stagePlan is one image size and the iteration it runs up to (tile: the
// tile side of a tiled stage, tile.go).
type stagePlan struct{ w, h, until, tile int }

func (r *runner) run() (*image.RGBA, error) {
	s := r.s
	cb := r.job.Content.Bounds()
	w, h := FitSize(cb.Dx(), cb.Dy(), s.ImageSize)
	plans := []stagePlan{{w: w, h: h, until: s.Iterations}}
	if s.coarseToFine(w, h) {
		plans = []stagePlan{{w: max(1, w/2), h: max(1, h/2), until: s.Iterations / 2}, {w: w, h: h, until: s.Iterations}}
	}
	for i := range plans {
		if i < len(r.plan.Stages) {
			plans[i].tile = r.plan.Stages[i].Tile
		}
	}
	var x []float32 // [3, h, w]: network units, carried between stages
	for i, p := range plans {
		in := r.prepare(p.w, p.h)
		if i == 0 {
			x = r.initial(in)
		} else {
			prev := plans[i-1]
			x = resizePlanar(x, 3, prev.h, prev.w, p.h, p.w)
			r.note = joinNote(r.note, fmt.Sprintf("coarse-to-fine: continuing at %d×%d from iteration %d", p.w, p.h, r.iter))
		}
		if p.tile > 0 { // tile.go
			var img *image.RGBA
			var err error
			if x, img, err = r.runTiled(in, x, p.until, i == len(plans)-1, p.tile); img != nil || err != nil || i == len(plans)-1 {
				return img, err
			}
			continue
		}
		st, img, err := r.runStage(in, x, p.until, i == len(plans)-1)
		if st == nil || img != nil || err != nil || i == len(plans)-1 {
			if st != nil {
				st.free()
			}
			return img, err
		}
		if x, err = st.readX(); err != nil {
			// Lost between stages: carry on from the snapshot if possible.
			if r.snapX == nil {
				st.free()
				return nil, err
			}
			x = r.snapX
		}
		st.free()
	}
	return nil, nil
}

// prepare makes the host images for one stage size: the content, the style
// images (at style_scale), recoloured by color_control and reduced to
// luminance by original_colors, and the masks at their images' sizes.
func (r *runner) prepare(w, h int) *inputs {
	s := r.s
	in := &inputs{w: w, h: h}
	in.colour = planar(Resize(r.job.Content, w, h))
	styled := len(r.layers) > 0
	if styled || (s.ColorControl == ColorKeepStyle && len(r.job.Styles) > 0) {
		long := max(MinImageSize/2, int(math.Round(s.StyleScale*float64(max(w, h)))))
		for i, img := range r.job.Styles {
			b := img.Bounds()
			sw, sh := FitSize(b.Dx(), b.Dy(), long)
			in.styles = append(in.styles, planar(Resize(img, sw, sh)))
			in.sizes = append(in.sizes, [2]int{sw, sh})
			wt := 1.0
			if len(s.StyleBlend) > 0 {
				wt = s.StyleBlend[i]
			}
			in.blend = append(in.blend, wt)
		}
	}
	switch s.ColorControl {
	case ColorMatchContent:
		target := statsOf(in.colour)
		for i := range in.styles {
			in.styles[i] = clip01(matchColors(in.styles[i], target))
		}
	case ColorKeepStyle:
		if len(in.styles) > 0 {
			stats := make([]colorStats, len(in.styles))
			for i, p := range in.styles {
				stats[i] = statsOf(p)
			}
			in.colour = clip01(matchColors(in.colour, mixStats(stats, in.blend)))
		}
	}
	in.content = in.colour
	if s.OriginalColors {
		cm, csd := meanStd(yiq(in.colour)[:w*h])
		in.content = grey(in.colour, 0, 0)
		for i := range in.styles {
			in.styles[i] = grey(in.styles[i], cm, csd)
		}
	}
	if !styled {
		in.styles, in.sizes, in.blend = nil, nil, nil
		return in
	}
	for i, sz := range in.sizes {
		var m []float32
		if r.smasks[i] != nil {
			m = maskPlane(r.smasks[i], sz[0], sz[1])
		}
		in.styleMasks = append(in.styleMasks, m)
	}
	for _, rg := range r.regions {
		var m []float32
		if rg.mask >= 0 {
			m = maskPlane(r.cmasks[rg.mask], w, h)
		}
		in.regions = append(in.regions, region{mask: m, styles: rg.styles, weight: rg.weight})
	}
	return in
}

// initial is the starting image in network units.
func (r *runner) initial(in *inputs) []float32 {
	var rgb []float32
	switch r.s.Init {
	case "random":
		rgb = make([]float32, 3*in.w*in.h)
		for i := range rgb {
			rgb[i] = r.rng.Float32()
		}
		if r.s.OriginalColors {
			rgb = grey(rgb, 0, 0)
		}
	case "given":
		rgb = planar(Resize(r.job.Init, in.w, in.h))
		if r.s.OriginalColors {
			rgb = grey(rgb, 0, 0)
		}
	default:
		rgb = in.content
	}
	x := make([]float32, len(rgb))
	model.ToInput(x, rgb, r.net.Preprocess())
	return x
}

// runStage optimises one stage up to iteration until and returns the stage
// (for the caller to read or free) and, on the last stage or on an early
// end, the image.
func (r *runner) runStage(in *inputs, x0 []float32, until int, lastStage bool) (*stage, *image.RGBA, error) {
	r.snapX, r.snapIter = x0, r.iter
	prev := kernels.LastError(r.b)
	st, err := newStage(r.b, r.net, r.s, r.layers, in, x0)
	if err != nil {
		// Not every error on the way keeps kernels.ErrDevice in its chain;
		// the backend's own record of a new device error says it was the
		// GPU's (an allocation it could not make).
		if last := kernels.LastError(r.b); last != nil && last != prev && !errors.Is(err, kernels.ErrDevice) {
			err = gpuCause{err, last}
		}
		if !r.canFallBack(err) {
			return nil, nil, err
		}
		if st, err = r.fallBack(err, in); err != nil {
			return nil, r.image(in, r.snapX), err
		}
	}
	for {
		done, err := r.loop(st, until)
		if r.canFallBack(err) {
			st.free()
			if st, err = r.fallBack(err, in); err != nil {
				return nil, r.image(in, r.snapX), err
			}
			continue
		}
		if err != nil {
			// Cancelled or failed: return the current image if the device
			// can still give it, else the last snapshot.
			x, rerr := st.readX()
			if rerr != nil {
				x = r.snapX
			}
			return st, r.image(in, x), err
		}
		if done || lastStage {
			if r.note != "" {
				r.emit(st, r.iter) // carry the last note (repeats iteration t)
			}
			x, rerr := st.readX()
			if rerr != nil {
				return st, r.image(in, r.snapX), rerr
			}
			return st, r.image(in, x), nil
		}
		return st, nil, nil
	}
}

// gpuCause is err, with the device error behind it in its chain.
type gpuCause struct{ err, device error }

func (e gpuCause) Error() string   { return e.err.Error() }
func (e gpuCause) Unwrap() []error { return []error{e.err, e.device} }

// canFallBack reports whether err is a GPU failure (kernels.ErrDevice) the
// run can leave for hooks.Fallback's backend (once).
func (r *runner) canFallBack(err error) bool {
	return err != nil && errors.Is(err, kernels.ErrDevice) && r.hooks.Fallback != nil && !r.fellBack
}

// fallBack moves the run to hooks.Fallback's backend after the GPU failed
// with cause: a new stage there from the last host snapshot, and a Note
// that says what happened.
func (r *runner) fallBack(cause error, in *inputs) (*stage, error) {
	r.fellBack = true
	at := r.iter
	b, net, err := r.hooks.Fallback()
	if err != nil {
		return nil, fmt.Errorf("transfer: the GPU failed (%v) and the fallback failed: %v", cause, err)
	}
	r.b, r.net = b, net
	r.iter = r.snapIter
	st, err := newStage(b, net, r.s, r.layers, in, r.snapX)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("the GPU failed at iteration %d (%v)", at, cause)
	if errors.Is(cause, kernels.ErrDeviceLost) {
		what = fmt.Sprintf("the GPU was lost at iteration %d (%v)", at, cause)
	}
	r.note = joinNote(r.note, fmt.Sprintf("%s; continuing on %s from iteration %d", what, b.Name(), r.iter))
	return st, nil
}

// loop runs the optimiser on st until iteration until, or until it
// converges. done reports that the whole run should end (rollbacks
// exhausted).
func (r *runner) loop(st *stage, until int) (done bool, err error) {
	loss, err := st.opt.Start(st.x, st.eval)
	if err != nil {
		return false, err
	}
	if r.iter == 0 {
		r.emit(st, r.iter)
	}
	best := loss
	st.b.Copy(st.xGood, st.x)
	stalls := 0
	for r.iter < until {
		if err := r.ctx.Err(); err != nil {
			return false, err
		}
		res, err := st.opt.Step(st.x, st.eval)
		if err != nil {
			return false, err
		}
		if !finiteF(res.Loss) || res.Loss > divergeFactor*math.Max(best, 0) && best > 0 {
			r.rollbacks++
			what := fmt.Sprintf("%.3g", res.Loss)
			if math.IsNaN(res.Loss) {
				what = "NaN"
			}
			st.b.Copy(st.x, st.xGood)
			st.opt.Reset()
			change := "restarted L-BFGS"
			switch o := st.opt.(type) {
			case *optim.Adam:
				o.SetLR(o.LR() / 2)
				change = fmt.Sprintf("halved Adam's learning rate to %.3g", o.LR()/pixelUnit(st.net))
			case *optim.LBFGS:
				st.maxStep /= 4
				o.SetMaxStep(st.maxStep)
				change = "restarted L-BFGS with shorter steps"
			}
			if r.rollbacks > maxRollbacks {
				r.note = joinNote(r.note, fmt.Sprintf("the loss diverged %d times; stopped with the image of iteration %d", r.rollbacks, r.iter))
				if _, err := st.opt.Start(st.x, st.eval); err != nil {
					return false, err
				}
				r.emit(st, r.iter)
				return true, nil
			}
			r.note = joinNote(r.note, fmt.Sprintf("the loss became %s at iteration %d; rolled back to iteration %d and %s", what, r.iter+1, r.iter, change))
			if _, err := st.opt.Start(st.x, st.eval); err != nil {
				return false, err
			}
			continue
		}
		if !res.Moved {
			stalls++
			if r.s.StyleCost == style.SWD && stalls < 3 {
				continue // new random directions may allow progress
			}
			r.note = joinNote(r.note, fmt.Sprintf("stopped at iteration %d: %s", r.iter, res.Reason))
			return false, nil
		}
		stalls = 0
		r.iter++
		best = math.Min(best, res.Loss)
		st.b.Copy(st.xGood, st.x)
		// swd's loss is stochastic (new directions every evaluation), so
		// "converged" only means the history went stale: restart it.
		converged := res.Done && r.s.StyleCost != style.SWD
		if converged {
			r.note = joinNote(r.note, fmt.Sprintf("converged at iteration %d: %s", r.iter, res.Reason))
		}
		r.emit(st, r.iter)
		if err := r.previewAndSnapshot(st); err != nil {
			return false, err
		}
		if converged {
			return false, nil
		}
		if res.Done {
			st.opt.Reset()
			if _, err := st.opt.Start(st.x, st.eval); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

func (r *runner) previewAndSnapshot(st *stage) error {
	every := r.s.PreviewEvery
	preview := r.hooks.Preview != nil && every > 0 && r.iter%every == 0
	snap := r.hooks.Fallback != nil && r.iter%snapshotEvery == 0
	if !preview && !snap {
		return nil
	}
	x, err := st.readX()
	if err != nil {
		return err
	}
	r.snapX, r.snapIter = x, r.iter
	if preview {
		r.hooks.Preview(r.iter, r.image(st.in, x))
	}
	return nil
}

func (r *runner) emit(st *stage, iter int) {
	p := st.cur
	p.Iter = iter
	p.MS = float64(time.Since(r.start).Microseconds()) / 1000
	p.Note, r.note = r.note, ""
	if r.hooks.Progress != nil {
		r.hooks.Progress(p)
	}
}

// image converts x (network units) to the output picture.
func (r *runner) image(in *inputs, x []float32) *image.RGBA {
	if x == nil {
		return nil
	}
	rgb := make([]float32, len(x))
	model.FromInput(rgb, x, r.net.Preprocess())
	if r.s.OriginalColors {
		rgb = recolor(rgb, in.colour)
	}
	return toRGBA(rgb, in.w, in.h)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func finiteF(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
