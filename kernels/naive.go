package kernels

import (
	"fmt"
	"math"
	"sort"
)

// hostTensor is the tensor of the backends that compute on the host (Naive
// and CPU); they can use each other's tensors.
type hostTensor struct {
	data []float32 // [n]
}

func (t *hostTensor) Len() int { return len(t.data) }

// host returns the data of a host tensor, panicking on a foreign one.
func host(t Tensor) []float32 {
	h, ok := t.(*hostTensor)
	if !ok {
		panic(fmt.Sprintf("kernels: tensor %T does not belong to a host backend", t))
	}
	return h.data
}

// HostData exposes the storage of a tensor made by the Naive or CPU backend,
// for tests and for the host side of the CPU path (no copy).
func HostData(t Tensor) []float32 { return host(t) }

func checkLen(what string, t Tensor, n int) {
	if t.Len() != n {
		panic(fmt.Sprintf("kernels: %s has %d elements, want %d", what, t.Len(), n))
	}
}

// maxHostElems bounds one host allocation (4 GiB of float32), so that a huge
// request fails with a message instead of killing the process.
const maxHostElems = 1 << 30

func hostAlloc(n int) (Tensor, error) {
	if n < 0 || n > maxHostElems {
		return nil, fmt.Errorf("kernels: cannot allocate %d floats (%.1f MB): over the %d MB limit of one tensor",
			n, float64(n)*4/1e6, maxHostElems*4/1000000)
	}
	return &hostTensor{data: make([]float32, n)}, nil
}

// Naive is the reference backend: each operation is the textbook loop,
// accumulated in float64. It is slow on purpose and exists so that every
// fast kernel has a plain twin to be tested against.
type Naive struct{}

var _ Backend = Naive{}

func (Naive) Name() string                { return "naive" }
func (Naive) Describe() string            { return "naive reference loops (test oracle)" }
func (Naive) Alloc(n int) (Tensor, error) { return hostAlloc(n) }
func (Naive) Free(Tensor)                 {}

func (Naive) Write(dst Tensor, src []float32) {
	checkLen("Write dst", dst, len(src))
	copy(host(dst), src)
}

func (Naive) Read(dst []float32, src Tensor) error {
	checkLen("Read src", src, len(dst))
	copy(dst, host(src))
	return nil
}

func (Naive) ReadAt(dst []float32, src Tensor, off int) error {
	copy(dst, host(src)[off:off+len(dst)])
	return nil
}

func (Naive) Copy(dst, src Tensor) {
	checkLen("Copy dst", dst, src.Len())
	copy(host(dst), host(src))
}

func (Naive) Conv3x3(dst, x, w, b Tensor, s ConvShape) {
	checkLen("Conv3x3 dst", dst, s.Cout*s.H*s.W)
	checkLen("Conv3x3 x", x, s.Cin*s.H*s.W)
	checkLen("Conv3x3 w", w, s.Cout*s.Cin*9)
	checkLen("Conv3x3 b", b, s.Cout)
	d, xs, ws, bs := host(dst), host(x), host(w), host(b)
	for o := 0; o < s.Cout; o++ {
		for y := 0; y < s.H; y++ {
			for xx := 0; xx < s.W; xx++ {
				acc := float64(bs[o])
				for i := 0; i < s.Cin; i++ {
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 3; kx++ {
							iy, ix := y+ky-1, xx+kx-1
							if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
								continue
							}
							acc += float64(ws[((o*s.Cin+i)*3+ky)*3+kx]) * float64(xs[(i*s.H+iy)*s.W+ix])
						}
					}
				}
				d[(o*s.H+y)*s.W+xx] = float32(math.Max(acc, 0))
			}
		}
	}
}

