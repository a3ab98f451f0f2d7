package transfer

import "math"

// Luminance-only transfer (Gatys et al. 2016, "Preserving color in neural
// artistic style transfer"): the optimisation sees only the luminance Y of
// YIQ, the style's luminance matched in mean and deviation to the
// content's, and the result's Y is recombined with the content's I and Q.

// yiq converts planes rgb: [3, H, W] to YIQ planes [3, H, W].
func yiq(rgb []float32) []float32 {
	n := len(rgb) / 3
	out := make([]float32, len(rgb))
	for i := 0; i < n; i++ {
		r, g, b := rgb[i], rgb[n+i], rgb[2*n+i]
		out[i] = 0.299*r + 0.587*g + 0.114*b
		out[n+i] = 0.595716*r - 0.274453*g - 0.321263*b
		out[2*n+i] = 0.211456*r - 0.522591*g + 0.311135*b
	}
	return out
}

// fromYIQ is yiq's inverse.
func fromYIQ(p []float32) []float32 {
	n := len(p) / 3
	out := make([]float32, len(p))
	for i := 0; i < n; i++ {
		y, ii, q := p[i], p[n+i], p[2*n+i]
		out[i] = y + 0.9563*ii + 0.6210*q
		out[n+i] = y - 0.2721*ii - 0.6474*q
		out[2*n+i] = y - 1.1070*ii + 1.7046*q
	}
	return out
}

// grey returns rgb's luminance in all three planes, optionally matched to a
// target mean and deviation (when sd > 0).
func grey(rgb []float32, mean, sd float64) []float32 {
	n := len(rgb) / 3
	y := yiq(rgb)[:n]
	if sd > 0 {
		m, s := meanStd(y)
		k := float32(sd / math.Max(s, 1e-6))
		for i := range y {
			y[i] = (y[i]-float32(m))*k + float32(mean)
		}
	}
	out := make([]float32, 3*n)
	copy(out, y)
	copy(out[n:], y)
	copy(out[2*n:], y)
	return out
}

func meanStd(v []float32) (mean, sd float64) {
	for _, x := range v {
		mean += float64(x)
	}
	mean /= float64(len(v))
	for _, x := range v {
		d := float64(x) - mean
		sd += d * d
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}

// recolor returns the result's luminance with the content's chroma:
// out = RGB(Y(result), I(content), Q(content)). Both are [3, H, W].
func recolor(result, content []float32) []float32 {
	n := len(result) / 3
	r, c := yiq(result), yiq(content)
	copy(r[n:], c[n:])
	return fromYIQ(r)
}
