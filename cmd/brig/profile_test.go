package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runBrig(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	defer root.SetArgs(nil)
	err := root.Execute()
	return out.String(), err
}

func TestProfileCommands(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, "b.json")
	os.WriteFile(a, []byte(`{"version":1,"arch":"x86_64","capabilities":[{"name":"CAP_CHOWN","granted":1,"denied":0}],
"syscalls":["chown"],"network":{"bind":[{"proto":"tcp","port":80}],"connect":[]},"files":{"written":[]}}`), 0o644)
	os.WriteFile(b, []byte(`{"version":1,"arch":"x86_64","capabilities":[{"name":"CAP_KILL","granted":2,"denied":0}],
"syscalls":["kill"],"network":{"bind":[],"connect":[]},"files":{"written":["/data/x"]}}`), 0o644)

	out, err := runBrig(t, "profile", "show", a)
	if err != nil || !strings.Contains(out, "capabilities used: CHOWN") || !strings.Contains(out, "bind: tcp/*:80") {
		t.Errorf("show: %v\n%s", err, out)
	}
	m := filepath.Join(dir, "m.json")
	if out, err := runBrig(t, "profile", "merge", "-o", m, a, b); err != nil {
		t.Fatalf("merge: %v\n%s", err, out)
	}
	out, err = runBrig(t, "profile", "diff", "--exit-code", a, m)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "+ CAP_KILL") || !strings.Contains(out, "+ /data/x") {
		t.Errorf("diff: %v\n%s", err, out)
	}
	out, err = runBrig(t, "profile", "export", m, "--format", "flags")
	if err != nil || strings.TrimSpace(out) != "--cap-drop ALL --cap-add CHOWN --cap-add KILL --security-opt landlock=bind:80,connect:none,ro:/,rw:/data" {
		t.Errorf("export flags: %v\n%s", err, out)
	}
	exp := filepath.Join(dir, "exp")
	if out, err := runBrig(t, "profile", "export", m, "--format", "all", "-o", exp, "--name", "web"); err != nil {
		t.Fatalf("export all: %v\n%s", err, out)
	}
	for _, f := range []string{"web.json", "web.flags", "web.landlock", "web.k8s.yaml", "web.te"} {
		if _, err := os.Stat(filepath.Join(exp, f)); err != nil {
			t.Errorf("export all: %v", err)
		}
	}
	if _, err := runBrig(t, "profile", "export", m, "--format", "nope"); err == nil {
		t.Error("unknown format accepted")
	}
	os.WriteFile(a, []byte("{\n \"version\": 1,\n \"arch\": 5}"), 0o644)
	if _, err := runBrig(t, "profile", "show", a); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad profile: %v", err)
	}
}
