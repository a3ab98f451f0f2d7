package cpu

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPackConv: packing conv3_2's im2col block (256 channels at 64²,
// one job's KC×NC block) for 16-column panels, in floats per second: by
// Go's packB ("go") and, where the micro-kernels come with one (package
// wasmsimd's pack_conv in a browser), by the kernels' module ("module").
func BenchmarkPackConv(b *testing.B) {
	const cin, h, w, nr = 256, 64, 64, 16
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]float32, cin*h*w)
	for i := range src {
		src[i] = r.Float32()
	}
	packs := map[string]PackConvFunc{"go": nil}
	for _, k := range New(1).kernels {
		if k.pack != nil {
			packs["module"] = k.pack
			break
		}
	}
	for _, name := range []string{"go", "module"} {
		pack, ok := packs[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			op := &convOperand{src: src, cin: cin, h: h, w: w, cols: h * w, pack: pack}
			nc := gemmNC / nr * nr
			dst := make([]float32, gemmKC*nc)
			n := 0
			for b.Loop() {
				for k0 := 0; k0 < cin*9; k0 += gemmKC {
					for n0 := 0; n0 < h*w; n0 += nc {
						op.packB(dst, k0, min(gemmKC, cin*9-k0), n0, min(nc, h*w-n0), nr)
						n += min(gemmKC, cin*9-k0) * min(nc, h*w-n0)
					}
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e9, "Gfloat/s")
		})
	}
}

// BenchmarkPackAConvT: packing conv3_2's weights (256 → 256 channels) as
// the input gradient's A operand (transposed, rotated) for 4-row panels, in
// floats per second. Every input-gradient call packs them once.
func BenchmarkPackAConvT(b *testing.B) {
	const cin, cout, mr = 256, 256, 4
	r := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, cout*cin*9)
	for i := range w {
		w[i] = r.Float32()
	}
	c := New(1)
	n := 0
	for b.Loop() {
		c.packAConvT(mr, w, cin, cout)
		n += len(w)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e9, "Gfloat/s")
}
