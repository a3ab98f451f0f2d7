// Package kerneltest is what the tests of crema's compute backends share:
//
//   - the conformance table: one list of cases covering every
//     kernels.Backend operation (Cases, plus LargeCases for the long rows and
//     split products a GPU handles differently), run on a backend under test
//     and on a reference backend (the naive oracle) with the same fixed-seed
//     random inputs, comparing every output (Run, RunShort, RunCases);
//   - the finite-difference checks of every gradient the backends compute
//     (RunGradients), on CheckGradient, the one finite-difference checker of
//     the repository (the model and style tests use it too);
//   - the helpers the tests of code on a backend share: Upload, Download,
//     Uniform, Normal, VGGConvs, and Lossy, a backend whose device is lost
//     after a number of reads.
//
// It is an ordinary (non-test) package so that each backend's tests can call
// it: the CPU backend's natively, the WebGPU backend's in the browser
// (it builds for GOOS=js GOARCH=wasm). RunShort keeps only the cases that
// are cheap enough for a software GPU (SwiftShader): the big channel counts
// appear there only at tiny spatial sizes.
//
// # Tolerances
//
// An output passes when max|got-ref| / max|ref| < Tol (or max|got-ref| <
// Tol when ref is all zeros); a NaN where ref has none always fails. Tol
// depends on what the operation does with float32 rounding:
//
//   - TolExact (0) for data movement: Copy, Fill, max pooling, SortRows,
//     ScatterRows, ResampleRows. Any difference is a bug.
//   - TolElementwise (1e-6) for one or two float32 roundings per element
//     (Scale, Axpy, Mul, Div, Sqrt, average pooling, masks): a few ulps,
//     which also admits a GPU's fused multiply-add and its 2.5-ulp division.
//   - TolReduce (1e-5) for sums of up to ~10⁵ terms (Dot, Sum, RowSum, TV,
//     Adam): float32 blocked or pairwise summation is within a few ulps of
//     the reference's float64 sum relative to the largest value, and the
//     inputs are biased positive so the sums do not cancel.
//   - TolGemm (1e-4) for convolutions and MatMul: float32 accumulation over
//     up to K = 512·9 = 4608 products. Rounding errors of random sign grow
//     like √K·2⁻²⁴ ≈ 4e-6 of the largest output, the worst case K·2⁻²⁴ ≈
//     2.7e-4 is never approached, and 1e-4 leaves room for a GPU's different
//     summation order while any indexing mistake gives errors of order 1.
package kerneltest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/crema-app/crema/kernels"
)

// Tolerances of the table (see the package documentation).
const (
	TolExact       = 0
	TolElementwise = 1e-6
	TolReduce      = 1e-5
	TolGemm        = 1e-4
)

// Seed is the seed of every case's inputs (mixed with a hash of the case's
// name, so that a case gets the same inputs whatever table it is run in).
const Seed = 20240601

// Case is one operation on fixed inputs.
type Case struct {
	Name string
	// Short marks the cases RunShort keeps.
	Short bool
	// Tol is the relative tolerance of every output.
	Tol float64
	// Inputs makes the host inputs from r.
	Inputs func(r *rand.Rand) [][]float32
	// Do runs the operation on b and returns its outputs.
	Do func(e *Env, in [][]float32) [][]float32
	// CheckRef, when set, validates the reference outputs themselves (for
	// example that a ReLU really clipped some values), so that a case cannot
	// pass vacuously.
	CheckRef func(out [][]float32) error
	// NaN requires NaN in the outputs exactly where the reference has it
	// (Compare only requires none where the reference has none).
	NaN bool
	// Check, when set, replaces the comparison with the reference for an
	// operation whose result is not unique (SortRows of rows holding NaN):
	// it checks each backend's outputs against the inputs and fails the
	// case on an error.
	Check func(in, out [][]float32) error
}

// Rand is the generator of c's inputs.
func (c Case) Rand() *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(c.Name))
	return rand.New(rand.NewPCG(Seed, h.Sum64()))
}

// Env is the scratch of one case on one backend: tensors made through it are
// freed when the case ends.
type Env struct {
	B   kernels.Backend
	ts  []kernels.Tensor
	err error
}

// T allocates a tensor holding a copy of data.
func (e *Env) T(data []float32) kernels.Tensor {
	t := e.Z(len(data))
	if t != nil {
		e.B.Write(t, data)
	}
	return t
}

// Z allocates a zeroed tensor of n elements.
func (e *Env) Z(n int) kernels.Tensor {
	t, err := e.B.Alloc(n)
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return nil
	}
	e.ts = append(e.ts, t)
	return t
}

