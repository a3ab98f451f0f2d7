package setup

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// env is a sandbox for deps.sh: a fake repository (CREMA_ROOT), stub npm,
// apt-get and id commands that log their calls, and a browser path that
// does not exist until the stub apt-get "installs" it.
type env struct {
	t                 *testing.T
	root, bin, calls  string
	chromium, firefox string
	objdump           string
	icds              string // VULKAN_ICDS
	uid               string
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, root: t.TempDir(), bin: t.TempDir(), uid: "1000"}
	e.calls = filepath.Join(e.bin, "calls.log")
	e.chromium = filepath.Join(e.bin, "chromium")
	e.firefox = filepath.Join(e.bin, "firefox-esr")
	e.objdump = filepath.Join(e.bin, "objdump")
	e.icds = t.TempDir()
	e.write(filepath.Join(e.root, "package-lock.json"), "{}")
	// npm ci makes node_modules and its lock stamp, as the real one does.
	e.stub("npm", `echo "npm $*" >> "$CALLS"; mkdir -p node_modules; echo '{}' > node_modules/.package-lock.json`)
	e.stub("apt-get", `echo "apt-get $*" >> "$CALLS"
for p in "$@"; do
  case $p in
    chromium) printf '#!/bin/sh\n' > "$CHROMIUM"; chmod +x "$CHROMIUM" ;;
    firefox-esr) printf '#!/bin/sh\n' > "$FIREFOX"; chmod +x "$FIREFOX" ;;
    mesa-vulkan-drivers) echo '{}' > "$VULKAN_ICDS/lvp_icd.x86_64.json" ;;
    binutils) printf '#!/bin/sh\n' > "$OBJDUMP"; chmod +x "$OBJDUMP" ;;
  esac
done`)
	return e
}

func (e *env) write(path, text string) {
	e.t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) stub(name, body string) {
	e.write(filepath.Join(e.bin, name), "#!/bin/sh\n"+body+"\n")
}

