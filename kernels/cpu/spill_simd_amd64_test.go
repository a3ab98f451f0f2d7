//go:build goexperiment.simd && amd64

package cpu

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestKernelLoopsDoNotSpill disassembles this test binary (binutils objdump,
// which decodes EVEX; go tool objdump does not) and checks that the k loop
// of each SIMD micro-kernel keeps its accumulators in registers: no vector
// load or store through the stack pointer, and at least one FMA, between a
// backward branch and its target. The Go compiler gives loop-carried vector
// values only X0–X14 (microkernel_simd_amd64.go), so a tile that needs more
// would spill on every k step, as the old 8×32 kernel did. It needs
// binutils' objdump ($OBJDUMP, else the one on PATH), which make test
// installs (tools/setup/deps.sh objdump); without it the test fails.
func TestKernelLoopsDoNotSpill(t *testing.T) {
	objdump := os.Getenv("OBJDUMP")
	if objdump == "" {
		var err error
		if objdump, err = exec.LookPath("objdump"); err != nil {
			t.Fatal("needs binutils' objdump to read the kernels' disassembly: run tools/setup/deps.sh objdump, or set OBJDUMP")
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// go test strips the symbol table: find each kernel by its entry PC
	// (Go executables on amd64 are not position-independent by default)
	// and read up to the int3 padding after it.
	kernels := map[string]tileFunc{"avx512x2x64": avx512x2x64, "avx512x4x32": avx512x4x32,
		"avx512x7x16": avx512x7x16, "avx2x4x16": avx2x4x16, "avx2x7x8": avx2x7x8}
	funcs := map[string][]string{} // kernel → its instructions
	for name, fn := range kernels {
		pc := reflect.ValueOf(fn).Pointer()
		out, err := exec.Command(objdump, "-d", "--no-show-raw-insn",
			fmt.Sprintf("--start-address=%#x", pc), fmt.Sprintf("--stop-address=%#x", pc+0x1000), self).Output()
		if err != nil {
			t.Fatalf("objdump -d %s: %v", self, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasSuffix(strings.TrimSpace(line), "int3") {
				break
			}
			funcs[name] = append(funcs[name], line)
		}
	}
	want := []string{"avx512x2x64", "avx512x4x32", "avx512x7x16", "avx2x4x16", "avx2x7x8"}
	insn := regexp.MustCompile(`^\s*([0-9a-f]+):\s*(.*)$`)
	jump := regexp.MustCompile(`^j\w+\s+([0-9a-f]+)`)
	for _, name := range want {
		lines := funcs[name]
		if len(lines) == 0 {
			t.Errorf("%s: not found in the disassembly", name)
			continue
		}
		type ins struct {
			addr uint64
			text string
		}
		var is []ins
		for _, l := range lines {
			if m := insn.FindStringSubmatch(l); m != nil {
				a, _ := strconv.ParseUint(m[1], 16, 64)
				is = append(is, ins{a, m[2]})
			}
		}
		// The k loop: the backward branch whose body holds the FMAs.
		found := false
		for _, j := range is {
			m := jump.FindStringSubmatch(j.text)
			if m == nil {
				continue
			}
			target, _ := strconv.ParseUint(m[1], 16, 64)
			if target >= j.addr {
				continue
			}
			var fmas, spills int
			for _, b := range is {
				if b.addr < target || b.addr > j.addr {
					continue
				}
				if strings.Contains(b.text, "vfmadd") {
					fmas++
				}
				if strings.Contains(b.text, "mm") && strings.Contains(b.text, "(%rsp)") {
					spills++
					t.Logf("%s: %x: %s", name, b.addr, b.text)
				}
			}
			if fmas == 0 {
				continue
			}
			found = true
			if spills > 0 {
				t.Errorf("%s: %d vector stack accesses in the k loop (%d FMAs)", name, spills, fmas)
				break
			}
		}
		if !found {
			t.Errorf("%s: no loop with FMAs found", name)
		}
		if !strings.Contains(strings.Join(lines, "\n"), "vzeroupper") {
			t.Errorf("%s: no VZEROUPPER", name)
		}
	}
}
