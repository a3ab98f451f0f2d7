package style

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/crema-app/crema/kernels"
)

// Statistics and costs, as the settings spell them.
const (
	Gram    = "gram"
	Cov     = "cov"
	MeanStd = "meanstd"
	MMD     = "mmd"

	MSE = "mse"
	SWD = "swd"
)

// Stats and Costs list the accepted names, defaults first.
var (
	Stats = []string{Gram, Cov, MeanStd, MMD}
	Costs = []string{MSE, SWD}
)

// stdEps is added to the variance before the square root in meanstd.
const stdEps = 1e-5

// Spec chooses the statistic and cost of a style loss.
type Spec struct {
	Stat string // gram (or ""), cov, meanstd, mmd
	Cost string // mse (or ""), swd
	Seed uint64 // seeds swd's random directions
}

// Check reports an unknown or contradictory statistic/cost pair.
func (s Spec) Check() error {
	stat, cost := s.norm()
	if !contains(Stats, stat) {
		return fmt.Errorf("style: unknown style_stat %q (want %s)", s.Stat, strings.Join(Stats, ", "))
	}
	if !contains(Costs, cost) {
		return fmt.Errorf("style: unknown style_cost %q (want %s)", s.Cost, strings.Join(Costs, ", "))
	}
	if cost == SWD && stat != Gram {
		return fmt.Errorf("style: style_cost swd compares whole feature distributions and takes no style_stat (got %s; leave it gram)", stat)
	}
	return nil
}