// run runs deps.sh with args; it returns its stderr, the stub calls and
// whether it succeeded.
func (e *env) run(args ...string) (out, calls string, ok bool) {
	e.t.Helper()
	os.Remove(e.calls)
	e.stub("id", `echo `+e.uid)
	cmd := exec.Command("bash", append([]string{"deps.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+e.bin+":/usr/bin:/bin", "CREMA_ROOT="+e.root, "CALLS="+e.calls,
		"CHROMIUM="+e.chromium, "FIREFOX="+e.firefox, "OBJDUMP="+e.objdump, "VULKAN_ICDS="+e.icds)
	b, err := cmd.CombinedOutput()
	c, _ := os.ReadFile(e.calls)
	return string(b), string(c), err == nil
}

func TestNpmPackagesInstalledWhenAbsentOrStale(t *testing.T) {
	e := newEnv(t)
	out, calls, ok := e.run("npm")
	if !ok || !strings.Contains(calls, "npm ci") || !strings.Contains(out, "node_modules is absent") {
		t.Fatalf("fresh clone: ok=%v calls=%q out=%q", ok, calls, out)
	}
	if _, calls, ok = e.run("npm"); !ok || calls != "" {
		t.Fatalf("up to date: ok=%v, calls %q (want none)", ok, calls)
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(e.root, "package-lock.json"), future, future)
	out, calls, ok = e.run("npm")
	if !ok || !strings.Contains(calls, "npm ci") || !strings.Contains(out, "older than package-lock.json") {
		t.Fatalf("stale: ok=%v calls=%q out=%q", ok, calls, out)
	}
}

func TestBrowsersInstalledByRootWithApt(t *testing.T) {
	e := newEnv(t)
	e.uid = "0"
	out, calls, ok := e.run("chromium", "firefox")
	if !ok {
		t.Fatalf("failed: %s", out)
	}
	for _, want := range []string{"apt-get update", "install -y -qq --no-install-recommends chromium", "firefox-esr mesa-vulkan-drivers"} {
		if !strings.Contains(calls, want) {
			t.Errorf("calls lack %q:\n%s", want, calls)
		}
	}
	if strings.Count(calls, "apt-get update") != 1 {
		t.Errorf("apt-get update ran more than once:\n%s", calls)
	}
	if _, calls, ok = e.run("chromium", "firefox"); !ok || calls != "" {
		t.Errorf("installed: ok=%v, calls %q (want none)", ok, calls)
	}
}

// Without root (or apt-get) the script says in one line what to run and
// which variable names another browser, and fails: never a silent skip.
func TestMissingBrowserWithoutRootFails(t *testing.T) {
	e := newEnv(t)
	out, calls, ok := e.run("chromium")
	if ok || calls != "" {
		t.Fatalf("ok=%v calls=%q, want a failure and no install", ok, calls)
	}
	want := "deps: " + e.chromium + " is missing: run `sudo apt-get install chromium` (or set CHROMIUM=/path/to/chromium)\n"
	if out != want {
		t.Errorf("message %q, want %q", out, want)
	}
}

// objdump (binutils), which the GOEXPERIMENT=simd kernel test disassembles
// with: installed by root, else the one-line message and a failure.
func TestObjdump(t *testing.T) {
	e := newEnv(t)
	installsWhenRoot(t, e, "objdump", "deps: "+e.objdump+" is missing: run `sudo apt-get install binutils` (or set OBJDUMP=/path/to/objdump)\n", "binutils")
}

// installsWhenRoot runs deps.sh component three times: without root it
// must fail with the one-line message want and install nothing; as root
// install pkg; then, with pkg in place, run nothing.
func installsWhenRoot(t *testing.T, e *env, component, want, pkg string) {
	t.Helper()
	out, calls, ok := e.run(component)
	if ok || calls != "" || out != want {
		t.Fatalf("without root: ok=%v calls=%q out=%q, want a failure saying %q", ok, calls, out, want)
	}
	e.uid = "0"
	if out, calls, ok = e.run(component); !ok || !strings.Contains(calls, "install -y -qq --no-install-recommends "+pkg) {
		t.Fatalf("as root: ok=%v calls=%q out=%q, want %s installed", ok, calls, out, pkg)
	}
	if _, calls, ok = e.run(component); !ok || calls != "" {
		t.Errorf("installed: ok=%v, calls %q (want none)", ok, calls)
	}
}

func TestMissingNpmAndUnknownComponent(t *testing.T) {
	e := newEnv(t)
	os.Remove(filepath.Join(e.bin, "npm"))
	cmd := exec.Command("bash", "deps.sh", "npm")
	cmd.Env = append(os.Environ(), "PATH="+e.bin, "CREMA_ROOT="+e.root, "NPM=crema-no-such-npm")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "npm is missing: install Node.js") {
		t.Errorf("no npm: %v %s", err, out)
	}
	if out, _, ok := e.run("safari"); ok || !strings.Contains(out, "unknown component safari") {
		t.Errorf("unknown component: ok=%v %s", ok, out)
	}
}

// make deps installs every component the browser tests use: Firefox too,
// since make test-browser runs the WebGPU tests in it.
func TestMakeDepsInstallsEveryBrowser(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	mk := string(b)
	i := strings.Index(mk, "\ndeps:\n")
	if i < 0 {
		t.Fatal("the Makefile has no deps recipe")
	}
	recipe, _, _ := strings.Cut(mk[i+len("\ndeps:\n"):], "\n")
	if strings.TrimSpace(recipe) != "tools/setup/deps.sh npm chromium firefox" {
		t.Errorf("deps runs %q, want tools/setup/deps.sh npm chromium firefox", strings.TrimSpace(recipe))
	}
	if !strings.Contains(mk, "-exec $(WASMTEST_FIREFOX)") {
		t.Error("test-browser does not run the Go browser tests in Firefox")
	}
}

// Firefox without lavapipe has no WebGPU adapter here: root installs
// mesa-vulkan-drivers when Firefox is there but the driver is not; others
// are told the command.
func TestLavapipeInstalledForFirefox(t *testing.T) {
	e := newEnv(t)
	e.write(e.firefox, "#!/bin/sh\n")
	installsWhenRoot(t, e, "firefox", "deps: "+e.icds+" has no lavapipe (lvp_icd.*.json): run `sudo apt-get install mesa-vulkan-drivers` (or set VULKAN_ICDS)\n", "mesa-vulkan-drivers")
}
