//go:build integration && linux

// Package e2e drives the brig binaries as a user would and checks the
// kernel's view of each container: /proc/PID/status masks, namespace
// inodes, mounts, cgroups.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	bin  string // directory with brig, brig-runtime, brig-monitor
	root string // BRIG_ROOT shared by the tests (image loaded once)
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("e2e tests need root")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "brig-e2e")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "bin")
	root = filepath.Join(dir, "root")
	code := func() int {
		for _, c := range []string{"brig", "brig-runtime", "brig-monitor"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(bin, c), "../../cmd/"+c)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Printf("build %s: %v\n%s", c, err, out)
				return 1
			}
		}
		img := filepath.Join(dir, "demo.tar")
		if out, err := exec.Command("go", "run", "../../hack/mkdemo", "-o", img).CombinedOutput(); err != nil {
			fmt.Printf("mkdemo: %v\n%s", err, out)
			return 1
		}
		if out, err := brigCmd("load", "-i", img).CombinedOutput(); err != nil {
			fmt.Printf("load: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	// Whatever a failed test left running goes now.
	if out, err := brigCmd("ps", "-aq").Output(); err == nil {
		for _, id := range strings.Fields(string(out)) {
			_ = brigCmd("rm", "-f", id).Run()
		}
	}
	_ = exec.Command("umount", "-R", root).Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func brigCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, "brig"), args...)
	cmd.Env = append(os.Environ(), "BRIG_ROOT="+root, "BRIG_SETRANS="+setrans())
	return cmd
}

func setrans() string {
	p, _ := filepath.Abs("../../internal/selinux/mls/testdata/setrans_topsecret.conf")
	return p
}

// brig runs brig and fails the test on error; it returns stdout.
func brig(t *testing.T, args ...string) string {
	t.Helper()
	var out, stderr bytes.Buffer
	cmd := brigCmd(args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("brig %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), stderr.String())
	}
	return out.String()
}

// brigFail runs brig expecting failure; it returns stderr and the exit code.
func brigFail(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := brigCmd(args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		t.Fatalf("brig %s succeeded, want failure", strings.Join(args, " "))
	}
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return stderr.String(), code
}

type inspection struct {
	ID    string
	Name  string
	State struct {
		Status    string
		Pid       int
		ExitCode  int
		OOMKilled bool
	}
	Security struct {
		Privileged      bool
		CapabilityDiff  string
		NoNewPrivileges bool
		Seccomp         struct{ Mode string }
		SELinux         struct{ ProcessLabel, MountLabel, State string }
		Namespaces      map[string]string
	}
	Warnings []string
}

func inspect(t *testing.T, ref string) inspection {
	t.Helper()
	var out []inspection
	if err := json.Unmarshal([]byte(brig(t, "inspect", ref)), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v", ref, err)
	}
	return out[0]
}

// runDetached starts a sleeping container with args and returns its name
// and init pid; the container is removed when the test ends.
func runDetached(t *testing.T, args ...string) (string, int) {
	t.Helper()
	name := fmt.Sprintf("t%d", time.Now().UnixNano())
	full := append([]string{"run", "-d", "--name", name}, args...)
	full = append(full, "brig-demo", "sleep", "1000")
	brig(t, full...)
	t.Cleanup(func() { _ = brigCmd("rm", "-f", name).Run() })
	in := inspect(t, name)
	if in.State.Status != "running" || in.State.Pid <= 0 {
		t.Fatalf("%s: state %+v", name, in.State)
	}
	return name, in.State.Pid
}

func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func nsLink(t *testing.T, pid any, ns string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%v/ns/%s", pid, ns))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// leftovers lists what brig left on the host for a removed container id.
func leftovers(id string) []string {
	var bad []string
	if _, err := os.Stat(filepath.Join(root, "containers", id)); err == nil {
		bad = append(bad, "record dir")
	}
	if _, err := os.Stat(filepath.Join(root, "run", "runtime", id)); err == nil {
		bad = append(bad, "runtime state")
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/*/brig/" + id); len(m) > 0 {
		bad = append(bad, "cgroup "+m[0])
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if id != "" && bytes.Contains(mi, []byte(id)) {
		bad = append(bad, "mount")
	}
	return bad
}
