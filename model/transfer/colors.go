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

// Colour control before the run (Gatys et al. 2017, "Controlling Perceptual
// Factors in Neural Style Transfer", §5: colour histogram matching). An
// image's colours are recoloured by the affine map x' = A·(x − μ_s) + μ_t
// that gives them the target's RGB mean μ_t and covariance Σ_t:
// A = Σ_t^½·Σ_s^-½, with the symmetric (eigendecomposition) square roots,
// the variant Gatys et al. take from Image Analogies. Cholesky factors
// (A = L_t·L_s⁻¹) match the same two moments, but they depend on the order
// of the channels (R, G, B and B, G, R give different maps for the same
// pair of images); the symmetric roots treat every channel alike. A·Σ_s·Aᵀ
// = Σ_t^½·Σ_s^-½·Σ_s·Σ_s^-½·Σ_t^½ = Σ_t. Eigenvalues are floored at
// colorEps, so a flat image does not blow up its noise.
//
// match_content recolours each style image to the content's statistics
// (the result keeps the content's colours); keep_style recolours the
// content to the style images' (their pixels pooled by the blend weights),
// so that the result takes the style's palette. The recoloured image is
// clipped to [0, 1].

// Colour controls, as the settings spell them.
const (
	ColorNone         = "none"
	ColorMatchContent = "match_content"
	ColorKeepStyle    = "keep_style"
)

// ColorControls lists the colour controls, the default first.
var ColorControls = []string{ColorNone, ColorMatchContent, ColorKeepStyle}

// colorEps floors the covariances' eigenvalues (colours in [0, 1] units).
const colorEps = 1e-5

// colorStats are the RGB mean and covariance of an image's pixels.
type colorStats struct {
	mean [3]float64
	cov  [3][3]float64
}

// statsOf measures planes p: [3, H, W].
func statsOf(p []float32) colorStats {
	n := len(p) / 3
	var st colorStats
	for c := 0; c < 3; c++ {
		var s float64
		for _, v := range p[c*n : (c+1)*n] {
			s += float64(v)
		}
		st.mean[c] = s / float64(n)
	}
	for i := 0; i < n; i++ {
		var d [3]float64
		for c := 0; c < 3; c++ {
			d[c] = float64(p[c*n+i]) - st.mean[c]
		}
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				st.cov[a][b] += d[a] * d[b]
			}
		}
	}
	for a := 0; a < 3; a++ {
		for b := 0; b < 3; b++ {
			st.cov[a][b] /= float64(n)
		}
	}
	return st
}

// mixStats are the statistics of the images' pixels pooled with weights w
// (normalised to sum 1): μ = Σ w·μ_i, Σ = Σ w·(Σ_i + μ_i·μ_iᵀ) − μ·μᵀ.
func mixStats(stats []colorStats, w []float64) colorStats {
	var out colorStats
	var wsum float64
	for _, v := range w {
		wsum += v
	}
	for i, st := range stats {
		k := w[i] / wsum
		for a := 0; a < 3; a++ {
			out.mean[a] += k * st.mean[a]
			for b := 0; b < 3; b++ {
				out.cov[a][b] += k * (st.cov[a][b] + st.mean[a]*st.mean[b])
			}
		}
	}
	for a := 0; a < 3; a++ {
		for b := 0; b < 3; b++ {
			out.cov[a][b] -= out.mean[a] * out.mean[b]
		}
	}
	return out
}

// matchColors returns planes p: [3, H, W] recoloured to the statistics to
// (unclipped): A·(x − μ_p) + μ_to, A = Σ_to^½·Σ_p^-½.
func matchColors(p []float32, to colorStats) []float32 {
	from := statsOf(p)
	a := mul3(symPow(to.cov, 0.5), symPow(from.cov, -0.5))
	n := len(p) / 3
	out := make([]float32, len(p)) // [3, H, W]
	for i := 0; i < n; i++ {
		var d [3]float64
		for c := 0; c < 3; c++ {
			d[c] = float64(p[c*n+i]) - from.mean[c]
		}
		for r := 0; r < 3; r++ {
			out[r*n+i] = float32(a[r][0]*d[0] + a[r][1]*d[1] + a[r][2]*d[2] + to.mean[r])
		}
	}
	return out
}

// clip01 clips p into [0, 1] in place and returns it.
func clip01(p []float32) []float32 {
	for i, v := range p {
		p[i] = min(max(v, 0), 1)
	}
	return p
}

func mul3(a, b [3][3]float64) [3][3]float64 {
	var out [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				out[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return out
}

// symPow returns m^p for a symmetric positive semi-definite m, through its
// eigendecomposition V·diag(λ)·Vᵀ: V·diag(max(λ, colorEps)^p)·Vᵀ.
func symPow(m [3][3]float64, p float64) [3][3]float64 {
	lambda, v := eigenSym3(m)
	var out [3][3]float64
	for k := 0; k < 3; k++ {
		f := math.Pow(math.Max(lambda[k], colorEps), p)
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				out[i][j] += v[i][k] * f * v[j][k]
			}
		}
	}
	return out
}

// eigenSym3 diagonalises a symmetric 3×3 matrix by cyclic Jacobi rotations:
// m = V·diag(λ)·Vᵀ, the eigenvectors in V's columns.
func eigenSym3(m [3][3]float64) (lambda [3]float64, v [3][3]float64) {
	a := m
	v = [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	for sweep := 0; sweep < 50; sweep++ {
		off := a[0][1]*a[0][1] + a[0][2]*a[0][2] + a[1][2]*a[1][2]
		if off < 1e-30 {
			break
		}
		for p := 0; p < 2; p++ {
			for q := p + 1; q < 3; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < 3; k++ { // a = a·J
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := 0; k < 3; k++ { // a = Jᵀ·a
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
				for k := 0; k < 3; k++ { // v = v·J
					vkp, vkq := v[k][p], v[k][q]
					v[k][p], v[k][q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	return [3]float64{a[0][0], a[1][1], a[2][2]}, v
}
