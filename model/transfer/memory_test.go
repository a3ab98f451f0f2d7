package transfer

import (
	"context"
	"fmt"
	"image"
	"runtime"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/model"
)

// counter is a backend that forwards to another and counts what the memory
// model predicts: the bytes of the live tensors (peak, largest) and the
// scratch the CPU and WebGPU backends keep behind the operations it sees.
type counter struct {
	kernels.Backend
	live, peak, largest int64
	sizes               map[kernels.Tensor]int64

	convOut, packA, sort int
	flipped              map[kernels.Tensor]int
}

func newCounter(b kernels.Backend) *counter {
	return &counter{Backend: b, sizes: map[kernels.Tensor]int64{}, flipped: map[kernels.Tensor]int{}}
}

func (c *counter) Alloc(n int) (kernels.Tensor, error) {
	t, err := c.Backend.Alloc(n)
	if err == nil {
		c.sizes[t] = 4 * int64(n)
		c.live += 4 * int64(n)
		c.peak, c.largest = max(c.peak, c.live), max(c.largest, 4*int64(n))
	}
	return t, err
}

func (c *counter) Free(t kernels.Tensor) {
	c.live -= c.sizes[t]
	delete(c.sizes, t)
	c.Backend.Free(t)
}

func (c *counter) Conv3x3(dst, x, w, b kernels.Tensor, s kernels.ConvShape) {
	c.packA = max(c.packA, round16(s.Cout)*s.Cin*9)
	c.Backend.Conv3x3(dst, x, w, b, s)
}

func (c *counter) Conv3x3Backward(dx, dy, y, w kernels.Tensor, s kernels.ConvShape) {
	c.packA = max(c.packA, round16(s.Cin)*s.Cout*9)
	c.convOut = max(c.convOut, dy.Len())
	c.flipped[w] = w.Len()
	c.Backend.Conv3x3Backward(dx, dy, y, w, s)
}

func (c *counter) MatMul(dst, a, b kernels.Tensor, m, n, k int, transA, transB bool, alpha, beta float32) {
	c.packA = max(c.packA, round16(m)*k)
	c.Backend.MatMul(dst, a, b, m, n, k, transA, transB, alpha, beta)
}

func (c *counter) SortRows(dst, idx, src kernels.Tensor, rows, cols int) {
	c.sort = max(c.sort, 2*rows*pow2(cols))
	c.Backend.SortRows(dst, idx, src, rows, cols)
}

// scratch is what the memory model says backend keeps, from the counts.
func (c *counter) scratch(backend string) int64 {
	switch backend {
	case "cpu":
		return 4 * (int64(c.convOut) + int64(c.packA) + int64(runtime.GOMAXPROCS(0))*(256*192+256))
	case "webgpu":
		var f int64
		for _, n := range c.flipped {
			f += int64(n)
		}
		return 4 * (f + int64(c.convOut) + int64(c.sort))
	}
	return 0
}

// memCase is one configuration of the model's test.
type memCase struct {
	name    string
	kv      map[string]string
	content [2]int
	styles  [][2]int
	masks   bool // two content masks (one per style image) and a style mask
}

func (mc memCase) job(t *testing.T) Job {
	t.Helper()
	s := Defaults()
	s.Iterations = 2
	s.ContentLayers = []string{"conv3_1"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 0.4}, {"conv2_1", 0.3}, {"conv3_1", 0.3}}
	for k, v := range mc.kv {
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	job := Job{Content: testImage(mc.content[0], mc.content[1], 1)}
	for i, sz := range mc.styles {
		job.Styles = append(job.Styles, testImage(sz[0], sz[1], float64(i)+2))
	}
	if mc.masks {
		s.ContentMasks = []string{halfMask(mc.content[0], mc.content[1], true), halfMask(mc.content[0], mc.content[1], false)}
		s.StyleMasks = []string{halfMask(mc.styles[0][0], mc.styles[0][1], true)}
	}
	job.Settings = s
	return job
}