func (s Spec) norm() (stat, cost string) {
	stat, cost = strings.ToLower(strings.TrimSpace(s.Stat)), strings.ToLower(strings.TrimSpace(s.Cost))
	if stat == "" {
		stat = Gram
	}
	if cost == "" {
		cost = MSE
	}
	return stat, cost
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CheckGuided reports a statistic/cost pair that cannot be guided by a
// spatial mask (see the package doc): swd.
func (s Spec) CheckGuided() error {
	if err := s.Check(); err != nil {
		return err
	}
	if _, cost := s.norm(); cost == SWD {
		return errors.New("style: swd cannot be guided: it compares the sorted projections of all N positions, and restricting them to a region needs weighted quantiles (a cumulative sum along each sorted row) that no backend operation provides; use style_cost mse with style_stat gram, cov, meanstd or mmd with masks")
	}
	return nil
}

// Layer is the style loss of one layer for generated activations [C, N].
// Build it with NewLayer (or NewGuidedLayer for one region), add the style
// images' activations with AddTarget (or AddGuidedTarget), call Finish
// once, then Forward every evaluation.
type Layer struct {
	b          kernels.Backend
	stat, cost string
	c, n       int
	k          int // swd directions
	seed       uint64
	rng        *rand.Rand

	wsum     float64
	finished bool
	scale    float64 // s
	mmdC     float64 // c of the mmd kernel

	// Targets: blended statistics of the style images.
	tGram  kernels.Tensor // [C, C]: Σ w·Ĝ(S) (every statistic: for the scale)
	tStat  kernels.Tensor // [C, C]: Σ w·Σ̂(S) for cov
	tMu    kernels.Tensor // [C]: Σ w·μ(S) for meanstd, mmd
	tSigma kernels.Tensor // [C]: Σ w·σ(S) for meanstd
	trace  float64        // Σ w·tr Ĝ(S), for swd
	styles []swdStyle     // swd: the style activations themselves

	// Guidance (NewGuidedLayer): the region's weights w at this layer.
	guided bool
	gsum   float64        // Σ w
	gw     kernels.Tensor // [C, N]: w in every row
	aw     kernels.Tensor // [C, N]: A⊙W or (A − μ)⊙W

	// Work buffers for the generated activations.
	g, diff, sdiff kernels.Tensor // [C, C]
	mu, dmu        kernels.Tensor // [C]
	sigma, dsig    kernels.Tensor // [C]
	sq, r          kernels.Tensor // [C] (meanstd) or [C, C] (mmd: sq)
	ones           kernels.Tensor // [C]: ones, as a [1, C] matrix (mmd)
	d, d2          kernels.Tensor // [C, N]: centred activations and scratch
	v              kernels.Tensor // [K, C]: swd directions
	p, ps, idx     kernels.Tensor // [K, N]: projections, sorted, their source columns
	qb, qr         kernels.Tensor // [K, N]: blended target, one resampled target
	scratch        kernels.Tensor // [4]: setup reductions
	vhost          []float32      // [K, C]

	owned []kernels.Tensor
}

// swdStyle is one style image's activations kept for sliced Wasserstein.
type swdStyle struct {
	s      kernels.Tensor // [C, M]
	q, idx kernels.Tensor // [K, M]
	m      int
	w      float64
}

// NewLayer prepares the style loss of a layer with generated activations
// [C, N].
func NewLayer(b kernels.Backend, spec Spec, c, n int) (*Layer, error) {
	return NewGuidedLayer(b, spec, c, n, nil)
}

// NewGuidedLayer prepares the style loss of one region at a layer with
// generated activations [C, N]: guide: [N] holds the region's weights at
// the layer (Guide), and every statistic of the generated activations is
// the guide-weighted one (see the package doc). A nil guide is NewLayer.
// swd cannot be guided (Spec.CheckGuided).
func NewGuidedLayer(b kernels.Backend, spec Spec, c, n int, guide []float32) (*Layer, error) {
	if guide != nil {
		if err := spec.CheckGuided(); err != nil {
			return nil, err
		}
	}
	if err := spec.Check(); err != nil {
		return nil, err
	}
	if c < 1 || n < 1 {
		return nil, fmt.Errorf("style: layer shape %d×%d is empty", c, n)
	}
	var gsum float64
	if guide != nil {
		var err error
		if gsum, err = guideSum(guide, n); err != nil {
			return nil, err
		}
	}
	stat, cost := spec.norm()
	l := &Layer{b: b, stat: stat, cost: cost, c: c, n: n, k: c, seed: spec.Seed, guided: guide != nil, gsum: gsum}
	l.Reseed(spec.Seed)
	cc, cn, kn := c*c, c*n, l.k*n
	allocs := []struct {
		t *kernels.Tensor
		n int
	}{{&l.tGram, cc}, {&l.scratch, 4}}
	add := func(t *kernels.Tensor, n int) {
		allocs = append(allocs, struct {
			t *kernels.Tensor
			n int
		}{t, n})
	}
	if cost == SWD {
		add(&l.v, l.k*c)
		for _, t := range []*kernels.Tensor{&l.p, &l.ps, &l.idx, &l.qb, &l.qr, &l.diff, &l.sdiff} {
			add(t, kn)
		}
		l.vhost = make([]float32, l.k*c)
	} else {
		switch stat {
		case Gram:
			add(&l.g, cc)
			add(&l.diff, cc)
			add(&l.sdiff, cc)
		case Cov:
			add(&l.tStat, cc)
			add(&l.g, cc)
			add(&l.diff, cc)
			add(&l.sdiff, cc)
			add(&l.mu, c)
			add(&l.d, cn)
		case MeanStd:
			for _, t := range []*kernels.Tensor{&l.tMu, &l.tSigma, &l.mu, &l.dmu, &l.sigma, &l.dsig, &l.sq, &l.r} {
				add(t, c)
			}
			add(&l.d, cn)
			add(&l.d2, cn)
		case MMD:
			add(&l.g, cc)
			add(&l.diff, cc)
			add(&l.sdiff, cc)
			add(&l.sq, cc)
			add(&l.r, cc)
			for _, t := range []*kernels.Tensor{&l.tMu, &l.mu, &l.dmu, &l.ones} {
				add(t, c)
			}
		}
	}
	for _, a := range allocs {
		t, err := b.Alloc(a.n)
		if err != nil {
			l.Free()
			return nil, fmt.Errorf("style: %s/%s buffers for %d×%d activations: %w", stat, cost, c, n, err)
		}
		*a.t = t
		l.owned = append(l.owned, t)
	}
	if l.guided {
		for _, t := range []*kernels.Tensor{&l.gw, &l.aw} {
			if stat == MeanStd && t == &l.aw {
				continue // meanstd works in d2
			}
			x, err := b.Alloc(cn)
			if err != nil {
				l.Free()
				return nil, fmt.Errorf("style: guided %s buffers for %d×%d activations: %w", stat, c, n, err)
			}
			*t = x
			l.owned = append(l.owned, x)
		}
		b.Write(l.gw, broadcast(guide, c))
	}
	if l.ones != nil {
		b.Fill(l.ones, 1)
	}
	return l, nil
}

// guideSum checks guide: [N] (finite, ≥ 0, not all zero) and returns Σ w.
func guideSum(guide []float32, n int) (float64, error) {
	if len(guide) != n {
		return 0, fmt.Errorf("style: guide has %d weights, want %d", len(guide), n)
	}
	var sum float64
	for _, v := range guide {
		if !(v >= 0) || math.IsInf(float64(v), 0) {
			return 0, fmt.Errorf("style: guide weight %g is not finite and ≥ 0", v)
		}
		sum += float64(v)
	}
	if sum == 0 {
		return 0, errEmptyGuide
	}
	return sum, nil
}

// broadcast returns v: [N] repeated in c rows: [C, N].
func broadcast(v []float32, c int) []float32 {
	out := make([]float32, 0, c*len(v)) // [C, N]
	for range c {
		out = append(out, v...)
	}
	return out
}

// Reseed restarts swd's random directions from seed, so that the next
// Forward draws the same directions as a fresh layer with that seed.
func (l *Layer) Reseed(seed uint64) {
	l.seed = seed
	l.rng = rand.New(rand.NewPCG(seed, 0x51ced))
}

// Stat and Cost name the statistic and the cost.
func (l *Layer) Stat() string { return l.stat }
func (l *Layer) Cost() string { return l.cost }

// AddTarget adds the activations s: [C, M] of one style image with blend
// weight w > 0. s is copied (swd) or reduced to statistics; the caller may
// reuse it afterwards.
func (l *Layer) AddTarget(s kernels.Tensor, m int, w float64) error {
	return l.AddGuidedTarget(s, m, w, nil)
}

// AddGuidedTarget is AddTarget of the part of a style image that guide:
// [M] weights (a style mask carried to the layer by Guide): the target
// statistics are guide-weighted. A nil guide is AddTarget.
func (l *Layer) AddGuidedTarget(s kernels.Tensor, m int, w float64, guide []float32) error {
	b, c := l.b, l.c
	if l.finished {
		return fmt.Errorf("style: AddTarget after Finish")
	}
	if m < 1 || s.Len() != c*m {
		return fmt.Errorf("style: style activations have %d elements, want %d×%d", s.Len(), c, m)
	}
	if !(w > 0) || math.IsInf(w, 0) {
		return fmt.Errorf("style: blend weight %g must be positive", w)
	}
	vsum := float64(m) // Σ v, v = 1 without a guide
	if guide != nil {
		if err := (Spec{Stat: l.stat, Cost: l.cost}).CheckGuided(); err != nil {
			return err
		}
		var err error
		if vsum, err = guideSum(guide, m); err != nil {
			return err
		}
	}
	l.wsum += w
	var tmp []kernels.Tensor
	defer func() {
		for _, t := range tmp {
			b.Free(t)
		}
	}()
	alloc := func(n int) (kernels.Tensor, error) {
		t, err := b.Alloc(n)
		if err == nil {
			tmp = append(tmp, t)
		}
		return t, err
	}
	g, err := alloc(c * c) // [C, C]
	if err != nil {
		return fmt.Errorf("style: style statistics: %w", err)
	}
	inv := float32(1 / vsum)
	// sv = S⊙V (V: the guide in every row), or S itself.
	sv, vb := s, kernels.Tensor(nil)
	if guide != nil {
		if vb, err = alloc(c * m); err != nil { // [C, M]
			return fmt.Errorf("style: style statistics: %w", err)
		}
		b.Write(vb, broadcast(guide, c))
		if sv, err = alloc(c * m); err != nil { // [C, M]
			return fmt.Errorf("style: style statistics: %w", err)
		}
		b.Mul(sv, s, vb)
	}
	b.MatMul(g, sv, s, c, c, m, false, true, inv, 0)
	b.Axpy(l.tGram, float32(w), g)
	// tr Ĝ(S) = Σ v·S²/Σ v, read back now: setup only.
	b.Dot(l.scratch, 0, sv, s)
	var tr [1]float32
	if err := b.ReadAt(tr[:], l.scratch, 0); err != nil {
		return fmt.Errorf("style: reading style statistics: %w", err)
	}
	l.trace += w * float64(tr[0]) / vsum

	if l.cost == SWD {
		st := swdStyle{m: m, w: w}
		var err error
		for _, t := range []struct {
			p *kernels.Tensor
			n int
		}{{&st.s, c * m}, {&st.q, l.k * m}, {&st.idx, l.k * m}} {
			if *t.p, err = b.Alloc(t.n); err != nil {
				l.freeStyle(st)
				return fmt.Errorf("style: swd style buffers: %w", err)
			}
		}
		b.Copy(st.s, s)
		l.styles = append(l.styles, st)
		return nil
	}
	switch l.stat {
	case Cov, MeanStd, MMD:
		mu, err := alloc(c) // [C]
		if err != nil {
			return fmt.Errorf("style: style statistics: %w", err)
		}
		b.RowSum(mu, sv, c, m, inv)
		if l.stat == MMD {
			b.Axpy(l.tMu, float32(w), mu)
			return nil
		}
		d, err := alloc(c * m) // [C, M]
		if err != nil {
			return fmt.Errorf("style: style statistics: %w", err)
		}
		b.Copy(d, s)
		b.AddRows(d, mu, c, m, -1)
		if l.stat == Cov {
			dv := d // (S − μ)⊙V: sv is free now
			if guide != nil {
				b.Mul(sv, d, vb)
				dv = sv
			}
			b.MatMul(g, dv, d, c, c, m, false, true, inv, 0)
			b.Axpy(l.tStat, float32(w), g)
			return nil
		}
		b.Mul(d, d, d)
		if guide != nil {
			b.Mul(d, d, vb)
		}
		sigma, err := alloc(c) // [C]
		if err != nil {
			return fmt.Errorf("style: style statistics: %w", err)
		}
		b.RowSum(sigma, d, c, m, inv)
		b.Sqrt(sigma, sigma, stdEps)
		b.Axpy(l.tMu, float32(w), mu)
		b.Axpy(l.tSigma, float32(w), sigma)
	}
	return nil
}

// Finish normalises the blend weights and measures the target's norms for
// the scale s (one small read).
func (l *Layer) Finish() error {
	b := l.b
	if l.finished {
		return nil
	}
	if l.wsum == 0 {
		return fmt.Errorf("style: no style target added")
	}
	inv := float32(1 / l.wsum)
	for _, t := range []kernels.Tensor{l.tGram, l.tStat, l.tMu, l.tSigma} {
		if t != nil {
			b.Scale(t, inv)
		}
	}
	l.trace /= l.wsum
	for i := range l.styles {
		l.styles[i].w /= l.wsum
	}
	b.Dot(l.scratch, 0, l.tGram, l.tGram)
	switch l.stat {
	case Cov:
		b.Dot(l.scratch, 1, l.tStat, l.tStat)
	case MeanStd:
		b.Dot(l.scratch, 1, l.tMu, l.tMu)
		b.Dot(l.scratch, 2, l.tSigma, l.tSigma)
	case MMD:
		b.Dot(l.scratch, 1, l.tMu, l.tMu)
	}
	var v [4]float32
	if err := b.ReadAt(v[:3], l.scratch, 0); err != nil {
		return fmt.Errorf("style: reading style statistics: %w", err)
	}
	gramScale := float64(v[0]) / (4 * float64(l.c) * float64(l.c)) // ‖Ĝ(S)‖²/(4C²)
	var norm float64                                               // ‖T(S)‖²
	switch {
	case l.cost == SWD:
		norm = float64(l.k) * float64(l.n) * l.trace / float64(l.c)
	case l.stat == Gram:
		norm = float64(v[0])
	case l.stat == Cov:
		norm = float64(v[1])
	case l.stat == MeanStd:
		norm = float64(v[1]) + float64(v[2])
	case l.stat == MMD:
		if v[1] > 0 {
			l.mmdC = float64(v[0]) / (2 * float64(v[1]))
		}
		norm = float64(v[0]) + 2*l.mmdC*float64(v[1])
	}
	switch {
	case l.stat == Gram && l.cost == MSE:
		l.scale = 1 / (4 * float64(l.c) * float64(l.c))
	case norm > 0 && !math.IsInf(norm, 0):
		l.scale = gramScale / norm
	default:
		// A dead layer (all activations zero on the style): fall back to the
		// Gram normalisation rather than dividing by zero.
		l.scale = 1 / (4 * float64(l.c) * float64(l.c))
	}
	l.finished = true
	return nil
}

// Scale is the factor s of the loss (see the package doc); MMDc is the c of
// the mmd kernel (0 for other statistics). Both are set by Finish.
func (l *Layer) Scale() float64 { return l.scale }
func (l *Layer) MMDc() float64  { return l.mmdC }

// Forward writes the layer's style loss J for activations a: [C, N] into
// loss[slot] and adds weight·∂J/∂A into da: [C, N].
func (l *Layer) Forward(loss kernels.Tensor, slot int, da, a kernels.Tensor, weight float32) {
	if !l.finished {
		panic("style: Forward before Finish")
	}
	if a.Len() != l.c*l.n || da.Len() != l.c*l.n {
		panic(fmt.Sprintf("style: Forward activations have %d elements, want %d×%d", a.Len(), l.c, l.n))
	}
	b, c, n := l.b, l.c, l.n
	s := float32(l.scale)
	invN := float32(1 / float64(n))
	if l.cost == SWD {
		l.forwardSWD(loss, slot, da, a, weight)
		return
	}
	if l.guided {
		l.forwardGuided(loss, slot, da, a, weight)
		return
	}
	switch l.stat {
	case Gram, MMD:
		// J = s·‖Ĝ − Ĝ_S‖² (+ s·2c·‖μ − μ_S‖² for mmd); ∂J/∂A = 4s·ΔĜ·A/N (+ 4sc·Δμ/N).
		b.MatMul(l.g, a, a, c, c, n, false, true, invN, 0)
		b.Copy(l.diff, l.g)
		b.Axpy(l.diff, -1, l.tGram)
		b.Copy(l.sdiff, l.diff)
		b.Scale(l.sdiff, s)
		if l.stat == Gram {
			b.Dot(loss, slot, l.diff, l.sdiff)
		} else {
			b.RowSum(l.mu, a, c, n, invN)
			b.Copy(l.dmu, l.mu)
			b.Axpy(l.dmu, -1, l.tMu)
			b.Mul(l.sq, l.diff, l.sdiff)
			// r = Δμ·1ᵀ ([C, 1]·[1, C]); Σ r⊙r = C·‖Δμ‖².
			b.MatMul(l.r, l.dmu, l.ones, c, c, 1, false, false, 1, 0)
			b.Mul(l.r, l.r, l.r)
			b.Axpy(l.sq, float32(l.scale*2*l.mmdC/float64(c)), l.r)
			b.Sum(loss, slot, l.sq)
		}
		if weight != 0 {
			b.MatMul(da, l.sdiff, a, c, n, c, false, false, 4*weight*invN, 1)
			if l.stat == MMD {
				b.AddRows(da, l.dmu, c, n, float32(4*float64(weight)*l.scale*l.mmdC/float64(n)))
			}
		}
	case Cov:
		// J = s·‖Σ̂ − Σ̂_S‖²; ∂J/∂A = 4s·ΔΣ̂·(A − μ)/N.
		b.RowSum(l.mu, a, c, n, invN)
		b.Copy(l.d, a)
		b.AddRows(l.d, l.mu, c, n, -1)
		b.MatMul(l.g, l.d, l.d, c, c, n, false, true, invN, 0)
		b.Copy(l.diff, l.g)
		b.Axpy(l.diff, -1, l.tStat)
		b.Copy(l.sdiff, l.diff)
		b.Scale(l.sdiff, s)
		b.Dot(loss, slot, l.diff, l.sdiff)
		if weight != 0 {
			b.MatMul(da, l.sdiff, l.d, c, n, c, false, false, 4*weight*invN, 1)
		}
	case MeanStd:
		// J = s·(‖μ − μ_S‖² + ‖σ − σ_S‖²);
		// ∂J/∂A = 2s·Δμ/N + 2s·Δσ·(A − μ)/(N·σ).
		b.RowSum(l.mu, a, c, n, invN)
		b.Copy(l.d, a)
		b.AddRows(l.d, l.mu, c, n, -1)
		b.Mul(l.d2, l.d, l.d)
		b.RowSum(l.sigma, l.d2, c, n, invN)
		b.Sqrt(l.sigma, l.sigma, stdEps)
		b.Copy(l.dmu, l.mu)
		b.Axpy(l.dmu, -1, l.tMu)
		b.Copy(l.dsig, l.sigma)
		b.Axpy(l.dsig, -1, l.tSigma)
		b.Mul(l.sq, l.dmu, l.dmu)
		b.Mul(l.r, l.dsig, l.dsig)
		b.Axpy(l.sq, 1, l.r)
		b.Scale(l.sq, s)
		b.Sum(loss, slot, l.sq)
		if weight != 0 {
			b.Div(l.r, l.dsig, l.sigma)
			b.Copy(l.d2, l.d)
			b.MulRows(l.d2, l.r, c, n)
			g := 2 * weight * s * invN
			b.Axpy(da, g, l.d2)
			b.AddRows(da, l.dmu, c, n, g)
		}
	}
}

// forwardGuided is Forward with the region's weights w: every statistic is
// the w-weighted one, normalised by Σ w (see the package doc). With w = 1
// everywhere it runs the unguided operations on the same numbers (A⊙1 = A),
// so its losses are the unguided ones exactly.
func (l *Layer) forwardGuided(loss kernels.Tensor, slot int, da, a kernels.Tensor, weight float32) {
	b, c, n := l.b, l.c, l.n
	s := float32(l.scale)
	inv := float32(1 / l.gsum)
	switch l.stat {
	case Gram, MMD:
		// Ĝ = (A⊙W)·Aᵀ/Σw; ∂J/∂A = 4s·ΔĜ·(A⊙W)/Σw (+ 4sc·Δμ·wᵀ/Σw for mmd,
		// μ = (A⊙W)·1/Σw).
		b.Mul(l.aw, a, l.gw)
		b.MatMul(l.g, l.aw, a, c, c, n, false, true, inv, 0)
		b.Copy(l.diff, l.g)
		b.Axpy(l.diff, -1, l.tGram)
		b.Copy(l.sdiff, l.diff)
		b.Scale(l.sdiff, s)
		if l.stat == Gram {
			b.Dot(loss, slot, l.diff, l.sdiff)
		} else {
			b.RowSum(l.mu, l.aw, c, n, inv)
			b.Copy(l.dmu, l.mu)
			b.Axpy(l.dmu, -1, l.tMu)
			b.Mul(l.sq, l.diff, l.sdiff)
			b.MatMul(l.r, l.dmu, l.ones, c, c, 1, false, false, 1, 0)
			b.Mul(l.r, l.r, l.r)
			b.Axpy(l.sq, float32(l.scale*2*l.mmdC/float64(c)), l.r)
			b.Sum(loss, slot, l.sq)
		}
		if weight != 0 {
			b.MatMul(da, l.sdiff, l.aw, c, n, c, false, false, 4*weight*inv, 1)
			if l.stat == MMD {
				b.Copy(l.aw, l.gw)
				b.MulRows(l.aw, l.dmu, c, n)
				b.Axpy(da, float32(4*float64(weight)*l.scale*l.mmdC/l.gsum), l.aw)
			}
		}
	case Cov:
		// μ = (A⊙W)·1/Σw, D = A − μ, Σ̂ = (D⊙W)·Dᵀ/Σw;
		// ∂J/∂A = 4s·ΔΣ̂·(D⊙W)/Σw (the terms through μ vanish: Σ w·D = 0).
		b.Mul(l.aw, a, l.gw)
		b.RowSum(l.mu, l.aw, c, n, inv)
		b.Copy(l.d, a)
		b.AddRows(l.d, l.mu, c, n, -1)
		b.Mul(l.aw, l.d, l.gw)
		b.MatMul(l.g, l.aw, l.d, c, c, n, false, true, inv, 0)
		b.Copy(l.diff, l.g)
		b.Axpy(l.diff, -1, l.tStat)
		b.Copy(l.sdiff, l.diff)
		b.Scale(l.sdiff, s)
		b.Dot(loss, slot, l.diff, l.sdiff)
		if weight != 0 {
			b.MatMul(da, l.sdiff, l.aw, c, n, c, false, false, 4*weight*inv, 1)
		}
	case MeanStd:
		// μ = (A⊙W)·1/Σw, σ² = ((D⊙D)⊙W)·1/Σw;
		// ∂J/∂A = 2s·(Δσ/σ)·(D⊙W)/Σw + 2s·Δμ·wᵀ/Σw.
		b.Mul(l.d2, a, l.gw)
		b.RowSum(l.mu, l.d2, c, n, inv)
		b.Copy(l.d, a)
		b.AddRows(l.d, l.mu, c, n, -1)
		b.Mul(l.d2, l.d, l.d)
		b.Mul(l.d2, l.d2, l.gw)
		b.RowSum(l.sigma, l.d2, c, n, inv)
		b.Sqrt(l.sigma, l.sigma, stdEps)
		b.Copy(l.dmu, l.mu)
		b.Axpy(l.dmu, -1, l.tMu)
		b.Copy(l.dsig, l.sigma)
		b.Axpy(l.dsig, -1, l.tSigma)
		b.Mul(l.sq, l.dmu, l.dmu)
		b.Mul(l.r, l.dsig, l.dsig)
		b.Axpy(l.sq, 1, l.r)
		b.Scale(l.sq, s)
		b.Sum(loss, slot, l.sq)
		if weight != 0 {
			g := 2 * weight * s * inv
			b.Div(l.r, l.dsig, l.sigma)
			b.Mul(l.d2, l.d, l.gw)
			b.MulRows(l.d2, l.r, c, n)
			b.Axpy(da, g, l.d2)
			b.Copy(l.d2, l.gw)
			b.MulRows(l.d2, l.dmu, c, n)
			b.Axpy(da, g, l.d2)
		}
	}
}

// forwardSWD is the sliced Wasserstein cost (see the package doc).
func (l *Layer) forwardSWD(loss kernels.Tensor, slot int, da, a kernels.Tensor, weight float32) {
	b, c, n, k := l.b, l.c, l.n, l.k
	l.drawDirections()
	b.Write(l.v, l.vhost)
	b.MatMul(l.p, l.v, a, k, n, c, false, false, 1, 0)
	b.SortRows(l.ps, l.idx, l.p, k, n)
	b.Fill(l.qb, 0)
	for _, st := range l.styles {
		b.MatMul(st.q, l.v, st.s, k, st.m, c, false, false, 1, 0)
		b.SortRows(st.q, st.idx, st.q, k, st.m)
		if st.m == n {
			b.Axpy(l.qb, float32(st.w), st.q)
		} else {
			b.ResampleRows(l.qr, st.q, k, st.m, n)
			b.Axpy(l.qb, float32(st.w), l.qr)
		}
	}
	b.Copy(l.diff, l.ps)
	b.Axpy(l.diff, -1, l.qb)
	b.Copy(l.sdiff, l.diff)
	b.Scale(l.sdiff, float32(l.scale))
	b.Dot(loss, slot, l.diff, l.sdiff)
	if weight != 0 {
		// ∂J/∂sort(P) = 2s·diff; unsort it into p (free now), then Vᵀ·it.
		b.ScatterRows(l.p, l.idx, l.sdiff, k, n)
		b.MatMul(da, l.v, l.p, c, n, k, true, false, 2*weight, 1)
	}
}

// drawDirections fills vhost with K random unit vectors of length C.
func (l *Layer) drawDirections() {
	c := l.c
	for r := 0; r < l.k; r++ {
		row := l.vhost[r*c : (r+1)*c]
		var norm float64
		for i := range row {
			v := l.rng.NormFloat64()
			row[i] = float32(v)
			norm += v * v
		}
		inv := float32(1 / math.Sqrt(norm))
		for i := range row {
			row[i] *= inv
		}
	}
}

func (l *Layer) freeStyle(st swdStyle) {
	for _, t := range []kernels.Tensor{st.s, st.q, st.idx} {
		if t != nil {
			l.b.Free(t)
		}
	}
}

// Free releases the device buffers.
func (l *Layer) Free() {
	for _, t := range l.owned {
		l.b.Free(t)
	}
	for _, st := range l.styles {
		l.freeStyle(st)
	}
	l.owned, l.styles = nil, nil
}