func (Naive) Conv3x3Backward(dx, dy, y, w Tensor, s ConvShape) {
	checkLen("Conv3x3Backward dx", dx, s.Cin*s.H*s.W)
	checkLen("Conv3x3Backward dy", dy, s.Cout*s.H*s.W)
	checkLen("Conv3x3Backward y", y, s.Cout*s.H*s.W)
	checkLen("Conv3x3Backward w", w, s.Cout*s.Cin*9)
	d, g, ys, ws := host(dx), host(dy), host(y), host(w)
	acc := make([]float64, len(d))
	for o := 0; o < s.Cout; o++ {
		for oy := 0; oy < s.H; oy++ {
			for ox := 0; ox < s.W; ox++ {
				p := (o*s.H+oy)*s.W + ox
				if ys[p] <= 0 {
					continue
				}
				gv := float64(g[p])
				for i := 0; i < s.Cin; i++ {
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 3; kx++ {
							iy, ix := oy+ky-1, ox+kx-1
							if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
								continue
							}
							acc[(i*s.H+iy)*s.W+ix] += gv * float64(ws[((o*s.Cin+i)*3+ky)*3+kx])
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		d[i] = float32(v)
	}
}

func (Naive) Pool2x2(dst, x Tensor, s PoolShape, p Pooling) {
	oh, ow := s.OutH(), s.OutW()
	checkLen("Pool2x2 dst", dst, s.C*oh*ow)
	checkLen("Pool2x2 x", x, s.C*s.H*s.W)
	d, xs := host(dst), host(x)
	for c := 0; c < s.C; c++ {
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				base := (c*s.H+2*y)*s.W + 2*xx
				win := [4]float32{xs[base], xs[base+1], xs[base+s.W], xs[base+s.W+1]}
				var v float32
				if p == MaxPool {
					v = win[0]
					for _, e := range win[1:] {
						if e > v {
							v = e
						}
					}
				} else {
					v = float32((float64(win[0]) + float64(win[1]) + float64(win[2]) + float64(win[3])) / 4)
				}
				d[(c*oh+y)*ow+xx] = v
			}
		}
	}
}

func (Naive) Pool2x2Backward(dx, dy, x Tensor, s PoolShape, p Pooling) {
	oh, ow := s.OutH(), s.OutW()
	checkLen("Pool2x2Backward dx", dx, s.C*s.H*s.W)
	checkLen("Pool2x2Backward dy", dy, s.C*oh*ow)
	checkLen("Pool2x2Backward x", x, s.C*s.H*s.W)
	d, g, xs := host(dx), host(dy), host(x)
	for i := range d {
		d[i] = 0
	}
	for c := 0; c < s.C; c++ {
		for y := 0; y < oh; y++ {
			for xx := 0; xx < ow; xx++ {
				base := (c*s.H+2*y)*s.W + 2*xx
				idx := [4]int{base, base + 1, base + s.W, base + s.W + 1}
				gv := g[(c*oh+y)*ow+xx]
				if p == MaxPool {
					best := idx[0]
					for _, j := range idx[1:] {
						if xs[j] > xs[best] {
							best = j
						}
					}
					d[best] = gv
				} else {
					for _, j := range idx {
						d[j] = gv / 4
					}
				}
			}
		}
	}
}

func (Naive) MatMul(dst, a, b Tensor, m, n, k int, transA, transB bool, alpha, beta float32) {
	checkLen("MatMul dst", dst, m*n)
	checkLen("MatMul a", a, m*k)
	checkLen("MatMul b", b, k*n)
	d, as, bs := host(dst), host(a), host(b)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc float64
			for p := 0; p < k; p++ {
				av := as[i*k+p]
				if transA {
					av = as[p*m+i]
				}
				bv := bs[p*n+j]
				if transB {
					bv = bs[j*k+p]
				}
				acc += float64(av) * float64(bv)
			}
			v := float64(alpha) * acc
			if beta != 0 {
				v += float64(beta) * float64(d[i*n+j])
			}
			d[i*n+j] = float32(v)
		}
	}
}

func (Naive) Fill(dst Tensor, v float32) {
	d := host(dst)
	for i := range d {
		d[i] = v
	}
}

func (Naive) Scale(dst Tensor, alpha float32) {
	d := host(dst)
	for i := range d {
		d[i] *= alpha
	}
}

func (Naive) Axpy(dst Tensor, alpha float32, x Tensor) {
	checkLen("Axpy x", x, dst.Len())
	d, xs := host(dst), host(x)
	for i := range d {
		d[i] += alpha * xs[i]
	}
}

func (Naive) Mul(dst, a, b Tensor) {
	checkLen("Mul a", a, dst.Len())
	checkLen("Mul b", b, dst.Len())
	d, as, bs := host(dst), host(a), host(b)
	for i := range d {
		d[i] = as[i] * bs[i]
	}
}

func (Naive) Div(dst, a, b Tensor) {
	checkLen("Div a", a, dst.Len())
	checkLen("Div b", b, dst.Len())
	d, as, bs := host(dst), host(a), host(b)
	for i := range d {
		d[i] = as[i] / bs[i]
	}
}

