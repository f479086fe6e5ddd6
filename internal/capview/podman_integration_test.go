//go:build integration

package capview

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLivePodmanContainer runs a real podman container (private storage,
// cgroupfs, runc; see /work/shared/notes/real-clients.md) with
// --cap-add SYS_TIME --cap-drop SETUID and checks that "caps CONTAINER"
// finds it by id prefix through its libpod cgroup and decodes what the
// kernel gave it.
func TestLivePodmanContainer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("podman as root needed")
	}
	for _, bin := range []string{"podman", "runc", "busybox"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s missing: %v", bin, err)
		}
	}
	w := t.TempDir()
	rootfs := filepath.Join(w, "rootfs")
	for _, d := range []string{"bin", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, _ := exec.LookPath("busybox")
	if out, err := exec.Command("cp", bb, filepath.Join(rootfs, "bin", "busybox")).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	os.Symlink("busybox", filepath.Join(rootfs, "bin", "sleep"))
	os.WriteFile(filepath.Join(rootfs, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	tar := filepath.Join(w, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "-cf", tar, ".").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	podman := func(args ...string) string {
		t.Helper()
		base := []string{"--root", w + "/root", "--runroot", w + "/run", "--cgroup-manager", "cgroupfs",
			"--events-backend", "file", "--storage-driver", "vfs", "--runtime", "runc"}
		out, err := exec.Command("podman", append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("podman %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	podman("import", tar, "localhost/capsbb")
	id := podman("run", "-d", "--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768",
		"--cap-add", "SYS_TIME", "--cap-drop", "SETUID", "localhost/capsbb", "sleep", "60")
	id = id[strings.LastIndex(id, "\n")+1:]
	t.Cleanup(func() {
		exec.Command("podman", "--root", w+"/root", "--runroot", w+"/run", "--cgroup-manager", "cgroupfs",
			"--events-backend", "file", "--storage-driver", "vfs", "rm", "-f", "-t", "0", id).Run()
	})

	v := &Viewer{}
	var out bytes.Buffer
	// podman run -d returns once runc's start has released the init,
	// which may not have exec'd sleep yet (its command is then
	// "runc:[2:INIT]"): wait for the exec, up to ten seconds.
	for deadline := time.Now().Add(10 * time.Second); ; {
		out.Reset()
		if err := v.Container(&out, id[:12], ContainerOptions{Diff: true}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "command sleep") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s := out.String()
	if !strings.Contains(s, "container "+id+" (podman)") || !strings.Contains(s, "command sleep") ||
		!strings.Contains(s, "+sys_time") || !strings.Contains(s, "-setuid") || !strings.Contains(s, "seccomp filter") {
		t.Fatalf("caps %s:\n%s", id[:12], s)
	}
	out.Reset()
	if err := v.List(&out, false, FormatTable); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), id[:12]) {
		t.Fatalf("listing lacks %s:\n%s", id[:12], out.String())
	}
}
