package kerneltest

import "github.com/crema-app/crema/kernels"

// NamedConv is a VGG-19 convolution's shape under its layer's name.
type NamedConv struct {
	Name  string
	Shape kernels.ConvShape
}

// VGGConvs are the distinct conv shapes of VGG-19 through conv5_1 on a
// size×size image (conv3_2…3_4, conv4_2…4_4 and conv5_1…5_4 share a shape),
// for benchmarks.
func VGGConvs(size int) []NamedConv {
	s := size
	return []NamedConv{
		{"conv1_1", kernels.ConvShape{Cin: 3, Cout: 64, H: s, W: s}},
		{"conv1_2", kernels.ConvShape{Cin: 64, Cout: 64, H: s, W: s}},
		{"conv2_1", kernels.ConvShape{Cin: 64, Cout: 128, H: s / 2, W: s / 2}},
		{"conv2_2", kernels.ConvShape{Cin: 128, Cout: 128, H: s / 2, W: s / 2}},
		{"conv3_1", kernels.ConvShape{Cin: 128, Cout: 256, H: s / 4, W: s / 4}},
		{"conv3_2", kernels.ConvShape{Cin: 256, Cout: 256, H: s / 4, W: s / 4}},
		{"conv4_1", kernels.ConvShape{Cin: 256, Cout: 512, H: s / 8, W: s / 8}},
		{"conv4_2", kernels.ConvShape{Cin: 512, Cout: 512, H: s / 8, W: s / 8}},
		{"conv5_1", kernels.ConvShape{Cin: 512, Cout: 512, H: s / 16, W: s / 16}},
	}
}
