package session

import (
	"testing"

	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
)

// One memory model: transfer's formula (transfer.EstimateMemory, which the
// run plans its tiles with and the page shows) gives exactly what
// EstimateBytes measures by running the job on a backend that only counts
// — weights, the run's peak, the WebGPU scratch and the largest tensor —
// untiled and tiled.
func TestEstimateBytesIsTheMemoryModel(t *testing.T) {
	src := model.NewSynthetic(1, "conv2_1")
	for _, kv := range []map[string]string{
		{"optimizer": "lbfgs"},
		{"optimizer": "adam", "style_stat": "cov"},
		{"style_cost": "swd", "image_size": "40"},
		{"coarse_to_fine": "1", "image_size": "48", "style_stat": "meanstd"},
		{"image_size": "64", "tile_size": "32"},
		{"image_size": "72", "tile_size": "40", "coarse_to_fine": "1", "style_stat": "mmd", "optimizer": "adam"},
	} {
		job := smallJob(t, 32, 3)
		for k, v := range map[string]string{"style_layers": "conv1_1:0.5,conv2_1:0.5", "content_layers": "conv2_1"} {
			if err := job.Settings.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range kv {
			if err := job.Settings.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		est, err := EstimateBytes(src, job)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := transfer.EstimateMemory("webgpu", est.Weights, job.Settings, transfer.ShapeOf(job), job.Settings.TileSize)
		if err != nil {
			t.Fatal(err)
		}
		if m.Tensors != est.Run || m.Scratch != est.GPU || m.Largest != est.Largest || m.Device() != est.Total() {
			t.Errorf("%v: the formula says %+v, EstimateBytes measures %+v", kv, m, est)
		}
	}
}
