package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The goal is 90 % of the reference's drop in log10 loss; a coarse-to-fine
// run is judged from its final stage only; the table and the plot say so.
func TestTimeToTheGoal(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rs []result) string {
		b, err := json.Marshal(file{Results: rs})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Reference: 1e9 → 1e4 (log 9 → 4): the goal is log10 ≤ 4.5.
	ref := write("ref.json", []result{{Name: "lbfgs-200", Query: "?num_iterations=200", Points: [][4]any{
		{0.5, 0.0, 1e9, ""}, {30.0, 50.0, 1e5, ""}, {70.0, 100.0, 2e4, ""}, {200.0, 200.0, 1e4, ""},
	}}})
	cands := write("c.json", []result{{Name: "c2f", Query: "?coarse_to_fine=1", CoarseToFine: true, Points: [][4]any{
		{0.2, 0.0, 1e9, ""}, {5.0, 20.0, 1e3, ""}, // the half-size stage: not comparable, ignored
		{10.0, 30.0, 1e8, "coarse-to-fine: continuing at 256×170 from iteration 30"}, {40.0, 50.0, 3e4, ""}, {90.0, 80.0, 5e3, ""},
	}}})
	svg := filepath.Join(dir, "p.svg")
	var out strings.Builder
	if err := run(ref, "lbfgs-200", svg, "test", 60, []string{cands}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Goal: log10(total loss) ≤ 4.500",
		"| lbfgs-200 | `num_iterations=200` | 70 s (iteration 100) | 1e+05 | 1e+04 (200 s, iteration 200) |",
		"| c2f | `coarse_to_fine=1` | 40 s (iteration 50) | 3e+04 | 5e+03 (90 s, iteration 80) |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "<polyline"); n != 2 {
		t.Errorf("the plot has %d curves, want 2", n)
	}
	// A reference stopped at the cap has no end to measure the drop by.
	stopped := write("s.json", []result{{Name: "lbfgs-200", StoppedAtCap: true, Points: [][4]any{{0.5, 0.0, 1e9, ""}, {1.0, 1.0, 1e8, ""}}}})
	if err := run(stopped, "lbfgs-200", svg, "", 60, nil, &out); err == nil || !strings.Contains(err.Error(), "stopped before its last iteration") {
		t.Errorf("a stopped reference: %v", err)
	}
}
