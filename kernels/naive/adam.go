package naive

// Adam: the bias-corrected update, its corrections and quotient in float64.

import (
	"math"

	"github.com/crema-app/crema/kernels"
)

func (Backend) Adam(x, g, m, v kernels.Tensor, p kernels.AdamParams) {
	xs, gs, ms, vs := host(x), host(g), host(m), host(v)
	c1 := 1 - math.Pow(float64(p.Beta1), float64(p.Step))
	c2 := 1 - math.Pow(float64(p.Beta2), float64(p.Step))
	for i := range xs {
		ms[i] = p.Beta1*ms[i] + (1-p.Beta1)*gs[i]
		vs[i] = p.Beta2*vs[i] + (1-p.Beta2)*gs[i]*gs[i]
		mh := float64(ms[i]) / c1
		vh := float64(vs[i]) / c2
		xs[i] -= float32(float64(p.LR) * mh / (math.Sqrt(vh) + float64(p.Eps)))
	}
}
