package model

import (
	"math"
	"math/rand/v2"

	"github.com/crema-app/crema/model/weights"
)

// Synthetic is a WeightSource of random VGG-19 weights of the right shapes,
// for tests and benchmarks of layers whose real weights are not at hand.
// Weights are He-normal (std √(2/(9·Cin))) so activations neither vanish nor
// explode with depth; biases are small and of both signs, so that ReLUs cut.
// Preprocessing is Caffe's.
type Synthetic struct {
	tensors map[string][]float32
	shapes  map[string][]int
}

// NewSynthetic makes weights for every conv layer up to and including upTo
// ("" for all of VGG-19), reproducibly from seed.
func NewSynthetic(seed uint64, upTo string) *Synthetic {
	s := &Synthetic{tensors: map[string][]float32{}, shapes: map[string][]int{}}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, spec := range weights.VGG19 {
		w := make([]float32, spec.Cout*spec.Cin*9) // [Cout, Cin, 3, 3]
		std := math.Sqrt(2 / float64(9*spec.Cin))
		for i := range w {
			w[i] = float32(rng.NormFloat64() * std)
		}
		b := make([]float32, spec.Cout) // [Cout]
		for i := range b {
			b[i] = float32(rng.NormFloat64() * 0.05)
		}
		s.tensors[spec.Name+".weight"], s.shapes[spec.Name+".weight"] = w, []int{spec.Cout, spec.Cin, 3, 3}
		s.tensors[spec.Name+".bias"], s.shapes[spec.Name+".bias"] = b, []int{spec.Cout}
		if spec.Name == upTo {
			break
		}
	}
	return s
}

// Tensor implements WeightSource.
func (s *Synthetic) Tensor(name string) ([]float32, []int, bool) {
	t, ok := s.tensors[name]
	return t, s.shapes[name], ok
}

// Preprocess implements WeightSource.
func (s *Synthetic) Preprocess() weights.Preprocess { return weights.Caffe }
