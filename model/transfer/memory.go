package transfer

// The memory model (issue 13): the bytes a run needs, computed from the
// settings and the images' sizes alone, before any work. It is the one
// model of a run's memory: Run refuses a run that cannot fit (and tiles
// one that fits only in tiles), the worker sends its figures to the page
// with every settings answer, the CLI prints them, and model/session's
// EstimateBytes (which runs transfer.Run on a backend that only counts)
// is the measurement it is tested against (memory_test.go, and
// model/session's memory_model_test.go).
//
// The formula replays the allocations of a stage in the order the code
// makes them (stage.go's newStage, model.Net.NewPass, model/style's
// buffers, model/optim's state) and keeps the running peak:
//
//	pass(h, w)     = Σ_steps A_i + 2·Σ_{distinct L} L
//	                 (A_i: every activation to the deepest layer in use;
//	                 L: the lengths of the gradients of each step's output
//	                 and input, two buffers each)
//	stage(h, w)    = pass + 3·(3hw) (x, ∂x, last good x) + losses
//	               + content: 3·C·N per content layer (target, diff, scaled diff)
//	               + style: per layer and region, the statistic's buffers
//	                 (gram 4C² + 4; cov 5C² + C + CN; meanstd 8C + 2CN;
//	                 mmd 6C² + 4C; swd C² + KC + 7KN; + CN (W) and CN (A⊙W)
//	                 when guided) and one ∂J/∂A [C, N] per layer
//	               + optimiser: L-BFGS (6 + 2m)·3hw + 6m + 6; Adam 3·3hw
//	peak(stage)    = max(stage, stage before its optimiser
//	                 + max over style images of [pass(style) + 3·sw·sh
//	                 + the statistic's temporaries])
//
// all in float32s (4 bytes). A tiled stage (tile.go) is the same at the
// tile's size, every style term guided (the core's statistics), plus the
// feather and the tile's pixels (3·3·tw·th), with the style targets
// computed through windows of at most the tile's size. Beside the
// tensors, every backend keeps scratch behind its operations:
//
//   - cpu: the ReLU-masked ∂y of the largest convolution (its output's
//     size), the packed A operand of the largest product (the largest
//     style layer's [C, N] for its Gram matrix, or a convolution's
//     weights) and one B block per worker (KC·NC floats);
//   - webgpu: the flipped weights of every convolution the backward pass
//     goes through, the ReLU-masked ∂y of the largest, and swd's padded
//     sort keys and ids (2·K·2^⌈log₂ N⌉);
//   - naive: nothing.
//
// And the host keeps the images as float planes (Host): the content (and
// its colour copy with original_colors), the masks, the style images,
// the image being optimised and one preview being converted. On the CPU
// the host and the tensors share one memory, so Total adds them; on a GPU
// they are checked against separate budgets. Go's collector may hold
// garbage on top of the live bytes the model counts (up to GOGC percent).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/optim"
	"github.com/crema-app/crema/model/style"
	"github.com/crema-app/crema/model/weights"
)

// Memory is the memory model's figure for one run, in bytes.
type Memory struct {
	Backend string `json:"backend"` // the backend it was computed for: cpu, webgpu or naive
	// Weights is the network's weights as uploaded (float32).
	Weights int64 `json:"weights"`
	// Tensors is the most the run's own tensors take at once: activations
	// and gradients, the losses' targets and buffers, the optimiser's
	// state (model/session's Estimate.Run).
	Tensors int64 `json:"tensors"`
	// Scratch is what the backend keeps behind its operations (see the
	// file's comment).
	Scratch int64 `json:"scratch"`
	// Host is the images the run keeps as float planes on the host.
	Host int64 `json:"host"`
	// Largest is the largest single tensor (one GPU buffer).
	Largest int64 `json:"largest"`
}

// MarshalJSON adds Total to the figures (the worker's settings answer).
func (m Memory) MarshalJSON() ([]byte, error) {
	type plain Memory
	return json.Marshal(struct {
		plain
		Total int64 `json:"total"`
	}{plain(m), m.Total()})
}

