//go:build integration && linux

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// --init puts brig's tiny init at pid 1; it reaps and passes the exit on.
func TestInit(t *testing.T) {
	out := brig(t, "run", "--rm", "--init", "brig-demo", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; sh -c 'exit 0' & wait")
	if !strings.HasPrefix(out, "/dev/init -- sh") {
		t.Errorf("pid 1 is %q, want /dev/init", out)
	}
	_, code := brigFail(t, "run", "--rm", "--init", "brig-demo", "sh", "-c", "exit 5")
	if code != 5 {
		t.Errorf("exit code through --init: %d", code)
	}
}

// brig-runtime calms Go's sysmon with a long timer slack (internal/slack);
// neither the container's init nor the process --init starts under it
// may inherit that: both have the slack of whoever ran brig.
func TestTimerSlackNotInherited(t *testing.T) {
	want, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	w := strings.TrimSpace(string(want))
	// Reading another process's slack takes CAP_SYS_NICE.
	out := brig(t, "run", "--rm", "--init", "--cap-add", "SYS_NICE", "brig-demo", "sh", "-c", "cat /proc/1/timerslack_ns /proc/self/timerslack_ns")
	if got := strings.Fields(out); len(got) != 2 || got[0] != w || got[1] != w {
		t.Errorf("timer slack of /dev/init and its child: %q, want %s for both", out, w)
	}
}

// Each container gets its own MCS pair, recorded on disk, freed on rm.
func TestMCSLevels(t *testing.T) {
	a, _ := runDetached(t)
	b, _ := runDetached(t)
	la, lb := inspect(t, a).Security.SELinux.ProcessLabel, inspect(t, b).Security.SELinux.ProcessLabel
	if !strings.Contains(la, ":s0:c") || la == lb {
		t.Fatalf("labels %q and %q, want distinct s0:cX,cY levels", la, lb)
	}
	levels := func() map[string]string {
		var m struct{ Levels map[string]string }
		data, _ := os.ReadFile(filepath.Join(root, "mcs", "levels.json"))
		_ = json.Unmarshal(data, &m)
		if m.Levels == nil {
			_ = json.Unmarshal(data, &m.Levels)
		}
		return m.Levels
	}
	id := inspect(t, a).ID
	if _, ok := levels()[id]; !ok {
		t.Fatalf("no reservation for %s in %v", id, levels())
	}
	brig(t, "rm", "-f", a)
	if _, ok := levels()[id]; ok {
		t.Fatalf("reservation for %s survives rm", id)
	}
}

// The default capability set comes from ROOT/brig.json when it says so.
func TestConfigDefaultCaps(t *testing.T) {
	cfg := filepath.Join(root, "brig.json")
	if err := os.WriteFile(cfg, []byte(`{"default_capabilities": ["CHOWN", "NET_BIND_SERVICE"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(cfg)
	_, pid := runDetached(t)
	if st := procStatus(t, pid); st["CapEff"] != "0000000000000401" {
		t.Errorf("CapEff %s with default_capabilities CHOWN,NET_BIND_SERVICE", st["CapEff"])
	}
}

// A terminal: run -t and exec -t give the process a pty.
func TestTTY(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatal("script(1) from util-linux is needed")
	}
	b := filepath.Join(bin, "brig")
	cmd := exec.Command("script", "-qec", b+" run --rm -t brig-demo sh -c 'tty; stty size'", "/dev/null")
	cmd.Env = append(os.Environ(), "BRIG_ROOT="+root)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/dev/pts/0") {
		t.Errorf("run -t: %v %q", err, out)
	}
	name, _ := runDetached(t)
	cmd = exec.Command("script", "-qec", b+" exec -it "+name+" tty", "/dev/null")
	cmd.Env = append(os.Environ(), "BRIG_ROOT="+root)
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "/dev/pts/") {
		t.Errorf("exec -it: %v %q", err, out)
	}
}

func TestLogsFollow(t *testing.T) {
	name := "follow"
	brig(t, "run", "-d", "--name", name, "brig-demo", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done")
	defer brigCmd("rm", "-f", name).Run()
	out := brig(t, "logs", "-f", name)
	if out != "line1\nline2\nline3\n" {
		t.Errorf("logs -f: %q", out)
	}
}
