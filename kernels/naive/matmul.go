package naive

// MatMul: the triple loop, in float64.

import "github.com/crema-app/crema/kernels"

func (Backend) MatMul(dst, a, b kernels.Tensor, m, n, k int, transA, transB bool, alpha, beta float32) {
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
