package session

import (
	"context"
	"fmt"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
)

// Estimate is the device memory a run needs, in bytes.
type Estimate struct {
	// Weights is the network's weights as uploaded (float32).
	Weights int64 `json:"weights"`
	// Run is the most the run allocates at once beyond the weights: the
	// image, activations and gradients of every layer to the deepest in
	// use, the losses' targets and buffers, the optimiser's state — every
	// tensor the run asks a backend for, at the largest stage.
	Run int64 `json:"run"`
	// GPU is what the WebGPU backend adds behind those tensors: the
	// flipped weights of the input-gradient convolutions, the ReLU-masked
	// gradient of the largest layer, and the sort's padded keys and ids.
	GPU int64 `json:"gpu"`
	// Largest is the largest single tensor (which must fit in one GPU
	// buffer).
	Largest int64 `json:"largest"`
}

// Total is everything a GPU must hold at once.
func (e Estimate) Total() int64 { return e.Weights + e.Run + e.GPU }

// EstimateBytes measures the memory of a run: what running job on network
// weights src allocates, found by running it — transfer.Run itself, one
// iteration per stage — on a backend that computes nothing and counts every
// allocation (so that it cannot drift from what a run does: every
// statistic, cost, mask, tile and optimiser is counted as it is
// implemented), plus what the WebGPU backend keeps behind those tensors. It
// takes a fraction of a real iteration's host work (resizing the images)
// and no device work. It is the measurement that transfer's memory model
// (transfer.PlanRun, which the session and transfer.Run hold against the
// GPU's budget, webgpu.Backend.Budget) is tested against. The meter has no
// budget of its own, so a run is planned against the host's.
func EstimateBytes(src model.WeightSource, job transfer.Job) (Estimate, error) {
	m := &meter{}
	net, err := model.New(kernels.Checked(m), src)
	if err != nil {
		return Estimate{}, err
	}
	return m.estimate(net, job)
}

// estimate measures job on the meter m whose weights are net's.
func (m *meter) estimate(net *model.Net, job transfer.Job) (Estimate, error) {
	weights := m.live
	m.peak, m.largest, m.flipped, m.mask, m.sort = m.live, 0, map[kernels.Tensor]int64{}, 0, 0
	job.Settings.Iterations = 1
	if job.Settings.CoarseToFine {
		job.Settings.Iterations = 2 // a stage at half size, then one at full size
	}
	job.Settings.PreviewEvery = 0
	if _, err := transfer.Run(context.Background(), net.Backend(), net, job, transfer.Hooks{}); err != nil {
		return Estimate{}, err
	}
	var flipped int64
	for _, b := range m.flipped {
		flipped += b
	}
	return Estimate{Weights: weights, Run: m.peak - weights, GPU: flipped + m.mask + m.sort, Largest: m.largest}, nil
}

// meter is a kernels.Backend that computes nothing (Read gives zeros) and
// counts bytes: those allocated (live, peak, largest) and the WebGPU
// backend's scratch behind the operations (flipped, mask, sort).
type meter struct {
	live, peak, largest int64
	flipped             map[kernels.Tensor]int64 // conv weights → their flipped copy's bytes
	mask, sort          int64                    // the largest ReLU mask scratch; sort keys and ids
}

// meterTensor is a tensor of n elements with no data.
type meterTensor struct{ n int }

func (t *meterTensor) Len() int { return t.n }

var _ kernels.Backend = (*meter)(nil)

func (m *meter) Name() string     { return "meter" }
func (m *meter) Describe() string { return "a backend that only counts memory" }

func (m *meter) Alloc(n int) (kernels.Tensor, error) {
	if n < 0 {
		return nil, fmt.Errorf("session: cannot allocate %d floats", n)
	}
	b := 4 * int64(n)
	m.live += b
	m.peak = max(m.peak, m.live)
	m.largest = max(m.largest, b)
	return &meterTensor{n}, nil
}

func (m *meter) Free(t kernels.Tensor) {
	if t != nil {
		m.live -= 4 * int64(t.Len())
	}
}

func (m *meter) Write(kernels.Tensor, []float32) {}
func (m *meter) Read(dst []float32, _ kernels.Tensor) error {
	clear(dst)
	return nil
}
func (m *meter) ReadAt(dst []float32, _ kernels.Tensor, _ int) error {
	clear(dst)
	return nil
}
func (m *meter) Copy(_, _ kernels.Tensor)                               {}
func (m *meter) Conv3x3(_, _, _, _ kernels.Tensor, _ kernels.ConvShape) {}
func (m *meter) Conv3x3Backward(_, dy, _, w kernels.Tensor, _ kernels.ConvShape) {
	if m.flipped != nil {
		m.flipped[w] = 4 * int64(w.Len())
	}
	m.mask = max(m.mask, 4*int64(dy.Len()))
}
func (m *meter) Pool2x2(_, _ kernels.Tensor, _ kernels.PoolShape, _ kernels.Pooling)            {}
func (m *meter) Pool2x2Backward(_, _, _ kernels.Tensor, _ kernels.PoolShape, _ kernels.Pooling) {}
func (m *meter) MatMul(_, _, _ kernels.Tensor, _, _, _ int, _, _ bool, _, _ float32)            {}
func (m *meter) Fill(kernels.Tensor, float32)                                                   {}
func (m *meter) Scale(kernels.Tensor, float32)                                                  {}
func (m *meter) Axpy(kernels.Tensor, float32, kernels.Tensor)                                   {}
func (m *meter) Mul(_, _, _ kernels.Tensor)                                                     {}
func (m *meter) Div(_, _, _ kernels.Tensor)                                                     {}
func (m *meter) Sqrt(_, _ kernels.Tensor, _ float32)                                            {}
func (m *meter) RowSum(_, _ kernels.Tensor, _, _ int, _ float32)                                {}
func (m *meter) AddRows(_, _ kernels.Tensor, _, _ int, _ float32)                               {}
func (m *meter) MulRows(_, _ kernels.Tensor, _, _ int)                                          {}
func (m *meter) SortRows(_, _, _ kernels.Tensor, rows, cols int) {
	p := 1
	for p < cols {
		p *= 2
	}
	m.sort = max(m.sort, 2*4*int64(rows)*int64(p))
}
func (m *meter) ScatterRows(_, _, _ kernels.Tensor, _, _ int)                            {}
func (m *meter) ResampleRows(_, _ kernels.Tensor, _, _, _ int)                           {}
func (m *meter) Dot(kernels.Tensor, int, kernels.Tensor, kernels.Tensor)                 {}
func (m *meter) Dots(kernels.Tensor, int, []kernels.Tensor, []kernels.Tensor)            {}
func (m *meter) Sum(kernels.Tensor, int, kernels.Tensor)                                 {}
func (m *meter) TV(_ kernels.Tensor, _ int, _, _ kernels.Tensor, _, _, _ int, _ float32) {}
func (m *meter) Adam(_, _, _, _ kernels.Tensor, _ kernels.AdamParams)                    {}
