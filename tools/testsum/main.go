// Command testsum reads `go test -json` and prints what `go test` prints
// (a line per package, and the output of every failing test), then lists
// every skipped test with its reason, so that a test skipped for want of an
// input (../shared, a browser) is never silent. It exits 1 when a test or a
// build failed.
//
//	go test -json ./... | go run ./tools/testsum
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of test2json's output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	os.Exit(summarise(os.Stdin, os.Stdout))
}

func summarise(in io.Reader, out io.Writer) int {
	type key struct{ pkg, test string }
	logs := map[key][]string{}
	var skipped []string
	failed := false
	events := 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(out, sc.Text()) // not JSON: a build error, say
			if strings.HasPrefix(sc.Text(), "FAIL") {
				failed = true
			}
			continue
		}
		events++
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output":
			logs[k] = append(logs[k], e.Output)
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(logs[k])))
			}
			delete(logs, k)
		case "pass":
			delete(logs, k)
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "fail":
			failed = true
			if e.Test != "" {
				fmt.Fprint(out, strings.Join(logs[k], ""))
				delete(logs, k)
				continue
			}
			fmt.Fprint(out, strings.Join(logs[k], ""))
			fmt.Fprintf(out, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
			delete(logs, k)
		}
		if e.Test == "" && (e.Action == "pass" || e.Action == "skip") {
			status := "ok  "
			if e.Action == "skip" {
				status = "?   "
			}
			fmt.Fprintf(out, "%s\t%s\t%.3fs\n", status, e.Package, e.Elapsed)
		}
	}
	if events == 0 {
		fmt.Fprintln(out, "testsum: no test events on stdin (did go test fail to start?)")
		return 1
	}
	if len(skipped) > 0 {
		fmt.Fprintf(out, "\n%d test(s) skipped:\n", len(skipped))
		for _, s := range skipped {
			fmt.Fprintln(out, "  SKIP "+s)
		}
	}
	if failed {
		return 1
	}
	return 0
}

// reason is a skipped test's message: its output without the framing lines.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		if i := strings.Index(l, ".go:"); i >= 0 {
			if j := strings.Index(l[i:], ": "); j >= 0 {
				l = l[i+j+2:]
			}
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}