var memCases = []memCase{
	{"lbfgs gram", map[string]string{"image_size": "48"}, [2]int{60, 40}, [][2]int{{50, 50}}, false},
	{"adam cov", map[string]string{"image_size": "48", "optimizer": "adam", "style_stat": "cov"}, [2]int{40, 60}, [][2]int{{30, 50}}, false},
	{"meanstd style_scale", map[string]string{"image_size": "40", "style_stat": "meanstd", "style_scale": "1.5"}, [2]int{50, 50}, [][2]int{{64, 32}}, false},
	{"mmd two styles", map[string]string{"image_size": "40", "style_stat": "mmd", "lbfgs_num_correction": "3"}, [2]int{50, 50}, [][2]int{{20, 40}, {40, 20}}, false},
	{"swd", map[string]string{"image_size": "40", "style_cost": "swd"}, [2]int{50, 40}, [][2]int{{40, 40}}, false},
	{"masks", map[string]string{"image_size": "48"}, [2]int{48, 48}, [][2]int{{40, 40}, {48, 32}}, true},
	{"coarse to fine", map[string]string{"image_size": "56", "coarse_to_fine": "1", "optimizer": "adam"}, [2]int{56, 40}, [][2]int{{40, 40}}, false},
	{"content only", map[string]string{"image_size": "40", "style_weight": "0", "tv_weight": "1"}, [2]int{40, 40}, nil, false},
	// Tiled (tile_size): the tile stage, and the style targets through windows.
	{"tiled gram", map[string]string{"image_size": "80", "tile_size": "40"}, [2]int{80, 64}, [][2]int{{80, 80}}, false},
	{"tiled cov adam c2f", map[string]string{"image_size": "96", "tile_size": "44", "style_stat": "cov", "optimizer": "adam", "coarse_to_fine": "1"}, [2]int{96, 64}, [][2]int{{64, 96}}, false},
	{"tiled meanstd masks", map[string]string{"image_size": "80", "tile_size": "40", "style_stat": "meanstd"}, [2]int{80, 80}, [][2]int{{80, 80}, {60, 80}}, true},
	{"tiled swd", map[string]string{"image_size": "80", "tile_size": "48", "style_cost": "swd"}, [2]int{80, 60}, [][2]int{{80, 80}}, false},
	{"tiled mmd style_scale", map[string]string{"image_size": "72", "tile_size": "40", "style_stat": "mmd", "style_scale": "2"}, [2]int{72, 72}, [][2]int{{50, 50}}, false},
}

// The memory model is exactly what a run allocates: its tensors' peak and
// largest tensor, and the CPU's and WebGPU's scratch behind the
// operations, for every statistic, cost, optimiser, mask, schedule and
// tiling; the weights are the network's.
func TestMemoryModelIsTheRunsPeak(t *testing.T) {
	for _, mc := range memCases {
		t.Run(mc.name, func(t *testing.T) {
			job := mc.job(t)
			c := newCounter(cpu.New(1))
			net := syntheticNet(t, kernels.Checked(c), "conv3_1")
			weights := c.live
			c.peak, c.largest = weights, 0
			if _, err := Run(context.Background(), net.Backend(), net, job, Hooks{}); err != nil {
				t.Fatal(err)
			}
			for _, backend := range []string{"cpu", "webgpu", "naive"} {
				m, stages, err := EstimateMemory(backend, weights, job.Settings, ShapeOf(job), job.Settings.TileSize)
				if err != nil {
					t.Fatal(err)
				}
				if m.Weights != weights || m.Tensors != c.peak-weights || m.Largest != c.largest || m.Scratch != c.scratch(backend) {
					t.Errorf("%s: model weights %d, tensors %d, largest %d, scratch %d; the run: %d, %d, %d, %d",
						backend, m.Weights, m.Tensors, m.Largest, m.Scratch, weights, c.peak-weights, c.largest, c.scratch(backend))
				}
				tiled := stages[len(stages)-1].Tile > 0
				if tiled != (job.Settings.TileSize > 0) {
					t.Errorf("stages %+v", stages)
				}
			}
			if c.live != weights {
				t.Errorf("the run left %d bytes allocated", c.live-weights)
			}
		})
	}
}

