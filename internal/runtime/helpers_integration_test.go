//go:build integration && linux

package runtime

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/testimage"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMain(m *testing.M) {
	// The runtime re-executes /proc/self/exe as the container init: here
	// that is this test binary.
	if IsInit() {
		Init()
	}
	if os.Geteuid() != 0 {
		println("integration tests need root")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

var (
	probeOnce sync.Once
	probeBin  string
	probeErr  error
)

// probe builds the static in-container probe once per test binary.
func probe(t *testing.T) string {
	t.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "brig-probe")
		if err != nil {
			probeErr = err
			return
		}
		probeBin = filepath.Join(dir, "probe")
		cmd := exec.Command("go", "build", "-o", probeBin, "./testdata/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			probeErr = err
			probeBin = string(out)
		}
	})
	if probeErr != nil {
		t.Fatalf("build probe: %v\n%s", probeErr, probeBin)
	}
	return probeBin
}

// newBundle makes a bundle with a busybox rootfs, the probe at /probe and
// a spec like an engine's default (Docker's 14 capabilities).
func newBundle(t *testing.T, args []string, mutate func(*specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := testimage.Rootfs(root); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(probe(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "probe"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	pd := filepath.Join(root, "probe-data")
	must(t, os.MkdirAll(filepath.Join(pd, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(pd, "f"), nil, 0))
	must(t, os.WriteFile(filepath.Join(pd, "g"), nil, 0o755))
	must(t, os.WriteFile(filepath.Join(pd, "lease"), nil, 0o644))
	for _, p := range []string{"d", "f", "g", "lease"} {
		must(t, os.Chown(filepath.Join(pd, p), 1, 1))
	}
	must(t, os.Chmod(filepath.Join(pd, "d"), 0))
	s := ExampleSpec()
	s.Version = "1.0.2"
	s.Root.Readonly = false
	s.Process.Terminal = false
	s.Process.Args = args
	// Go 1.25+ keeps cgroup cpu files open to track GOMAXPROCS; the probe
	// must not, or its own fds would look like leaks.
	s.Process.Env = append(s.Process.Env, "GODEBUG=containermaxprocs=0,updatemaxprocs=0")
	s.Process.NoNewPrivileges = false
	s.Process.Rlimits = nil
	s.Process.Capabilities.Inheritable = nil
	if mutate != nil {
		mutate(s)
	}
	b, _ := json.Marshal(s)
	must(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644))
	return dir
}

func newRuntime(t *testing.T) *Runtime {
	return &Runtime{Store: Store{Root: t.TempDir()}}
}

// runProbe runs the bundle to completion and returns stdout and exit code.
func runBundle(t *testing.T, rt *Runtime, id, bundle string) (string, string, int, error) {
	t.Helper()
	out, _ := os.CreateTemp(t.TempDir(), "out")
	errf, _ := os.CreateTemp(t.TempDir(), "err")
	defer out.Close()
	defer errf.Close()
	code, err := rt.Run(id, CreateOpts{Bundle: bundle, Stdout: out, Stderr: errf}, false)
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return string(o), string(e), code, err
}

// probeResults runs the probe with checks and decodes its verdicts.
func probeResults(t *testing.T, mutate func(*specs.Spec), checks ...string) map[string]string {
	t.Helper()
	rt := newRuntime(t)
	b := newBundle(t, append([]string{"/probe"}, checks...), mutate)
	out, stderr, code, err := runBundle(t, rt, "p", b)
	if err != nil || code != 0 {
		t.Fatalf("probe run: code %d err %v\nstdout %s\nstderr %s", code, err, out, stderr)
	}
	res := map[string]string{}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("probe output %q: %v", out, err)
	}
	return res
}

// statusField reads one field of a /proc/PID/status dump.
func statusField(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func withCaps(list []string) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: list, Effective: list, Permitted: list}
	}
}

func hostCaps(t *testing.T) []string {
	b, err := os.ReadFile("/proc/self/status")
	must(t, err)
	set, err := caps.ParseHex(statusField(string(b), "CapBnd"))
	must(t, err)
	return set.Names()
}

// leftovers lists what a deleted container may have left on the host.
func leftovers(t *testing.T, rt *Runtime, id, rootfs string) []string {
	t.Helper()
	var bad []string
	if _, err := os.Stat(filepath.Join(rt.Store.Root, id)); err == nil {
		bad = append(bad, "state dir")
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if rootfs != "" && bytes.Contains(mi, []byte(rootfs)) {
		bad = append(bad, "mount under "+rootfs)
	}
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/brig-runtime/" + id)
	for _, m := range matches {
		bad = append(bad, "cgroup "+m)
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/unified/brig-runtime/" + id); len(m) > 0 {
		bad = append(bad, "cgroup "+m[0])
	}
	return bad
}
