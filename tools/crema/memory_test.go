package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crema-app/crema/kernels"
	"github.com/crema-app/crema/kernels/cpu"
	"github.com/crema-app/crema/model"
	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/tools/internal/shared"
)

// allocCounter forwards to a backend and counts its live tensor bytes.
type allocCounter struct {
	kernels.Backend
	mu                  sync.Mutex
	live, peak, largest int64
	sizes               map[kernels.Tensor]int64
}

func (c *allocCounter) Alloc(n int) (kernels.Tensor, error) {
	t, err := c.Backend.Alloc(n)
	if err == nil {
		c.mu.Lock()
		c.sizes[t] = 4 * int64(n)
		c.live += 4 * int64(n)
		c.peak, c.largest = max(c.peak, c.live), max(c.largest, 4*int64(n))
		c.mu.Unlock()
	}
	return t, err
}

func (c *allocCounter) Free(t kernels.Tensor) {
	c.mu.Lock()
	c.live -= c.sizes[t]
	delete(c.sizes, t)
	c.mu.Unlock()
	c.Backend.Free(t)
}

// memoryRow is one measurement: the model's figures and what the run took.
type memoryRow struct {
	Size, Width, Height, Tile int
	Model                     transfer.Memory
	Untiled                   int64 // the model's total without tiles
	Tensors                   int64 // the tensors' measured peak (counted)
	Largest                   int64
	Baseline                  int64 // the process's RSS before the run (weights, runtime, binary)
	HWM                       int64 // the process's peak RSS (VmHWM)
	Heap                      int64 // the peak of Go's heap in use, sampled every 10 ms
	Seconds                   float64
}

// procStatus reads a field of /proc/self/status in bytes (0 when absent).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkMemory measures what runs take on the CPU backend against the
// memory model, one process per size (the peak RSS is a process's), and
// prints the table BENCHMARKS.md quotes; it fails where the counted tensors'
// peak differs from the model's or the process's RSS grew past the model's
// total. CREMA_MEMORY lists the sizes (default 256); one pass is the
// measurement, so run it once:
//
//	CREMA_MEMORY=256,512,1024,2048 go test -run xxx -bench Memory -benchtime 1x -timeout 3h ./tools/crema
//
// The real conv1_1 … conv3_4 weights, chelsea.png with coffee.png's style,
// style layers conv1_1, conv2_1, conv3_1, content conv3_2, L-BFGS, one
// iteration (every tile of a tiled run once), the run's plan as PlanRun
// makes it for half this machine's memory; 2048 px in 512 px tiles
// (CREMA_MEMORY_TILE). Go's collector is given the model's total as its
// soft limit (debug.SetMemoryLimit, as the CLI does with the budget), so
// that garbage does not inflate the peak beyond the live bytes.
func BenchmarkMemory(b *testing.B) {
	if child := os.Getenv("CREMA_MEMORY_CHILD"); child != "" {
		measureChild(b, child)
		return
	}
	sizes := os.Getenv("CREMA_MEMORY")
	if sizes == "" {
		sizes = "256"
	}
	shared.Require(b, shared.Weights(), "the real VGG-19 weights")
	var rows []memoryRow
	for _, size := range strings.Split(sizes, ",") {
		cmd := exec.Command(os.Args[0], "-test.run", "^$", "-test.bench", "^BenchmarkMemory$", "-test.benchtime", "1x", "-test.timeout", "3h")
		cmd.Env = append(os.Environ(), "CREMA_MEMORY_CHILD="+size)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s px: %v\n%s", size, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if js, ok := strings.CutPrefix(line, "ROW "); ok {
				var r memoryRow
				if err := json.Unmarshal([]byte(js), &r); err != nil {
					b.Fatal(err)
				}
				rows = append(rows, r)
			}
		}
	}
	mib := func(n int64) string { return fmt.Sprintf("%.0f", float64(n)/(1<<20)) }
	fmt.Println("| size | image | tile | model: tensors | measured tensors (counted) | model: scratch + host | model total (CPU) | untiled total | process peak RSS − before the run | peak Go heap | seconds |")
	fmt.Println("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		tile := "untiled"
		if r.Tile > 0 {
			tile = fmt.Sprintf("%d px", r.Tile)
		}
		fmt.Printf("| %d | %d×%d | %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n", r.Size, r.Width, r.Height, tile,
			mib(r.Model.Tensors), mib(r.Tensors), mib(r.Model.Scratch+r.Model.Host), mib(r.Model.Total()), mib(r.Untiled),
			mib(r.HWM-r.Baseline), mib(r.Heap), r.Seconds)
		if r.Tensors != r.Model.Tensors {
			b.Errorf("%d px: the tensors' peak %d, the model's %d", r.Size, r.Tensors, r.Model.Tensors)
		}
		if r.HWM-r.Baseline > r.Model.Total() {
			b.Errorf("%d px: the run took %s MiB of RSS, more than the model's %s MiB", r.Size, mib(r.HWM-r.Baseline), mib(r.Model.Total()))
		}
	}
}

// measureChild is one size's run, in the child process: it prints its row
// as JSON after "ROW ".
func measureChild(t testing.TB, sizeText string) {
	size, err := strconv.Atoi(sizeText)
	if err != nil {
		t.Fatal(err)
	}
	w := realWeights(t)
	load := func(name string) image.Image { return sampleImage(t, name) }
	c := &allocCounter{Backend: cpu.New(0), sizes: map[kernels.Tensor]int64{}}
	b := kernels.Checked(c)
	net, err := model.New(b, w)
	if err != nil {
		t.Fatal(err)
	}
	weights := c.live
	s := transfer.Defaults()
	s.ImageSize, s.Iterations = size, 1
	s.StyleLayers, _ = transfer.ParseLayers("conv1_1,conv2_1,conv3_1")
	s.ContentLayers = []string{"conv3_2"}
	if size >= 2048 {
		s.TileSize = 512
		if v, err := strconv.Atoi(os.Getenv("CREMA_MEMORY_TILE")); err == nil {
			s.TileSize = v
		}
	}
	job := transfer.Job{Content: load("chelsea.png"), Styles: []image.Image{load("coffee.png")}, Settings: s}
	plan, err := transfer.PlanRun(b, net, s, transfer.ShapeOf(job))
	if err != nil || !plan.Fits {
		t.Fatalf("plan %+v: %v", plan, err)
	}
	debug.SetMemoryLimit(plan.Memory.Total())
	runtime.GC()
	row := memoryRow{Size: size, Width: plan.Width, Height: plan.Height, Tile: plan.Tile, Model: plan.Memory, Untiled: plan.Untiled.Total(),
		Baseline: procStatus("VmRSS")}
	stop := make(chan struct{})
	var heap int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			heap = max(heap, int64(ms.HeapInuse))
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	c.peak, c.largest = weights, 0
	start := time.Now()
	if _, err := transfer.Run(context.Background(), b, net, job, transfer.Hooks{}); err != nil {
		t.Fatal(err)
	}
	row.Seconds = time.Since(start).Seconds()
	close(stop)
	wg.Wait()
	row.Tensors, row.Largest, row.Heap, row.HWM = c.peak-weights, c.largest, heap, procStatus("VmHWM")
	js, _ := json.Marshal(row)
	fmt.Printf("ROW %s\n", js)
}
