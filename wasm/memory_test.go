package main

import (
	"strings"
	"testing"
)

// The settings answer carries the memory model's plan for the page's
// images on the session's backend: a size that fits says so (untiled up to
// its largest size); one that fits only in tiles has its tile; one that
// cannot fit is refused, as the answer's error, with the largest size that
// fits; a tiled run reports its tiles and passes in its progress.
func TestSettingsAnswerCarriesTheMemoryPlan(t *testing.T) {
	w, rec := readyWorker(t)
	ask := func(values map[string]string) SettingsInfo {
		t.Helper()
		w.handle(Inbound{Type: InSettings, Values: values})
		return rec.waitFor(t, "settings", isType(OutSettings)).(SettingsInfo)
	}
	si := ask(map[string]string{"image_size": "64", "content_layers": "conv2_2", "style_layers": "conv1_1:1,conv2_1:1,conv3_1:0"})
	m := si.Memory
	if m == nil || !m.Fits || m.Tiled() || m.Width != 64 || m.Height != 51 || m.Memory.Backend != "cpu" || m.Memory.Weights == 0 ||
		m.Memory.Tensors == 0 || m.MaxUntiled < 64 || m.BudgetFrom != "host" || si.Error != "" {
		t.Fatalf("64 px: %+v, error %q", m, si.Error)
	}
	si = ask(map[string]string{"image_size": "1024", "memory_limit": "256", "content_layers": "conv2_2", "style_layers": "conv1_1:1,conv2_1:1,conv3_1:0"})
	m = si.Memory
	if m == nil || !m.Fits || !m.Tiled() || m.Tile >= 1024 || m.Untiled.Total() <= 256<<20 || m.Memory.Total() > 256<<20 || si.Error != "" {
		t.Fatalf("1024 px in 256 MiB: %+v, error %q", m, si.Error)
	}
	si = ask(map[string]string{"image_size": "4096", "memory_limit": "64", "content_layers": "conv2_2", "style_layers": "conv1_1:1,conv2_1:1,conv3_1:0"})
	m = si.Memory
	if m == nil || m.Fits || m.MaxSize == 0 || m.MaxSize >= 4096 || !strings.Contains(si.Error, "more than the budget of 64 MiB") ||
		!strings.Contains(si.Error, "the largest image_size that fits is") {
		t.Fatalf("4096 px in 64 MiB: %+v, error %q", m, si.Error)
	}

	values := smallRun(4)
	values["image_size"], values["tile_size"], values["preview_every"] = "48", "24", "1"
	w.handle(Inbound{Type: InStart, ID: 3, Values: values})
	seen, previews := map[[2]int]bool{}, 0
	for {
		msg := rec.waitFor(t, "progress, preview or done", func(m any) bool {
			switch m.(type) {
			case ProgressMsg, Frame:
				return true
			}
			return false
		})
		if p, ok := msg.(ProgressMsg); ok {
			if p.Progress.Tiles == 0 || p.Progress.Passes != 2 || p.Progress.TileRect == nil {
				t.Fatalf("untiled progress in a tiled run: %+v", p.Progress)
			}
			seen[[2]int{p.Progress.Pass, p.Progress.Tile}] = true
			continue
		}
		f := msg.(Frame)
		if f.Type == OutPreview {
			previews++
			continue
		}
		if f.Iter != 4 || f.Width != 48 || f.Height != 38 {
			t.Fatalf("done: %+v", f)
		}
		break
	}
	if len(seen) < 8 || previews != len(seen) {
		t.Fatalf("%d tiles in 2 passes, %d previews: want one per tile", len(seen), previews)
	}
}
