package transfer

import "github.com/crema-app/crema/model/weights"

// PageStyleLayers are the page's style-layer sliders: Gatys et al.'s five,
// the layers the presets weigh.
var PageStyleLayers = []string{"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"}

// PageDeepest is the deepest convolution any setting the page offers needs
// (its style sliders and content layer choices): the page's weight pack
// stops there.
func PageDeepest() string {
	deepest := 0
	for i, c := range weights.VGG19 {
		for _, l := range PageStyleLayers {
			if c.Name == l {
				deepest = max(deepest, i)
			}
		}
	}
	return weights.VGG19[deepest].Name
}
