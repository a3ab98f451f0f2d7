package transfer

import (
	"context"
	"fmt"
	"image"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/crema-app/crema/kernels/backends"
	"github.com/crema-app/crema/model"
)

// BenchmarkWebGPUIteration times whole style-transfer iterations (Run with
// Adam: one VGG forward to conv5_1 and one backward per iteration, Gram style
// losses on conv1_1 … conv5_1, content on conv4_2) with synthetic weights, in
// the browser, on each backend of CREMA_BENCH_BACKENDS (default
// "webgpu,cpu") at each size of CREMA_BENCH_SIZES (default "64,128"):
//
//	GOOS=js GOARCH=wasm go test -exec "$PWD/tools/wasmtest/gowasm-browser" \
//	    -run xxx -bench WebGPUIteration -benchtime=1x ./model/transfer/
//
// ms/iter excludes the first iteration (set-up, shader compilation).
func BenchmarkWebGPUIteration(b *testing.B) {
	src := model.NewSynthetic(1, "conv5_1")
	for _, name := range benchList("CREMA_BENCH_BACKENDS", "webgpu,cpu") {
		be, _, err := backends.Open(name)
		if err != nil {
			b.Fatalf("Open(%s): %v", name, err)
		}
		net, err := model.New(be, src)
		if err != nil {
			b.Fatal(err)
		}
		for _, size := range benchList("CREMA_BENCH_SIZES", "64,128") {
			s, err := strconv.Atoi(size)
			if err != nil || s <= 0 {
				b.Fatalf("CREMA_BENCH_SIZES: bad size %q", size)
			}
			b.Run(fmt.Sprintf("%s/%d", be.Name(), s), func(b *testing.B) {
				st := Defaults()
				st.ImageSize = s
				st.Optimizer = "adam"
				st.Iterations = 4
				var ms []float64
				var per float64
				for i := 0; i < b.N; i++ {
					ms = ms[:0]
					hooks := Hooks{Progress: func(p Progress) {
						if p.Iter >= 1 {
							ms = append(ms, p.MS)
						}
					}}
					job := Job{Content: testImage(s, s, 1), Styles: []image.Image{testImage(s, s, 3)}, Settings: st}
					if _, err := Run(context.Background(), be, net, job, hooks); err != nil {
						b.Fatal(err)
					}
					if len(ms) < 2 {
						b.Fatalf("only %d progress reports", len(ms))
					}
					per = (ms[len(ms)-1] - ms[0]) / float64(len(ms)-1)
				}
				b.ReportMetric(per, "ms/iter")
			})
		}
		net.Close()
	}
}

// benchList is the comma-separated list in the environment variable name,
// or def.
func benchList(name, def string) []string {
	spec := os.Getenv(name)
	if spec == "" {
		spec = def
	}
	var out []string
	for _, f := range strings.Split(spec, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