func (Naive) Sqrt(dst, a Tensor, eps float32) {
	checkLen("Sqrt a", a, dst.Len())
	d, as := host(dst), host(a)
	for i := range d {
		d[i] = float32(math.Sqrt(float64(as[i] + eps)))
	}
}

func (Naive) RowSum(dst, a Tensor, rows, cols int, alpha float32) {
	checkLen("RowSum dst", dst, rows)
	checkLen("RowSum a", a, rows*cols)
	d, as := host(dst), host(a)
	for r := 0; r < rows; r++ {
		var acc float64
		for c := 0; c < cols; c++ {
			acc += float64(as[r*cols+c])
		}
		d[r] = float32(float64(alpha) * acc)
	}
}

func (Naive) AddRows(dst, v Tensor, rows, cols int, alpha float32) {
	checkLen("AddRows dst", dst, rows*cols)
	checkLen("AddRows v", v, rows)
	d, vs := host(dst), host(v)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			d[r*cols+c] += alpha * vs[r]
		}
	}
}

func (Naive) MulRows(dst, v Tensor, rows, cols int) {
	checkLen("MulRows dst", dst, rows*cols)
	checkLen("MulRows v", v, rows)
	d, vs := host(dst), host(v)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			d[r*cols+c] *= vs[r]
		}
	}
}

func (Naive) SortRows(dst, idx, src Tensor, rows, cols int) {
	checkLen("SortRows dst", dst, rows*cols)
	checkLen("SortRows idx", idx, rows*cols)
	checkLen("SortRows src", src, rows*cols)
	d, ix, s := host(dst), host(idx), host(src)
	perm := make([]int, cols)
	row := make([]float32, cols)
	for r := 0; r < rows; r++ {
		copy(row, s[r*cols:(r+1)*cols])
		for c := range perm {
			perm[c] = c
		}
		sort.SliceStable(perm, func(i, j int) bool { return row[perm[i]] < row[perm[j]] })
		for c, p := range perm {
			d[r*cols+c] = row[p]
			ix[r*cols+c] = float32(p)
		}
	}
}

func (Naive) ScatterRows(dst, idx, src Tensor, rows, cols int) {
	checkLen("ScatterRows dst", dst, rows*cols)
	checkLen("ScatterRows idx", idx, rows*cols)
	checkLen("ScatterRows src", src, rows*cols)
	d, ix, s := host(dst), host(idx), host(src)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			d[r*cols+int(ix[r*cols+c])] = s[r*cols+c]
		}
	}
}

func (Naive) ResampleRows(dst, src Tensor, rows, scols, dcols int) {
	checkLen("ResampleRows dst", dst, rows*dcols)
	checkLen("ResampleRows src", src, rows*scols)
	d, s := host(dst), host(src)
	for r := 0; r < rows; r++ {
		for j := 0; j < dcols; j++ {
			k := int((float64(j) + 0.5) * float64(scols) / float64(dcols))
			if k >= scols {
				k = scols - 1
			}
			d[r*dcols+j] = s[r*scols+k]
		}
	}
}

func (Naive) Dot(dst Tensor, i int, a, b Tensor) {
	checkLen("Dot b", b, a.Len())
	as, bs := host(a), host(b)
	var acc float64
	for k := range as {
		acc += float64(as[k]) * float64(bs[k])
	}
	host(dst)[i] = float32(acc)
}

func (Naive) Sum(dst Tensor, i int, a Tensor) {
	var acc float64
	for _, v := range host(a) {
		acc += float64(v)
	}
	host(dst)[i] = float32(acc)
}

func (Naive) TV(loss Tensor, i int, dx, x Tensor, c, h, w int, weight float32) {
	checkLen("TV x", x, c*h*w)
	checkLen("TV dx", dx, c*h*w)
	d, xs := host(dx), host(x)
	var acc float64
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				p := (ch*h+y)*w + xx
				if xx+1 < w {
					diff := xs[p+1] - xs[p]
					acc += float64(diff) * float64(diff)
					d[p+1] += 2 * weight * diff
					d[p] -= 2 * weight * diff
				}
				if y+1 < h {
					diff := xs[p+w] - xs[p]
					acc += float64(diff) * float64(diff)
					d[p+w] += 2 * weight * diff
					d[p] -= 2 * weight * diff
				}
			}
		}
	}
	host(loss)[i] = float32(float64(weight) * acc)
}

func (Naive) Adam(x, g, m, v Tensor, p AdamParams) {
	n := x.Len()
	checkLen("Adam g", g, n)
	checkLen("Adam m", m, n)
	checkLen("Adam v", v, n)
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
