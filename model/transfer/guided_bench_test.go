package transfer

import (
	"context"
	"image"
	"slices"
	"testing"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
)

// BenchmarkGuided measures what guided statistics add to an iteration: the
// default layers (content conv4_2, style conv1_1 … conv5_1) at 128² on
// synthetic weights (the real network's shapes) and the CPU backend, with
// no masks, one region (a white mask: the guided code on every position)
// and two regions (left and right halves, two styles: twice the style
// terms). Adam, so that an iteration is one evaluation; an iteration's time
// is measured between the first and the last Progress of an 8-iteration
// run (setup and the first evaluation excluded). The three runs alternate,
// 3 rounds, so that other work on a shared machine slows them alike; it
// reports each one's median ms/iter and its median ratio to the unguided
// run of the same round:
//
//	go test -run xxx -bench Guided -benchtime 1x ./model/transfer/
func BenchmarkGuided(b *testing.B) {
	be := kernels.Checked(cpu.New(0))
	net := syntheticNet(b, be, "")
	content, s1, s2 := testImage(128, 128, 1), testImage(128, 128, 3), testImage(128, 128, 2)
	const iters, rounds = 8, 3
	for _, stat := range []string{"gram", "meanstd"} {
		b.Run(stat, func(b *testing.B) {
			var jobs [3]Job
			for regions := range jobs {
				s := Defaults()
				s.ImageSize, s.Iterations, s.Optimizer, s.StyleStat = 128, iters, "adam", stat
				styles := []image.Image{s1}
				switch regions {
				case 1:
					s.ContentMasks = []string{whiteMask(128, 128)}
				case 2:
					s.ContentMasks = []string{halfMask(128, 128, true), halfMask(128, 128, false)}
					styles = append(styles, s2)
				}
				jobs[regions] = Job{Content: content, Styles: styles, Settings: s}
			}
			perIter := func(job Job) float64 {
				var t1, tn float64
				var last Progress
				_, err := Run(context.Background(), be, net, job, Hooks{Progress: func(p Progress) {
					if p.Iter == 1 {
						t1 = p.MS
					}
					tn, last = p.MS, p
				}})
				if err != nil {
					b.Fatal(err)
				}
				if last.Iter != iters {
					b.Fatalf("the run stopped at iteration %d of %d: %s", last.Iter, iters, last.Note)
				}
				return (tn - t1) / (iters - 1)
			}
			var ms, ratio [3][]float64
			for i := 0; i < b.N; i++ {
				for range rounds {
					var t [3]float64
					for k, job := range jobs {
						t[k] = perIter(job)
						ms[k] = append(ms[k], t[k])
						ratio[k] = append(ratio[k], t[k]/t[0])
					}
				}
			}
			med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
			for k, name := range []string{"none", "1region", "2regions"} {
				b.ReportMetric(med(ms[k]), "ms/iter-"+name)
				if k > 0 {
					b.ReportMetric(med(ratio[k]), "ratio-"+name)
				}
			}
		})
	}
}