// Device is what the backend holds at once: weights, tensors and scratch.
func (m Memory) Device() int64 { return m.Weights + m.Tensors + m.Scratch }

// Total is what counts against the budget: Device, plus Host on the CPU
// (where both are the same memory).
func (m Memory) Total() int64 {
	if m.Backend == "webgpu" {
		return m.Device()
	}
	return m.Device() + m.Host
}

// JobShape is what the memory model needs of a job's images: their sizes.
type JobShape struct {
	Content [2]int   `json:"content"` // width, height (only the aspect ratio matters)
	Styles  [][2]int `json:"styles"`  // width, height of each style image
}

// ShapeOf is the shape of job's images.
func ShapeOf(job Job) JobShape {
	var sh JobShape
	if job.Content != nil {
		b := job.Content.Bounds()
		sh.Content = [2]int{b.Dx(), b.Dy()}
	}
	for _, s := range job.Styles {
		if s == nil {
			continue
		}
		b := s.Bounds()
		sh.Styles = append(sh.Styles, [2]int{b.Dx(), b.Dy()})
	}
	return sh
}

// SquareShape is a square content and n square style images: what the
// page assumes before it has sent its images.
func SquareShape(n int) JobShape {
	sh := JobShape{Content: [2]int{1, 1}}
	for range n {
		sh.Styles = append(sh.Styles, [2]int{1, 1})
	}
	return sh
}

// StagePlan is one stage of a planned run: its image size and, when it is
// tiled, the tile (long side, margin) and the tiles per pass.
type StagePlan struct {
	Width  int `json:"width"`
	Height int `json:"height"`
	Tile   int `json:"tile,omitempty"`   // tile side, pixels; 0: not tiled
	Margin int `json:"margin,omitempty"` // context around each tile's core, pixels
}

// Plan is how a run will use memory: the figures with and without tiles,
// the budget they are held against, and the largest sizes that fit.
type Plan struct {
	Width  int `json:"width"`  // the output
	Height int `json:"height"` //
	// Memory is the run as planned (tiled when a stage is); Untiled the
	// same run without tiles.
	Memory  Memory      `json:"memory"`
	Untiled Memory      `json:"untiled"`
	Stages  []StagePlan `json:"stages"`
	Tile    int         `json:"tile,omitempty"` // the tile side of the tiled stages, 0: none
	// Budget is the memory the run may use (Memory.Total is held against
	// it), PerTensor the largest tensor the device takes (0: no limit),
	// HostBudget the host's (for a GPU run's host planes), BudgetFrom
	// where the budget comes from ("webgpu", "memory_limit", "host").
	Budget     int64  `json:"budget"`
	PerTensor  int64  `json:"per_tensor,omitempty"`
	HostBudget int64  `json:"host_budget"`
	BudgetFrom string `json:"budget_from"`
	// Fits: the run fits as planned. MaxUntiled is the largest image_size
	// that runs without tiles, MaxSize the largest that runs at all
	// (tiled), with these settings and images (0: none).
	Fits       bool `json:"fits"`
	MaxUntiled int  `json:"max_untiled"`
	MaxSize    int  `json:"max_size"`
	// Reason says why the run cannot fit ("" when it does).
	Reason string `json:"reason,omitempty"`
}

// Tiled reports whether any stage is tiled.
func (p Plan) Tiled() bool { return p.Tile > 0 }

