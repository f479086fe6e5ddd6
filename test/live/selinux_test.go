//go:build live

package live

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// bundle writes an OCI bundle whose rootfs is a static busybox.
func bundle(t *testing.T, s *specs.Spec) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sh", "sleep", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	// Engines label the rootfs for the container (podman and Docker
	// relabel it or mount it with context=); s0 is readable at any MCS pair.
	err = filepath.Walk(rootfs, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return unix.Lsetxattr(p, "security.selinux", []byte("system_u:object_r:container_file_t:s0"), 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runtimeSpec is brig-runtime's default spec (`brig-runtime spec`) with
// the given process label, mount label and cgroupsPath.
func runtimeSpec(t *testing.T, procLabel, mountLabel, cgroupsPath string) *specs.Spec {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("brig-runtime", "spec", "--bundle", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("brig-runtime spec: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	s.Process.Terminal = false
	s.Process.Args = []string{"sleep", "600"}
	s.Process.SelinuxLabel = procLabel
	s.Linux.MountLabel = mountLabel
	s.Linux.CgroupsPath = cgroupsPath
	return &s
}

// runtimeCreate runs brig-runtime create and start; the container is
// deleted at the end of the test.
func runtimeCreate(t *testing.T, id string, s *specs.Spec) (pid int, err error) {
	pid, _, err = runtimeCreateRT(t, id, s)
	return pid, err
}

// runtimeCreateRT also returns a function running brig-runtime with the
// same --root.
func runtimeCreateRT(t *testing.T, id string, s *specs.Spec) (pid int, rt func(...string) ([]byte, error), err error) {
	t.Helper()
	root := t.TempDir()
	dir := bundle(t, s)
	logf := filepath.Join(root, "out.log")
	rt = func(args ...string) ([]byte, error) {
		// A file, not a pipe, for the output: the container keeps the
		// stdio create gives it, and a pipe would never reach EOF.
		out, err := os.Create(logf)
		if err != nil {
			return nil, err
		}
		defer out.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "brig-runtime", append([]string{"--root", root}, args...)...)
		cmd.Stdout, cmd.Stderr = out, out
		err = cmd.Run()
		b, _ := os.ReadFile(logf)
		return b, err
	}
	if out, err := rt("create", "--bundle", dir, id); err != nil {
		return 0, nil, fmt.Errorf("create: %v: %s", err, out)
	}
	t.Cleanup(func() { rt("delete", "-f", id) })
	if out, err := rt("start", id); err != nil {
		return 0, nil, fmt.Errorf("start: %v: %s", err, out)
	}
	out, err := rt("state", id)
	if err != nil {
		return 0, nil, fmt.Errorf("state: %v: %s", err, out)
	}
	var st specs.State
	if err := json.Unmarshal(out, &st); err != nil {
		return 0, nil, fmt.Errorf("state: %v: %s", err, out)
	}
	return st.Pid, rt, nil
}

// 1. brig-runtime applies selinuxLabel and mountLabel.
func TestRuntimeLabels(t *testing.T) {
	const (
		proc  = "system_u:system_r:container_t:s0:c11,c12"
		mount = "system_u:object_r:container_file_t:s0:c11,c12"
	)
	pid, err := runtimeCreate(t, "labels", runtimeSpec(t, proc, mount, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := procLabel(t, pid); got != proc {
		t.Errorf("process label %q, want %q", got, proc)
	}
	ctx := mountContexts(t, pid)
	types := mountTypes(t, pid)
	for _, mp := range []string{"/dev", "/dev/pts"} {
		if types[mp] == "" {
			t.Errorf("no %s mount in the container", mp)
		}
	}
	// Every tmpfs and devpts (/dev, /dev/pts, /dev/shm, masked paths) is
	// mounted with context=mountLabel.
	for mp, typ := range types {
		// "/" is the bind-mounted bundle rootfs, whatever it lives on.
		if mp != "/" && (typ == "tmpfs" || typ == "devpts") && ctx[mp] != mount {
			t.Errorf("%s (%s) mounted with context %q, want %q", mp, typ, ctx[mp], mount)
		}
	}
	// mqueue: context= where the kernel takes it, else its root is labelled.
	mq := ctx["/dev/mqueue"]
	if mq == "" {
		mq = fileLabel(t, fmt.Sprintf("/proc/%d/root/dev/mqueue", pid))
	}
	if mq != mount {
		t.Errorf("/dev/mqueue labelled %q, want %q", mq, mount)
	}
}

// mountTypes maps mount points of pid's mount namespace to their type.
func mountTypes(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		for i := 6; i < len(f)-1; i++ {
			if f[i] == "-" {
				m[f[4]] = f[i+1]
				break
			}
		}
	}
	return m
}

// 1. A label the policy rejects is a clear error at create.
func TestRuntimeBadLabel(t *testing.T) {
	for _, tc := range []struct{ proc, mount string }{
		{"system_u:system_r:no_such_t:s0:c1,c2", ""},
		{"system_u:system_r:container_t:s0:c1,c2", "system_u:object_r:no_such_file_t:s0"},
	} {
		_, err := runtimeCreate(t, "bad", runtimeSpec(t, tc.proc, tc.mount, ""))
		if err == nil {
			t.Errorf("label %q / %q: created and started, want an error", tc.proc, tc.mount)
			continue
		}
		bad := tc.proc
		if tc.mount != "" {
			bad = tc.mount
		}
		if !strings.HasPrefix(err.Error(), "create:") || !strings.Contains(err.Error(), bad) {
			t.Errorf("label %q / %q: error does not come from create or does not name the label: %v", tc.proc, tc.mount, err)
		}
	}
}

// 2. Each container gets container_t with its own MCS pair, unique
// across concurrently started containers.
func TestRunMCSUnique(t *testing.T) {
	const n = 4
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = brig(t, "run", "-d", image, "sleep", "600")
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		id := ids[i]
		t.Cleanup(func() { brig(t, "rm", "-f", id) })
	}
	seen := map[string]string{}
	for _, id := range ids {
		l := procLabel(t, runningPid(t, id))
		if typeOf(l) != "container_t" {
			t.Errorf("%s runs as %q, want container_t", id, l)
		}
		lv := levelOf(l)
		var a, b int
		if _, err := fmt.Sscanf(lv, "s0:c%d,c%d", &a, &b); err != nil || a == b {
			t.Errorf("%s level %q is not an MCS pair s0:cX,cY", id, lv)
		}
		if other, dup := seen[lv]; dup {
			t.Errorf("containers %s and %s share level %s", other, id, lv)
		}
		seen[lv] = id
	}
}

// 2. A cannot read B's files; a file shared with z is readable by both.
func TestRunMCSSeparation(t *testing.T) {
	base := t.TempDir()
	private, shared := filepath.Join(base, "private"), filepath.Join(base, "shared")
	for _, d := range []string{private, shared} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "f"), []byte("data\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// B owns private (Z relabels it to B's level); both share shared (z).
	idB, pidB := runDetached(t, "-v", private+":/private:Z", "-v", shared+":/shared:z", image, "sleep", "600")
	lvB := levelOf(procLabel(t, pidB))
	if got := fileLabel(t, filepath.Join(private, "f")); got != "system_u:object_r:container_file_t:"+lvB {
		t.Errorf("Z volume file label %q, want container_file_t at B's level %s", got, lvB)
	}
	if got := fileLabel(t, filepath.Join(shared, "f")); got != "system_u:object_r:container_file_t:s0" {
		t.Errorf("z volume file label %q, want system_u:object_r:container_file_t:s0", got)
	}
	if code := exitCode(t, "exec", idB, "sh", "-c", quiet("cat /private/f")); code != 0 {
		t.Errorf("B cannot read its own Z volume: exit %d", code)
	}
	// A mounts B's private directory without relabelling it; a
	// foreground run exits with cat's status.
	idA, pidA := runDetached(t, "-v", private+":/private", "-v", shared+":/shared:z", image, "sleep", "600")
	lvA := levelOf(procLabel(t, pidA))
	if lvA == lvB {
		t.Fatalf("A and B share level %s", lvA)
	}
	if code := exitCode(t, "run", "--rm", "-v", private+":/private", image, "sh", "-c", quiet("cat /private/f")); code == 0 {
		t.Errorf("a container at another level read B's (%s) file", lvB)
	}
	if code := exitCode(t, "exec", idA, "sh", "-c", quiet("cat /private/f")); code == 0 {
		t.Errorf("exec in A (%s) read B's (%s) file", lvA, lvB)
	}
	// Control: the same mount read at B's level works, so the denial
	// above comes from the MCS categories and nothing else.
	if code := exitCode(t, "run", "--rm", "--security-opt", "label=level:"+lvB, "-v", private+":/private", image, "sh", "-c", quiet("cat /private/f")); code != 0 {
		t.Errorf("a container at B's level %s cannot read B's file: exit %d", lvB, code)
	}
	if a := avcs(t, "tcontext=system_u:object_r:container_file_t:"+lvB+" "); len(a) > 0 {
		t.Logf("AVC: %s", a[len(a)-1])
	} else {
		t.Logf("no AVC record for B's files: the policy does not audit these MCS denials")
	}
	for _, id := range []string{idA, idB} {
		if code := exitCode(t, "exec", id, "sh", "-c", quiet("cat /shared/f")); code != 0 {
			t.Errorf("%s cannot read the shared z volume: exit %d", id, code)
		}
	}
}

// 2. label=disable, --privileged, --pid=host: no label separation, as in
// Docker and podman (the process keeps the engine's context; here the
// caller's, unconfined_t); label=type/level and named levels set exactly
// those fields.
func TestRunLabelOptions(t *testing.T) {
	self, err := os.ReadFile("/proc/self/attr/current")
	if err != nil {
		t.Fatal(err)
	}
	selfType := typeOf(strings.TrimRight(string(self), "\x00\n"))
	for _, args := range [][]string{
		{"--security-opt", "label=disable"},
		{"--privileged"},
		{"--pid=host"},
	} {
		_, pid := runDetached(t, append(args, image, "sleep", "600")...)
		if got := typeOf(procLabel(t, pid)); got != selfType {
			t.Errorf("%v: runs as %q, want the engine's own type %s (not confined)", args, procLabel(t, pid), selfType)
		}
	}
	for _, tc := range []struct {
		opt, typ, level string
	}{
		{"label=level:s0:c100,c200", "container_t", "s0:c100,c200"},
		{"label=type:spc_t", "spc_t", ""},
	} {
		_, pid := runDetached(t, "--security-opt", tc.opt, image, "sleep", "600")
		l := procLabel(t, pid)
		if typeOf(l) != tc.typ || (tc.level != "" && levelOf(l) != tc.level) {
			t.Errorf("%s: runs as %q, want type %s level %q", tc.opt, l, tc.typ, tc.level)
		}
		if tc.level == "" {
			var a, b int
			if _, err := fmt.Sscanf(levelOf(l), "s0:c%d,c%d", &a, &b); err != nil {
				t.Errorf("%s: level %q is not an allocated MCS pair", tc.opt, levelOf(l))
			}
		}
	}
}

// 2. A named level is translated through the policy's setrans.conf.
func TestRunNamedLevel(t *testing.T) {
	setrans := "/etc/selinux/default/setrans.conf"
	if _, err := os.Stat(setrans); err != nil {
		t.Fatalf("the VM policy has no %s: %v", setrans, err)
	}
	raw, err := brig(t, "policy", "levels", "--to-raw", "SystemHigh")
	if err != nil {
		t.Fatal(err)
	}
	_, pid := runDetached(t, "--security-opt", "label=level:SystemHigh", image, "sleep", "600")
	if got := levelOf(procLabel(t, pid)); got != raw {
		t.Errorf("label=level:SystemHigh runs at %q, want %q (setrans.conf)", got, raw)
	}
}

// brig exec runs the new process with the container's label.
func TestExecLabel(t *testing.T) {
	id, pid := runDetached(t, image, "sleep", "600")
	want := procLabel(t, pid)
	done := make(chan error, 1)
	go func() {
		_, err := brig(t, "exec", id, "sleep", "20")
		done <- err
	}()
	procs := filepath.Join(cgroupDir(id), "cgroup.procs")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, f := range strings.Fields(readTrim(t, procs)) {
			p, _ := strconv.Atoi(f)
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
			if p == pid || strings.TrimSpace(string(comm)) != "sleep" {
				continue
			}
			if got := procLabel(t, p); got != want {
				t.Fatalf("exec'd process %d runs as %q, want the container's %q", p, got, want)
			}
			return
		}
		select {
		case err := <-done:
			t.Fatalf("exec ended before its process was seen: %v", err)
		default:
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the exec'd process never appeared in the container's cgroup")
}

// quiet sends a command's output to /dev/null, so that its status does
// not depend on whether the container may write to brig's pipes.
func quiet(cmd string) string { return cmd + " >/dev/null 2>&1" }

// Container output reaches the caller and brig logs (the container
// writes to pipes brig made).
func TestRunOutput(t *testing.T) {
	out, err := brig(t, "run", "--rm", image, "echo", "hello-from-container")
	if err != nil || out != "hello-from-container" {
		t.Errorf("brig run output %q (%v), want hello-from-container; AVCs: %v", out, err, lastN(avcs(t, "comm=\"echo\""), 2))
	}
	id := mustBrig(t, "run", "-d", image, "echo", "hello-logs")
	t.Cleanup(func() { brig(t, "rm", "-f", id) })
	if _, err := brig(t, "wait", id); err != nil {
		t.Fatal(err)
	}
	if logs, err := brig(t, "logs", id); err != nil || logs != "hello-logs" {
		t.Errorf("brig logs %q (%v), want hello-logs", logs, err)
	}
}
