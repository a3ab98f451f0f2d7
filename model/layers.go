package model

import (
	"fmt"
	"strings"

	"github.com/crema-app/crema/model/weights"
)

// Layer names, the one place they are defined: VGG-19's sixteen
// convolutions conv1_1 … conv5_4 (weights.VGG19, in network order) and the
// poolings pool1 … pool5. crema's convX_Y feature is post-ReLU, so reluX_Y
// names the same tensor and Canonical maps it to convX_Y.

// Canonical maps reluX_Y to convX_Y and lower-cases and trims name; other
// names come back otherwise unchanged.
func Canonical(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if rest, ok := strings.CutPrefix(name, "relu"); ok {
		return "conv" + rest
	}
	return name
}

// Convs lists VGG-19's convolutions in network order.
func Convs() []string {
	out := make([]string, len(weights.VGG19))
	for i, c := range weights.VGG19 {
		out[i] = c.Name
	}
	return out
}

// ConvsUpTo lists the convolutions from conv1_1 up to and including last.
func ConvsUpTo(last string) []string {
	all := Convs()
	for i, c := range all {
		if c == last {
			return all[:i+1]
		}
	}
	return all
}

// LookupConv returns the canonical name of the convolution called name
// (convX_Y or reluX_Y), or an error naming VGG-19's layers.
func LookupConv(name string) (string, error) {
	c := Canonical(name)
	if _, ok := weights.Conv(c); !ok {
		return "", fmt.Errorf("model: unknown layer %q (VGG-19 has conv1_1 … conv5_4, also called relu1_1 … relu5_4)", name)
	}
	return c, nil
}

// Held describes which convolutions the loaded weights hold, for messages:
// "conv1_1 … conv3_4", or "no conv layers".
func (n *Net) Held() string {
	have := n.Layers()
	if len(have) == 0 {
		return "no conv layers"
	}
	return have[0] + " … " + have[len(have)-1]
}

// Why says why layer cannot be computed on n ("" when it can): either it
// is not in the loaded weights, or a convolution before it is not. The
// sentence starts with the layer's name, so callers can prefix its role.
func (n *Net) Why(layer string) string {
	_, err := n.depth(layer)
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), "model: layer ")
}