// The model grows with the image untiled, and stays at the tile's figure
// tiled, whatever the image's size (the host's planes aside).
func TestMemoryModelTiledIsBounded(t *testing.T) {
	s := Defaults()
	s.ContentLayers = []string{"conv3_2"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 0.5}, {"conv2_1", 0.3}, {"conv3_1", 0.2}}
	shape := JobShape{Content: [2]int{3, 2}, Styles: [][2]int{{1, 1}}}
	var prev, tile512 int64
	for _, size := range []int{256, 512, 1024, 2048, 4096} {
		s.ImageSize = size
		u, _, err := EstimateMemory("cpu", 0, s, shape, 0)
		if err != nil {
			t.Fatal(err)
		}
		if u.Tensors <= 3*prev {
			t.Errorf("%d px untiled: %s, not ~4× the previous %s", size, MiB(u.Tensors), MiB(prev))
		}
		prev = u.Tensors
		tl, _, err := EstimateMemory("cpu", 0, s, shape, 512)
		if err != nil {
			t.Fatal(err)
		}
		if size > 512 {
			if tile512 == 0 {
				tile512 = tl.Tensors
			}
			if tl.Tensors != tile512 {
				t.Errorf("%d px in 512 px tiles: %s, want the tile's %s", size, MiB(tl.Tensors), MiB(tile512))
			}
		}
		t.Logf("%d px: untiled %s (+ scratch %s, host %s); 512 px tiles %s (+ %s, host %s)",
			size, MiB(u.Tensors), MiB(u.Scratch), MiB(u.Host), MiB(tl.Tensors), MiB(tl.Scratch), MiB(tl.Host))
	}
}

