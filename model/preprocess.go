package model

import "github.com/crema-app/crema/model/weights"

// ToInput sets dst: [3, H, W] to the network input for rgb: [3, H, W], an
// RGB image with values in [0, 1], using the weights' preprocessing (channel
// order, scale, mean, std).
func ToInput(dst, rgb []float32, pre weights.Preprocess) {
	plane := len(rgb) / 3
	for c := 0; c < 3; c++ {
		src := c
		if pre.ChannelOrder == "BGR" {
			src = 2 - c
		}
		s, m, sd := pre.Scale, pre.Mean[c], pre.Std[c]
		in, out := rgb[src*plane:(src+1)*plane], dst[c*plane:(c+1)*plane]
		for i, v := range in {
			out[i] = (v*s - m) / sd
		}
	}
}

// FromInput is the inverse of ToInput: dst: [3, H, W] RGB in [0, 1]-units
// (not clipped) from a network input in: [3, H, W].
func FromInput(dst, in []float32, pre weights.Preprocess) {
	plane := len(in) / 3
	for c := 0; c < 3; c++ {
		d := c
		if pre.ChannelOrder == "BGR" {
			d = 2 - c
		}
		s, m, sd := pre.Scale, pre.Mean[c], pre.Std[c]
		src, out := in[c*plane:(c+1)*plane], dst[d*plane:(d+1)*plane]
		for i, v := range src {
			out[i] = (v*sd + m) / s
		}
	}
}
