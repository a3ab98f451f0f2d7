package weights

import "strings"

// ConvSpec is one 3×3 convolution of VGG-19: its weight is
// "<Name>.weight" [Cout, Cin, 3, 3] (OIHW) and its bias "<Name>.bias" [Cout].
type ConvSpec struct {
	Name      string // "conv1_1" … "conv5_4"
	Cin, Cout int
}

// VGG19 lists VGG-19's sixteen convolutions in network order. A 2×2 pooling
// follows conv1_2, conv2_2, conv3_4, conv4_4 and conv5_4.
var VGG19 = []ConvSpec{
	{Name: "conv1_1", Cin: 3, Cout: 64},
	{Name: "conv1_2", Cin: 64, Cout: 64},
	{Name: "conv2_1", Cin: 64, Cout: 128},
	{Name: "conv2_2", Cin: 128, Cout: 128},
	{Name: "conv3_1", Cin: 128, Cout: 256},
	{Name: "conv3_2", Cin: 256, Cout: 256},
	{Name: "conv3_3", Cin: 256, Cout: 256},
	{Name: "conv3_4", Cin: 256, Cout: 256},
	{Name: "conv4_1", Cin: 256, Cout: 512},
	{Name: "conv4_2", Cin: 512, Cout: 512},
	{Name: "conv4_3", Cin: 512, Cout: 512},
	{Name: "conv4_4", Cin: 512, Cout: 512},
	{Name: "conv5_1", Cin: 512, Cout: 512},
	{Name: "conv5_2", Cin: 512, Cout: 512},
	{Name: "conv5_3", Cin: 512, Cout: 512},
	{Name: "conv5_4", Cin: 512, Cout: 512},
}

// Conv returns the VGG-19 convolution called name ("conv3_1").
func Conv(name string) (ConvSpec, bool) {
	for _, c := range VGG19 {
		if c.Name == name {
			return c, true
		}
	}
	return ConvSpec{}, false
}

// WeightShape is the OIHW shape of the convolution's weight tensor.
func (c ConvSpec) WeightShape() []int { return []int{c.Cout, c.Cin, 3, 3} }

// BiasShape is the shape of the convolution's bias tensor.
func (c ConvSpec) BiasShape() []int { return []int{c.Cout} }

// TensorShape returns the shape VGG-19 requires of the tensor called name
// ("conv2_1.weight" → [128, 64, 3, 3]) and whether name is a VGG-19 tensor.
func TensorShape(name string) ([]int, bool) {
	layer, kind, ok := strings.Cut(name, ".")
	if !ok {
		return nil, false
	}
	c, ok := Conv(layer)
	if !ok {
		return nil, false
	}
	switch kind {
	case "weight":
		return c.WeightShape(), true
	case "bias":
		return c.BiasShape(), true
	}
	return nil, false
}
