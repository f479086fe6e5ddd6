//go:build integration && linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The article's "you can check in any time you like, but you can never
// leave", with Landlock: the container may bind its port, nothing else,
// and may not connect out; MPTCP, which Landlock's TCP rules miss, is
// refused by the seccomp rule that comes with them.
func TestLandlockNetwork(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "mptcp"), "./testdata/mptcp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build mptcp: %v %s", err, out)
	}
	script := `nc -l -p 8080 & sleep 0.2; kill $! && echo bind8080=ok;
nc -l -p 8081 2>&1 | head -1; echo | nc 127.0.0.1 8080 2>&1 | head -1; /t/mptcp`
	out := brig(t, "run", "--rm", "-v", dir+":/t:ro", "--security-opt", "landlock=bind:8080,connect:none", "brig-demo", "sh", "-c", script)
	for _, want := range []string{"bind8080=ok", "bind: Permission denied", "can't connect to remote host (127.0.0.1): Permission denied", "EACCES"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Without Landlock the same MPTCP socket opens (the kernel has MPTCP),
	// so the EACCES above is the rule's doing.
	if out := brig(t, "run", "--rm", "-v", dir+":/t:ro", "brig-demo", "/t/mptcp"); strings.TrimSpace(out) != "ok" {
		t.Logf("MPTCP without landlock: %s (kernel without MPTCP?)", out)
	}
	// Filesystem rules: read-only /etc, writable /tmp, nothing else.
	out = brig(t, "run", "--rm", "--security-opt", "landlock=ro:/bin,ro:/lib,ro:/etc,rw:/tmp,rw:/dev", "brig-demo",
		"sh", "-c", "cat /etc/passwd >/dev/null && echo read-ok; echo x > /tmp/x && echo tmp-ok; echo x > /etc/x 2>&1 | head -1; ls /root 2>&1 | head -1")
	for _, want := range []string{"read-ok", "tmp-ok", "Permission denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("fs rules: output lacks %q:\n%s", want, out)
		}
	}
}
