//go:build integration && linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/brigrt/brig/internal/testnet"
)

type recProfile struct {
	Capabilities []struct {
		Name    string
		Granted uint64
		Denied  uint64
	}
	Syscalls []string
	Network  struct {
		Bind, Connect []struct {
			Proto string
			Addr  string
			Port  uint16
		}
	}
}

func loadProfile(t *testing.T, path string) recProfile {
	t.Helper()
	var p recProfile
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p recProfile) has(capName string) bool {
	for _, c := range p.Capabilities {
		if c.Name == capName && c.Granted > 0 {
			return true
		}
	}
	return false
}

func (p recProfile) binds(port uint16) bool {
	for _, b := range p.Network.Bind {
		if b.Port == port {
			return true
		}
	}
	return false
}

// Record a container, then run it with exactly what it used.
func TestRecordThenEnforce(t *testing.T) {
	// A listener on the host, reached through --net=host.
	port := strconv.Itoa(testnet.Listen(t))
	dir := t.TempDir()
	prof := filepath.Join(dir, "web.json")
	work := "chmod 1777 /tmp; chown 1 /tmp; (nc -l -p 8080 >/dev/null &); sleep 0.2; echo | nc 127.0.0.1 " + port + "; pkill nc; true"
	brig(t, "run", "--rm", "--net=host", "--record", prof, "brig-demo", "sh", "-c", work)
	p := loadProfile(t, prof)
	if !p.has("CAP_CHOWN") {
		t.Errorf("profile lacks CAP_CHOWN: %+v", p.Capabilities)
	}
	for _, c := range []string{"CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"} {
		if p.has(c) {
			t.Errorf("profile lists unused %s", c)
		}
	}
	if !p.binds(8080) {
		t.Errorf("profile lacks the bound port 8080: %+v", p.Network.Bind)
	}
	connected := false
	for _, c := range p.Network.Connect {
		connected = connected || strconv.Itoa(int(c.Port)) == port
	}
	if !connected {
		t.Errorf("profile lacks the connection to %s: %+v", port, p.Network.Connect)
	}
	// The runtime's own syscalls (mount, pivot_root) are not the container's.
	for _, s := range p.Syscalls {
		if s == "mount" || s == "pivot_root" || s == "sethostname" {
			t.Errorf("profile includes the runtime's syscall %s", s)
		}
	}

	// Enforced: the same work passes; everything else is refused.
	out := brig(t, "run", "--rm", "--net=host", "--profile", prof, "brig-demo", "sh", "-c", work+"; echo done")
	if !strings.Contains(out, "done") {
		t.Fatalf("the recorded work fails under its own profile: %q", out)
	}
	// chmod of a directory another uid owns needs CAP_FOWNER, which the
	// recording never used (fchmodat itself is in the profile).
	check := "(nc -l -p 8081 2>&1 | head -1); (echo | nc 127.0.0.1 1 2>&1 | head -1); chown 1 /tmp; (chmod 700 /tmp 2>&1 | head -1); (unshare -U true 2>&1 | head -1)"
	out = brig(t, "run", "--rm", "--net=host", "--profile", prof, "brig-demo", "sh", "-c", check)
	for _, want := range []string{
		"bind: Permission denied",      // another port: Landlock, EACCES
		"can't connect to remote host", // another destination: Landlock
		"Function not implemented",     // unshare is outside the profile: ENOSYS
	} {
		if !strings.Contains(out, want) {
			t.Errorf("enforced run lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "Operation not permitted") {
		t.Errorf("dropped capability not EPERM:\n%s", out)
	}
}

// Two recordings running at once keep their events apart; merged, they
// give the union.
func TestConcurrentRecordingsAndMerge(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for _, r := range []struct{ path, work string }{
		{a, "chown 1 /tmp; nc -l -p 9001 & sleep 0.5; kill $!; true"},
		{b, "mknod /tmp/n c 1 3; nc -l -p 9002 & sleep 0.5; kill $!; true"},
	} {
		wg.Add(1)
		go func(path, work string) {
			defer wg.Done()
			if out, err := brigCmd("run", "--rm", "--record", path, "brig-demo", "sh", "-c", work).CombinedOutput(); err != nil {
				errs <- string(out)
			}
		}(r.path, r.work)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	pa, pb := loadProfile(t, a), loadProfile(t, b)
	if !pa.has("CAP_CHOWN") || pa.has("CAP_MKNOD") || !pa.binds(9001) || pa.binds(9002) {
		t.Errorf("recording a mixed events: %+v %+v", pa.Capabilities, pa.Network.Bind)
	}
	if !pb.has("CAP_MKNOD") || pb.has("CAP_CHOWN") || !pb.binds(9002) || pb.binds(9001) {
		t.Errorf("recording b mixed events: %+v %+v", pb.Capabilities, pb.Network.Bind)
	}
	m := filepath.Join(dir, "m.json")
	brig(t, "profile", "merge", "-o", m, a, b)
	pm := loadProfile(t, m)
	if !pm.has("CAP_CHOWN") || !pm.has("CAP_MKNOD") || !pm.binds(9001) || !pm.binds(9002) {
		t.Errorf("merge is not the union: %+v %+v", pm.Capabilities, pm.Network.Bind)
	}
}