// MiB formats bytes for messages.
func MiB(b int64) string {
	switch {
	case b >= 10<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
}

// ---- the budget ----

// Budgeted is a backend with a device memory budget (webgpu.Backend).
type Budgeted interface {
	Budget() (total, perTensor int64)
}

// deviceBudget finds b's budget, looking through wrappers (Unwrap).
func deviceBudget(b kernels.Backend) (total, perTensor int64, ok bool) {
	for b != nil {
		if x, ok := b.(Budgeted); ok {
			t, p := x.Budget()
			return t, p, true
		}
		u, ok := b.(interface{ Unwrap() kernels.Backend })
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	return 0, 0, false
}

// hostBudgetOverride replaces HostBudget in tests (0: none).
var hostBudgetOverride int64

// HostBudget is the memory a run on the host (the CPU backend, and the
// planes of every run) may use: in a browser (js/wasm) 1 GiB, since Go's
// heap may grow to twice its live bytes between collections and a tab that
// takes a few GB is killed; natively half the machine's memory
// (/proc/meminfo's MemTotal), else 8 GiB.
func HostBudget() int64 {
	if hostBudgetOverride > 0 {
		return hostBudgetOverride
	}
	if runtime.GOOS == "js" {
		return 1 << 30
	}
	if total := memTotal(); total > 0 {
		return total / 2
	}
	return 8 << 30
}

// memTotal reads MemTotal from /proc/meminfo (0 when it cannot).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// budgetFor is the budget of a run of s on b: the device's (a GPU's), else
// the host's, capped by memory_limit.
func budgetFor(b kernels.Backend, s Settings) (total, perTensor, host int64, from string) {
	host = HostBudget()
	total, perTensor, ok := deviceBudget(b)
	from = "webgpu"
	if !ok {
		total, from = host, "host"
	}
	if s.MemoryLimit > 0 {
		limit := int64(s.MemoryLimit) << 20
		if limit < total {
			total, from = limit, "memory_limit"
		}
		host = min(host, limit)
	}
	return total, perTensor, host, from
}

// ---- planning ----

// PlanRun plans a run of s on net (whose backend is b) for images of the
// given shape: the memory with and without tiles, the tiles when the run
// needs them (tile_size 0) or when tile_size forces them, the budget and
// the largest sizes that fit. It does no work on the backend. An error is
// a setting the plan cannot read (Validate's are not repeated: call it
// first); a run that does not fit is Plan.Fits false, with Reason.
func PlanRun(b kernels.Backend, net *model.Net, s Settings, shape JobShape) (Plan, error) {
	s = s.normalized()
	mm, err := newMemModel(b, net, s, shape)
	if err != nil {
		return Plan{}, err
	}
	total, per, host, from := budgetFor(b, s)
	p := mm.plan(s.ImageSize, total, per, host)
	p.Budget, p.PerTensor, p.HostBudget, p.BudgetFrom = total, per, host, from
	p.MaxUntiled = mm.largest(func(size int) bool {
		u := mm.untiled(size)
		return fits(u, total, per, host)
	})
	p.MaxSize = mm.largest(func(size int) bool { return mm.plan(size, total, per, host).Fits })
	if !p.Fits {
		p.Reason = mm.refusal(p)
	}
	if deepest := mm.deepest(); p.Tile > 0 && p.Tile < MinTile(deepest) {
		_, err := newTileGrid(p.Width, p.Height, p.Tile, deepest)
		p.Fits, p.Reason = false, err.Error()
	}
	return p, nil
}

// EstimateMemory is the memory model of a run of s with images of the given
// shape on backend ("cpu", "webgpu" or "naive") with weights of
// weightBytes: with tile 0 untiled, else every stage larger than tile
// tiled at tile (the forced tile_size).
func EstimateMemory(backend string, weightBytes int64, s Settings, shape JobShape, tile int) (Memory, []StagePlan, error) {
	s = s.normalized()
	mm, err := newMemModel(nil, nil, s, shape)
	if err != nil {
		return Memory{}, nil, err
	}
	mm.backend, mm.weights = backend, weightBytes
	stages := mm.stages(s.ImageSize, tile)
	return mm.run(stages), stages, nil
}

// fits reports whether m fits the budgets.
func fits(m Memory, total, per, host int64) bool {
	if m.Total() > total || m.Host > host {
		return false
	}
	return per == 0 || m.Largest <= per
}

// memModel is the memory model of one run's settings and images.
type memModel struct {
	s       Settings
	shape   JobShape
	backend string
	weights int64
	workers int

	cnames  []string     // content layers (canonical), when content_weight > 0
	layers  []string     // style layers of weight > 0, when style_weight > 0
	regions []regionPlan // regions (mask ≥ 0: guided)
	depth   int          // steps to the deepest layer of the optimised pass
	sdepth  int          // steps to the deepest style layer
}

func newMemModel(b kernels.Backend, net *model.Net, s Settings, shape JobShape) (*memModel, error) {
	mm := &memModel{s: s, shape: shape, backend: "cpu", workers: runtime.GOMAXPROCS(0)}
	if runtime.GOOS == "js" {
		mm.workers = 1
	}
	if b != nil {
		mm.backend = b.Name()
	}
	if net != nil {
		for _, l := range net.Layers() {
			c, _ := weights.Conv(l)
			mm.weights += 4 * int64(c.Cout*c.Cin*9+c.Cout)
		}
	}
	if shape.Content[0] < 1 || shape.Content[1] < 1 {
		shape.Content = [2]int{1, 1}
		mm.shape.Content = shape.Content
	}
	if s.ContentWeight > 0 {
		for _, l := range s.ContentLayers {
			mm.cnames = append(mm.cnames, model.Canonical(l))
		}
	}
	if s.StyleWeight > 0 {
		all, err := s.Layers()
		if err != nil {
			return nil, err
		}
		for _, l := range all {
			if l.Weight > 0 {
				mm.layers = append(mm.layers, model.Canonical(l.Layer))
			}
		}
	}
	if len(mm.layers) > 0 {
		if len(shape.Styles) == 0 {
			mm.shape.Styles = [][2]int{{1, 1}}
		}
		mm.regions = regionList(s, len(mm.shape.Styles))
	}
	names := append(append([]string{}, mm.cnames...), mm.layers...)
	if len(names) == 0 {
		names = []string{"conv1_1"}
	}
	for _, n := range names {
		i, ok := stepIndex(n)
		if !ok {
			return nil, fmt.Errorf("transfer: unknown layer %q", n)
		}
		mm.depth = max(mm.depth, i+1)
	}
	for _, n := range mm.layers {
		i, _ := stepIndex(n)
		mm.sdepth = max(mm.sdepth, i+1)
	}
	return mm, nil
}

// stages lists the stages of a run at image_size size: untiled with tile 0;
// else every stage whose image is larger than tile is tiled at tile.
func (mm *memModel) stages(size, tile int) []StagePlan {
	w, h := FitSize(mm.shape.Content[0], mm.shape.Content[1], size)
	out := []StagePlan{{Width: w, Height: h}}
	if mm.s.coarseToFine(w, h) {
		out = []StagePlan{{Width: max(1, w/2), Height: max(1, h/2)}, {Width: w, Height: h}}
	}
	if tile > 0 {
		for i := range out {
			if max(out[i].Width, out[i].Height) > tile {
				out[i].Tile, out[i].Margin = tile, TileMargin(mm.deepest())
			}
		}
	}
	return out
}

// deepest is the deepest layer the optimised pass computes.
func (mm *memModel) deepest() string { return vgg[mm.depth-1].name }

// untiled is the memory of the run at size without tiles.
func (mm *memModel) untiled(size int) Memory { return mm.run(mm.stages(size, 0)) }

// plan chooses the tiles of a run at size: tile_size's when set; else none
// when the untiled run fits, else the largest tile that fits.
func (mm *memModel) plan(size int, total, per, host int64) Plan {
	stages := mm.stages(size, 0)
	last := stages[len(stages)-1]
	p := Plan{Width: last.Width, Height: last.Height, Untiled: mm.run(stages)}
	try := func(tile int) bool {
		p.Stages = mm.stages(size, tile)
		p.Memory = mm.run(p.Stages)
		p.Tile = 0
		for _, st := range p.Stages {
			if st.Tile > 0 {
				p.Tile = st.Tile
			}
		}
		p.Fits = fits(p.Memory, total, per, host)
		return p.Fits
	}
	if mm.s.TileSize > 0 {
		try(mm.s.TileSize)
		return p
	}
	if try(0) {
		return p
	}
	// The memory grows with the tile: the largest tile that fits (try
	// leaves p as planned for the last tile it tried, so try the best
	// again).
	long := max(last.Width, last.Height)
	if best := largestIn(MinTile(mm.deepest()), long-1, try); best > 0 {
		try(best)
	}
	return p
}

// largest is the largest image_size in [MinImageSize, MaxImageSize] for
// which ok holds (ok is assumed monotone), 0 when none.
func (mm *memModel) largest(ok func(size int) bool) int {
	return largestIn(MinImageSize, MaxImageSize, ok)
}

// largestIn is the largest n in [lo, hi] for which ok holds, by bisection
// (ok is assumed to hold up to some n and not above), 0 when none (lo ≥ 1).
func largestIn(lo, hi int, ok func(n int) bool) int {
	if lo > hi || !ok(lo) {
		return 0
	}
	if ok(hi) {
		return hi
	}
	for hi-lo > 1 { // ok(lo), !ok(hi)
		mid := (lo + hi) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// refusal explains why p does not fit.
func (mm *memModel) refusal(p Plan) string {
	m := p.Memory
	need := fmt.Sprintf("a %d×%d image needs %s", p.Width, p.Height, MiB(m.Total()))
	if p.Tiled() {
		need += fmt.Sprintf(" in %d px tiles", p.Tile)
	} else if mm.s.TileSize == 0 {
		need += " (untiled; no tile fits either)"
	}
	var why string
	switch {
	case m.Total() > p.Budget:
		why = fmt.Sprintf("%s (weights %s, tensors %s, scratch %s, host %s), more than the budget of %s (%s)",
			need, MiB(m.Weights), MiB(m.Tensors), MiB(m.Scratch), MiB(m.Host), MiB(p.Budget), budgetWords(p.BudgetFrom))
	case m.Host > p.HostBudget:
		why = strings.Replace(need, "needs "+MiB(m.Total()), "needs "+MiB(m.Host)+" of host memory for its planes", 1) +
			fmt.Sprintf(", more than the host's budget of %s", MiB(p.HostBudget))
	default:
		why = fmt.Sprintf("%s: its largest tensor is %s, more than the device's largest buffer of %s", need, MiB(m.Largest), MiB(p.PerTensor))
	}
	switch {
	case p.MaxSize > 0 && p.MaxSize < max(p.Width, p.Height):
		why += fmt.Sprintf("; the largest image_size that fits is %d", p.MaxSize)
	case p.MaxSize == 0:
		why += "; no image_size fits these settings"
	}
	if mm.s.TileSize > 0 && p.MaxSize >= max(p.Width, p.Height) {
		why += "; a smaller tile_size (or 0, automatic) fits"
	}
	return "transfer: " + why
}

func budgetWords(from string) string {
	switch from {
	case "webgpu":
		return "this GPU's"
	case "memory_limit":
		return "memory_limit"
	}
	if runtime.GOOS == "js" {
		return "a browser tab's"
	}
	return "half this machine's memory"
}

// ---- the allocation replay ----

// tally counts bytes as the replay allocates and frees them.
type tally struct{ live, peak, largest int64 }

func (t *tally) alloc(ns ...int) int64 {
	var sum int64
	for _, n := range ns {
		b := 4 * int64(n)
		t.live += b
		sum += b
		t.largest = max(t.largest, b)
		t.peak = max(t.peak, t.live)
	}
	return sum
}

func (t *tally) free(b int64) { t.live -= b }

// scratchTally is the high-water mark of the backends' scratch.
type scratchTally struct {
	convOut int          // largest ∂y a backward convolution masks
	packA   int          // largest A operand (cpu)
	flipped map[int]bool // convolutions (step index) whose flipped weights exist (webgpu)
	sort    int          // swd's sort keys and ids, floats (webgpu)
}

// run replays every stage (each freed before the next, as runner.run
// does) and returns the figures.
func (mm *memModel) run(stages []StagePlan) Memory {
	t := &tally{}
	sc := &scratchTally{flipped: map[int]bool{}}
	var host int64
	for _, st := range stages {
		b := mm.stage(t, sc, st)
		t.free(b)
		host = max(host, mm.host(st))
	}
	m := Memory{Backend: mm.backend, Weights: mm.weights, Tensors: t.peak, Host: host, Largest: t.largest}
	switch mm.backend {
	case "cpu":
		m.Scratch = 4 * (int64(sc.convOut) + int64(sc.packA) + int64(mm.workers)*(256*192+256))
	case "webgpu":
		var flipped int64
		for i := range sc.flipped {
			flipped += int64(vgg[i].cout * vgg[i].cin * 9)
		}
		m.Scratch = 4 * (flipped + int64(sc.convOut) + int64(sc.sort))
	}
	return m
}

// stage replays one stage (newStage, or the tiled stage at its tile's
// size) and returns the bytes it leaves allocated.
func (mm *memModel) stage(t *tally, sc *scratchTally, st StagePlan) int64 {
	s := mm.s
	w, h := st.Width, st.Height
	tiled := st.Tile > 0
	if tiled {
		w, h = min(w, st.Tile), min(h, st.Tile)
	}
	start := t.live
	p := passShapes(h, w, mm.depth)
	t.passAlloc(p)
	for i := 0; i < mm.depth; i++ {
		if !vgg[i].pool {
			sc.convOut = max(sc.convOut, p.out[i].Len())
			sc.flipped[i] = true
			sc.packA = max(sc.packA, round16(vgg[i].cout)*vgg[i].cin*9, round16(vgg[i].cin)*vgg[i].cout*9)
		}
	}
	n := 3 * w * h
	t.alloc(n, n, n)
	t.alloc(len(mm.cnames) + len(mm.layers)*len(mm.regions) + 1)
	grads := map[string]bool{}
	grad := func(name string, sh model.Shape) {
		if !grads[name] {
			grads[name] = true
			t.alloc(sh.Len())
		}
	}
	for _, name := range mm.cnames {
		sh := p.shapeOf(name)
		t.alloc(sh.Len(), sh.Len(), sh.Len())
		grad(name, sh)
	}
	stat, cost := mm.spec()
	for _, name := range mm.layers {
		sh := p.shapeOf(name)
		for _, rg := range mm.regions {
			guided := rg.mask >= 0 || tiled && cost != style.SWD // tiled: the core's statistics
			t.alloc(layerBuffers(stat, cost, sh.C, sh.H*sh.W, guided)...)
			sc.packA = max(sc.packA, round16(sh.C)*sh.H*sh.W)
			if cost == style.SWD {
				sc.sort = max(sc.sort, 2*sh.C*pow2(sh.H*sh.W))
			}
		}
		grad(name, sh)
	}
	// Style targets: one pass per style image (or per window of it).
	sizes := mm.styleSizes(st)
	for i, sz := range sizes {
		users := regionsOf(mm.regions, i)
		if len(users) == 0 {
			continue
		}
		masked := i < len(s.StyleMasks) && s.StyleMasks[i] != ""
		// Every window of a size allocates the same: one of each.
		wins, windowed := styleWindowSizes(sz[0], sz[1], st.Tile, mm.sdepth, tiled && cost != style.SWD)
		for _, win := range wins {
			guided := masked || windowed
			sp := passShapes(win[1], win[0], mm.sdepth)
			pb := t.passAlloc(sp)
			pb += t.alloc(3 * win[0] * win[1])
			for i := 0; i < mm.sdepth; i++ {
				if !vgg[i].pool {
					sc.packA = max(sc.packA, round16(vgg[i].cout)*vgg[i].cin*9)
				}
			}
			for _, name := range mm.layers {
				sh := sp.shapeOf(name)
				m := sh.H * sh.W
				sc.packA = max(sc.packA, round16(sh.C)*m)
				if cost == style.SWD {
					sc.sort = max(sc.sort, 2*sh.C*pow2(m))
				}
				for range users {
					tmp := t.alloc(sh.C * sh.C)
					if guided {
						tmp += t.alloc(sh.C*m, sh.C*m)
					}
					switch {
					case cost == style.SWD:
						t.alloc(sh.C*m, sh.C*m, sh.C*m) // kept: S, sorted Q and its ids
					case stat == style.MMD:
						tmp += t.alloc(sh.C)
					case stat == style.Cov:
						tmp += t.alloc(sh.C, sh.C*m)
					case stat == style.MeanStd:
						tmp += t.alloc(sh.C, sh.C*m, sh.C)
					}
					t.free(tmp)
				}
			}
			t.free(pb)
		}
	}
	switch s.Optimizer {
	case optim.NameAdam:
		t.alloc(n, n, n)
	default:
		m := s.LBFGSHistory
		for range 6 + 2*m {
			t.alloc(n)
		}
		t.alloc(6*m + 6)
	}
	if tiled {
		t.alloc(n, n, n) // the feather, the tile's pixels x₀ and x₀ + f⊙z
	}
	return t.live - start
}

// spec is the statistic and cost in use (swd takes no statistic).
func (mm *memModel) spec() (stat, cost string) {
	stat, cost = mm.s.StyleStat, mm.s.StyleCost
	if stat == "" {
		stat = style.Gram
	}
	if cost == "" {
		cost = style.MSE
	}
	return stat, cost
}

// styleSizes are the style images' sizes at a stage (prepare's), capped
// at the tile for swd in a tiled stage (tile.go).
func (mm *memModel) styleSizes(st StagePlan) [][2]int {
	var out [][2]int
	long := max(MinImageSize/2, int(math.Round(mm.s.StyleScale*float64(max(st.Width, st.Height)))))
	_, cost := mm.spec()
	for _, sz := range mm.shape.Styles {
		sw, sh := FitSize(max(sz[0], 1), max(sz[1], 1), long)
		if st.Tile > 0 && cost == style.SWD && max(sw, sh) > st.Tile {
			sw, sh = FitSize(sw, sh, st.Tile)
		}
		out = append(out, [2]int{sw, sh})
	}
	return out
}

// host is the planes a stage keeps on the host, in bytes: the content (and
// its colour copy), the masks, the style images, the image (and, untiled,
// the copies newStage and readX make), and one preview being converted
// (its float planes and RGBA bytes).
func (mm *memModel) host(st StagePlan) int64 {
	s := mm.s
	px := int64(st.Width) * int64(st.Height)
	planes := int64(3) // the content
	if s.OriginalColors || s.ColorControl == ColorKeepStyle {
		planes += 3
	}
	if len(mm.layers) > 0 {
		planes += int64(len(s.ContentMasks))
	}
	planes += 3 + 3 // the image, and a preview's float planes
	if st.Tile == 0 {
		planes += 3 // newStage's upload buffer
	}
	b := 4*planes*px + 4*px // + the preview's RGBA
	if len(mm.layers) > 0 {
		for i, sz := range mm.styleSizes(StagePlan{Width: st.Width, Height: st.Height}) {
			sp := int64(sz[0]) * int64(sz[1])
			b += 4 * 3 * sp
			if i < len(s.StyleMasks) && s.StyleMasks[i] != "" {
				b += 4 * sp
			}
		}
	}
	return b
}

func round16(n int) int { return (n + 15) &^ 15 }

func pow2(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// layerBuffers are the lengths of the buffers style.NewGuidedLayer
// allocates for a layer of c channels and n positions.
func layerBuffers(stat, cost string, c, n int, guided bool) []int {
	cc, cn := c*c, c*n
	out := []int{cc, 4}
	switch {
	case cost == style.SWD:
		out = append(out, c*c, cn, cn, cn, cn, cn, cn, cn)
	case stat == style.Gram:
		out = append(out, cc, cc, cc)
	case stat == style.Cov:
		out = append(out, cc, cc, cc, cc, c, cn)
	case stat == style.MeanStd:
		out = append(out, c, c, c, c, c, c, c, c, cn, cn)
	case stat == style.MMD:
		out = append(out, cc, cc, cc, cc, cc, c, c, c, c)
	}
	if guided {
		out = append(out, cn)
		if stat != style.MeanStd || cost == style.SWD {
			out = append(out, cn)
		}
	}
	return out
}

// regionsOf lists the regions that take style image i.
func regionsOf(regions []regionPlan, i int) []int {
	var out []int
	for r, rg := range regions {
		for _, s := range rg.styles {
			if s == i {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// ---- VGG-19's shapes ----

// vggStep is one step of VGG-19 (a conv with its ReLU, or a pooling), as
// model.Net lays them out.
type vggStep struct {
	name      string
	pool      bool
	cin, cout int
}

// vgg is VGG-19's steps: its convolutions (weights.VGG19) with a pooling
// after each block.
var vgg = func() []vggStep {
	var out []vggStep
	block := 1
	for _, c := range weights.VGG19 {
		var bl, i int
		fmt.Sscanf(c.Name, "conv%d_%d", &bl, &i)
		if bl != block {
			out = append(out, vggStep{name: fmt.Sprintf("pool%d", block), pool: true, cin: c.Cin, cout: c.Cin})
			block = bl
		}
		out = append(out, vggStep{name: c.Name, cin: c.Cin, cout: c.Cout})
	}
	last := weights.VGG19[len(weights.VGG19)-1].Cout
	return append(out, vggStep{name: "pool5", pool: true, cin: last, cout: last})
}()

// stepIndex is the index of a layer (conv, relu or pool name) in vgg.
func stepIndex(name string) (int, bool) {
	c := model.Canonical(name)
	for i, s := range vgg {
		if s.name == c {
			return i, true
		}
	}
	return 0, false
}

// passShape is the shapes of a model.Pass: its input and each step's
// output.
type passShape struct {
	in  model.Shape
	out []model.Shape
}

// passShapes are the shapes of a pass over an h×w image to depth steps.
func passShapes(h, w, depth int) passShape {
	p := passShape{in: model.Shape{C: 3, H: h, W: w}}
	cur := p.in
	for _, st := range vgg[:depth] {
		if st.pool {
			cur = model.Shape{C: cur.C, H: cur.H / 2, W: cur.W / 2}
		} else {
			cur = model.Shape{C: st.cout, H: cur.H, W: cur.W}
		}
		p.out = append(p.out, cur)
	}
	return p
}

func (p passShape) shapeOf(name string) model.Shape {
	i, _ := stepIndex(name)
	return p.out[i]
}

// passAlloc replays model.Net.NewPass: every activation, then two
// gradient buffers per distinct length.
func (t *tally) passAlloc(p passShape) int64 {
	var b int64
	for _, s := range p.out {
		b += t.alloc(s.Len())
	}
	seen := map[int]bool{}
	for i, s := range p.out {
		in := p.in
		if i > 0 {
			in = p.out[i-1]
		}
		for _, l := range []int{s.Len(), in.Len()} {
			if !seen[l] {
				seen[l] = true
				b += t.alloc(l, l)
			}
		}
	}
	return b
}

// ---- tiles' geometry ----

// receptive is the receptive field of a layer (conv, relu or pool name):
// its size in input pixels and the pixel stride between its units.
func receptive(layer string) (size, stride int) {
	i, ok := stepIndex(layer)
	if !ok {
		return 1, 1
	}
	size, stride = 1, 1
	for _, s := range vgg[:i+1] {
		if s.pool {
			size += stride
			stride *= 2
		} else {
			size += 2 * stride
		}
	}
	return size, stride
}

// TileMargin is the context a tile keeps around its core for layer, the
// deepest layer in use: the radius of its receptive field (so that every
// feature at a core position sees exactly the pixels it sees in the whole
// image), rounded up to its stride (so that the poolings' windows fall
// where they fall in the whole image). conv3_2: 16 px; conv4_2: 48;
// conv5_1: 80.
func TileMargin(layer string) int {
	size, stride := receptive(layer)
	r := (size + 1) / 2
	return (r + stride - 1) / stride * stride
}

// MinTile is the smallest tile for layer: its margin on both sides and a
// core of at least 8 pixels (and of its stride).
func MinTile(layer string) int {
	_, stride := receptive(layer)
	return 2*TileMargin(layer) + max(8, stride)
}