// PlanRun: a run that fits is untiled; one that does not is tiled with the
// largest tile that fits; one that cannot fit even tiled is refused with
// the reason and the largest size that fits; tile_size forces tiles.
func TestPlanRun(t *testing.T) {
	b := kernels.Checked(cpu.New(1))
	net := syntheticNet(t, b, "conv3_1")
	s := Defaults()
	s.ContentLayers = []string{"conv3_1"}
	s.StyleLayers = []LayerWeight{{"conv1_1", 0.5}, {"conv2_1", 0.5}}
	shape := JobShape{Content: [2]int{4, 3}, Styles: [][2]int{{1, 1}}}
	plan := func(kv ...string) Plan {
		t.Helper()
		s := s
		for i := 0; i < len(kv); i += 2 {
			if err := s.Set(kv[i], kv[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		p, err := PlanRun(b, net, s, shape)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := plan("image_size", "512", "memory_limit", "4096")
	if !p.Fits || p.Tiled() || p.BudgetFrom != "memory_limit" || p.Budget != 4096<<20 || p.MaxUntiled < 512 || p.MaxSize != MaxImageSize {
		t.Errorf("512 px in 4 GiB: %+v", p)
	}
	p = plan("image_size", "2048", "memory_limit", "1024")
	if !p.Fits || !p.Tiled() || p.Memory.Total() > 1<<30 || p.Untiled.Total() <= 1<<30 || p.MaxUntiled >= 2048 || p.MaxUntiled < 256 {
		t.Errorf("2048 px in 1 GiB: %+v", p)
	}
	bigger := plan("image_size", "2048", "memory_limit", "1024", "tile_size", fmt.Sprint(p.Tile+8))
	if bigger.Fits {
		t.Errorf("tile %d fits where the plan chose %d", bigger.Tile, p.Tile)
	}
	t.Logf("2048 px in 1 GiB: untiled %s, tiles of %d px: %s; largest untiled %d px", MiB(p.Untiled.Total()), p.Tile, MiB(p.Memory.Total()), p.MaxUntiled)
	p = plan("image_size", "4096", "memory_limit", "64")
	if p.Fits || p.MaxSize == 0 || p.MaxSize >= 4096 || !strings.Contains(p.Reason, fmt.Sprintf("the largest image_size that fits is %d", p.MaxSize)) ||
		!strings.Contains(p.Reason, "more than the budget of 64 MiB (memory_limit)") {
		t.Errorf("4096 px in 64 MiB: %+v", p)
	}
	if q := plan("image_size", fmt.Sprint(p.MaxSize), "memory_limit", "64"); !q.Fits {
		t.Errorf("the largest size that fits, %d, does not: %+v", p.MaxSize, q)
	}
	p = plan("image_size", "256", "tile_size", "24")
	if p.Fits || !strings.Contains(p.Reason, "tile_size 24 is too small for conv3_1") {
		t.Errorf("tile_size 24: %+v", p)
	}
	p = plan("image_size", "256", "tile_size", "128")
	if !p.Fits || p.Tile != 128 || len(p.Stages) != 1 || p.Stages[0].Tile != 128 || p.Stages[0].Margin != 12 {
		t.Errorf("tile_size 128: %+v", p)
	}
}

// A run that cannot fit is refused before any work: no allocation beyond
// the weights, no progress, the model's reason.
func TestRunRefusesWhatCannotFit(t *testing.T) {
	c := newCounter(cpu.New(1))
	net := syntheticNet(t, kernels.Checked(c), "conv2_1")
	weights := c.live
	s := smallSettings()
	s.ImageSize = 4096
	s.MemoryLimit = 64
	reports := 0
	_, err := Run(context.Background(), net.Backend(), net, Job{Content: testImage(30, 20, 1), Styles: []image.Image{testImage(16, 16, 3)}, Settings: s},
		Hooks{Progress: func(Progress) { reports++ }})
	if err == nil || !strings.HasPrefix(err.Error(), "transfer: a 4096×2731 image needs") || !strings.Contains(err.Error(), "the largest image_size that fits is") {
		t.Fatalf("err = %v", err)
	}
	if c.peak != weights || reports != 0 {
		t.Errorf("the refused run allocated %d bytes and reported %d times", c.peak-weights, reports)
	}
}

// Margins: the receptive-field radius, a multiple of the stride.
func TestTileMargin(t *testing.T) {
	for layer, want := range map[string][3]int{
		"conv1_1": {3, 1, 2}, "conv1_2": {5, 1, 3}, "conv2_1": {10, 2, 6}, "conv3_1": {24, 4, 12},
		"conv3_2": {32, 4, 16}, "conv4_2": {84, 8, 48}, "conv5_1": {156, 16, 80},
	} {
		size, stride := receptive(layer)
		if size != want[0] || stride != want[1] || TileMargin(layer) != want[2] {
			t.Errorf("%s: receptive field %d, stride %d, margin %d; want %v", layer, size, stride, TileMargin(layer), want)
		}
	}
	if MinTile("conv3_2") != 40 || MinTile("conv5_1") != 176 {
		t.Errorf("MinTile: conv3_2 %d, conv5_1 %d", MinTile("conv3_2"), MinTile("conv5_1"))
	}
}

// The net's weights are counted as uploaded.
func TestMemoryModelWeights(t *testing.T) {
	c := newCounter(cpu.New(1))
	net, err := model.New(kernels.Checked(c), model.NewSynthetic(1, "conv2_2"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanRun(net.Backend(), net, smallSettings(), SquareShape(1))
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory.Weights != c.live || p.Memory.Backend != "cpu" {
		t.Errorf("weights %d, want %d; backend %s", p.Memory.Weights, c.live, p.Memory.Backend)
	}
}