// Get reads t back to the host.
func (e *Env) Get(t kernels.Tensor) []float32 {
	out := make([]float32, t.Len())
	if err := e.B.Read(out, t); err != nil && e.err == nil {
		e.err = err
	}
	return out
}

// read reads t[off:off+len(dst)] into dst.
func (e *Env) read(dst []float32, t kernels.Tensor, off int) {
	if err := e.B.ReadAt(dst, t, off); err != nil && e.err == nil {
		e.err = err
	}
}

func (e *Env) free() {
	for _, t := range e.ts {
		e.B.Free(t)
	}
	e.ts = nil
}

// Run runs every case of the table on got and ref and fails t on any
// output outside its tolerance.
func Run(t *testing.T, got, ref kernels.Backend) { RunCases(t, got, ref, Cases()) }

// RunShort is Run restricted to the cheap cases (tiny spatial sizes at the
// big channel counts), for slow devices such as SwiftShader.
func RunShort(t *testing.T, got, ref kernels.Backend) {
	var short []Case
	for _, c := range Cases() {
		if c.Short {
			short = append(short, c)
		}
	}
	RunCases(t, got, ref, short)
}

// RunCases runs cases on got and ref, each in a subtest, and fails t on any
// output outside its tolerance.
func RunCases(t *testing.T, got, ref kernels.Backend, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			in := c.Inputs(c.Rand())
			want, err := exec(ref, c, in)
			if err != nil {
				t.Fatalf("reference %s: %v", ref.Name(), err)
			}
			if c.CheckRef != nil {
				if err := c.CheckRef(want); err != nil {
					t.Fatalf("reference %s gives a degenerate case: %v", ref.Name(), err)
				}
			}
			have, err := exec(got, c, in)
			if err != nil {
				t.Fatalf("%s: %v", got.Name(), err)
			}
			if len(have) != len(want) {
				t.Fatalf("%s returned %d outputs, %s %d", got.Name(), len(have), ref.Name(), len(want))
			}
			if c.Check != nil {
				for _, r := range []struct {
					b   kernels.Backend
					out [][]float32
				}{{ref, want}, {got, have}} {
					if err := c.Check(in, r.out); err != nil {
						t.Errorf("%s: %v", r.b.Name(), err)
					}
				}
				return
			}
			for k := range want {
				if c.NaN {
					if err := sameNaN(have[k], want[k]); err != nil {
						t.Errorf("output %d: %s vs %s: %v", k, got.Name(), ref.Name(), err)
					}
				}
				if err := Compare(have[k], want[k], c.Tol); err != nil {
					t.Errorf("output %d: %s vs %s: %v", k, got.Name(), ref.Name(), err)
				}
			}
		})
	}
}

func exec(b kernels.Backend, c Case, in [][]float32) ([][]float32, error) {
	e := &Env{B: b}
	defer e.free()
	// Each backend gets its own copy: Do must not see the other's writes.
	cp := make([][]float32, len(in))
	for i, s := range in {
		cp[i] = append([]float32(nil), s...)
	}
	out := c.Do(e, cp)
	return out, e.err
}

// sameNaN checks that got is NaN exactly where ref is.
func sameNaN(got, ref []float32) error {
	for i := range ref {
		if r, g := math.IsNaN(float64(ref[i])), math.IsNaN(float64(got[i])); r != g {
			return fmt.Errorf("at %d: %g, want %g", i, got[i], ref[i])
		}
	}
	return nil
}

// Compare checks max|got-ref| / max|ref| < tol (absolute when ref is all
// zeros; exact when tol is 0) and that got has no NaN where ref has none.
func Compare(got, ref []float32, tol float64) error {
	if len(got) != len(ref) {
		return fmt.Errorf("length %d, want %d", len(got), len(ref))
	}
	var maxRef, maxDiff float64
	worst := -1
	for i := range ref {
		g, r := float64(got[i]), float64(ref[i])
		if math.IsNaN(r) {
			continue
		}
		if math.IsNaN(g) {
			return fmt.Errorf("NaN at %d, want %g", i, r)
		}
		maxRef = math.Max(maxRef, math.Abs(r))
		if d := math.Abs(g - r); d > maxDiff || worst < 0 {
			maxDiff, worst = d, i
		}
	}
	if maxDiff == 0 {
		return nil
	}
	rel := maxDiff
	if maxRef > 0 {
		rel = maxDiff / maxRef
	}
	if tol == 0 || rel >= tol {
		return fmt.Errorf("max|diff|/max|ref| = %.3g (tol %g): at %d got %g, want %g (max|ref| %g)",
			rel, tol, worst, got[worst], ref[worst], maxRef)
	}
	return nil
}
