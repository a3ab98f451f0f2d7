package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:9: needs ../shared (weights), which is absent\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"--- SKIP: TestA (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:3: got 2, want 3\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestB"}`,
		`{"Action":"fail","Package":"p","Elapsed":0.5}`,
		`{"Action":"pass","Package":"q","Elapsed":1.25}`,
	}, "\n")
	var out bytes.Buffer
	code := summarise(strings.NewReader(in), &out)
	want := "    b_test.go:3: got 2, want 3\nFAIL\tp\t0.500s\nok  \tq\t1.250s\n\n1 test(s) skipped:\n  SKIP p TestA: needs ../shared (weights), which is absent\n"
	if code != 1 || out.String() != want {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out.String(), want)
	}
	out.Reset()
	if code := summarise(strings.NewReader(`{"Action":"pass","Package":"q","Elapsed":1}`), &out); code != 0 {
		t.Errorf("all passed: exit %d", code)
	}
	out.Reset()
	if code := summarise(strings.NewReader("go: unknown flag -x\n"), &out); code != 1 || !strings.Contains(out.String(), "no test events") {
		t.Errorf("no events: exit %d, %q", code, out.String())
	}
}
