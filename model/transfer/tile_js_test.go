package transfer

import (
	"context"
	"image"
	"math"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/model"
)

// TestWebGPUTiledRunFitsTheModelsBudget gives the GPU (in the browser:
// make test-browser) a budget that the run fits only in tiles, by the
// memory model's WebGPU figure: the run plans its tiles itself, stays
// within the budget (an allocation past it would fail the run), and ends
// with a loss close to the same tiled run's on the CPU.
func TestWebGPUTiledRunFitsTheModelsBudget(t *testing.T) {
	src := model.NewSynthetic(1, "conv2_1")
	g, gpu, net := gpuNet(t, src)
	s := smallSettings()
	s.ImageSize, s.Iterations, s.Optimizer = 64, 6, "adam"
	job := Job{Content: testImage(64, 48, 1), Styles: []image.Image{testImage(48, 48, 3)}, Settings: s}
	shape := ShapeOf(job)
	p, err := PlanRun(gpu, net, s, shape)
	if err != nil {
		t.Fatal(err)
	}
	tiled, _, err := EstimateMemory("webgpu", p.Memory.Weights, s, shape, 40)
	if err != nil {
		t.Fatal(err)
	}
	budget := tiled.Device() + 256<<10 // the backend's reductions' partials, which the model leaves out
	if p.Untiled.Device() <= budget {
		t.Fatalf("untiled %d bytes fit the budget %d: the test needs a run that fits only in tiles", p.Untiled.Device(), budget)
	}
	g.SetBudget(budget)
	run := func(b kernels.Backend, n *model.Net) (Progress, int) {
		var last Progress
		tiles := 0
		if _, err := Run(context.Background(), b, n, job, Hooks{Progress: func(p Progress) {
			last = p
			tiles = max(tiles, p.Tiles)
		}}); err != nil {
			t.Fatalf("%s: %v", b.Name(), err)
		}
		return last, tiles
	}
	gl, gt := run(gpu, net)
	if gt == 0 || gl.Iter != 6 {
		t.Fatalf("the GPU run was not tiled (%d tiles) or ended at %d", gt, gl.Iter)
	}
	c := kernels.Checked(cpu.New(0))
	cn, err := model.New(c, src)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := PlanRun(gpu, net, s, shape)
	if err != nil || !p2.Fits || p2.Tile == 0 {
		t.Fatalf("the plan in the budget: %+v, %v", p2, err)
	}
	job.Settings.TileSize = p2.Tile // the GPU's tiles, on the CPU
	cl, _ := run(c, cn)
	t.Logf("budget %d KiB (untiled %d KiB), %d px tiles: GPU tile loss %.5g, CPU %.5g", budget>>10, p.Untiled.Device()>>10, p2.Tile, gl.Total, cl.Total)
	if math.Abs(gl.Total-cl.Total) > 0.05*cl.Total {
		t.Errorf("the last tile's loss: GPU %g, CPU %g", gl.Total, cl.Total)
	}
}
