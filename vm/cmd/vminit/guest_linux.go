package main

import (
	"bufio"
	"fmt"
	"github.com/brigrt/brig/internal/netlo"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const newRoot = "/newroot"

// initPath is where vm/run.sh puts vminit: the policy labels it
// init_exec_t (Debian's /sbin is /usr/sbin).
const initPath = "/usr/sbin/init"

// The payload's context: unconfined, with every category, as a login
// shell of an administrator gets.
const payloadLabel = "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023"

var start = time.Now()

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "vminit[%.2fs]: %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
}

func guest(stage2 bool) {
	var err error
	code := 0
	if stage2 {
		code, err = stageTwo()
	} else {
		err = stageOne() // execs stage 2 on success
	}
	if err != nil {
		logf("%v", err)
		code = 125
	}
	fmt.Printf("\nVMTEST-EXIT=%d\n", code)
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func mount(src, dst, fstype string, flags uintptr, data string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(src, dst, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, dst, err)
	}
	return nil
}

func stageOne() error {
	if err := mount("proc", "/proc", "proc", 0, ""); err != nil {
		return err
	}
	if err := mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		return err
	}
	if err := loadModules("/lib/modules"); err != nil {
		return err
	}
	if err := mount("selinuxfs", "/sys/fs/selinux", "selinuxfs", 0, ""); err != nil {
		return err
	}
	policy, err := os.ReadFile("/etc/selinux/default/policy/policy.33")
	if err != nil {
		return err
	}
	if err := os.WriteFile("/sys/fs/selinux/load", policy, 0); err != nil {
		return fmt.Errorf("loading the policy: %w", err)
	}
	logf("policy loaded")
	if err := mount("tmpfs", newRoot, "tmpfs", 0, "mode=0755,size=80%"); err != nil {
		return err
	}
	if err := copyTree("/", newRoot); err != nil {
		return err
	}
	logf("root copied")
	for _, l := range []string{"/.labels", "/.labels.payload"} {
		if err := applyLabels(l, newRoot); err != nil {
			return err
		}
	}
	logf("root copied and labelled")
	for _, m := range []string{"/proc", "/sys"} {
		if err := unix.Mount(m, newRoot+m, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move %s: %w", m, err)
		}
	}
	if err := os.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move the new root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return err
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	// Executing the init_exec_t file moves us from kernel_t to init_t.
	return unix.Exec(initPath, []string{initPath, "stage2"}, os.Environ())
}

// loadModules inserts the modules listed, in order, in dir/load.
func loadModules(dir string) error {
	list, err := os.ReadFile(filepath.Join(dir, "load"))
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(list)) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && err != unix.EEXIST {
			return fmt.Errorf("insmod %s: %w", name, err)
		}
	}
	return nil
}

// copyTree copies the initramfs into dst, keeping owners, modes, links
// and device nodes; mount points come over empty.
func copyTree(src, dst string) error {
	skip := map[string]bool{dst: true, "/proc": true, "/sys": true}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == src {
			return nil
		}
		to := filepath.Join(dst, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode := uint32(fi.Mode().Perm())
		if fi.Mode()&fs.ModeSetuid != 0 {
			mode |= unix.S_ISUID
		}
		if fi.Mode()&fs.ModeSetgid != 0 {
			mode |= unix.S_ISGID
		}
		if fi.Mode()&fs.ModeSticky != 0 {
			mode |= unix.S_ISVTX
		}
		switch {
		case fi.IsDir():
			if err := os.Mkdir(to, 0o700); err != nil {
				return err
			}
			if skip[p] {
				return chown(to, st, mode, filepath.SkipDir)
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
			return unix.Lchown(to, int(st.Uid), int(st.Gid))
		case fi.Mode().IsRegular():
			if err := copyFile(p, to); err != nil {
				return err
			}
		default:
			if err := unix.Mknod(to, st.Mode, int(st.Rdev)); err != nil {
				return fmt.Errorf("mknod %s: %w", to, err)
			}
		}
		return chown(to, st, mode, nil)
	})
}

func chown(p string, st *syscall.Stat_t, mode uint32, ret error) error {
	if err := os.Lchown(p, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	if err := unix.Chmod(p, mode); err != nil {
		return err
	}
	return ret
}

var copyBuf = make([]byte, 1<<20)

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// A plain read/write loop: io.Copy's copy_file_range/splice path from
	// the initramfs is many times slower under TCG.
	if _, err := io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{in}, copyBuf); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// applyLabels sets the labels dump-labels listed; a missing list is no
// error (the payload may carry none).
func applyLabels(list, root string) error {
	f, err := os.Open(list)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		path, label, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			return fmt.Errorf("%s:%d: want PATH<TAB>LABEL", list, n)
		}
		p := root
		if path != "." {
			p = filepath.Join(root, path)
		}
		if err := unix.Lsetxattr(p, "security.selinux", []byte(label), 0); err != nil {
			return fmt.Errorf("%s:%d: label %s %s: %w", list, n, p, label, err)
		}
	}
	return sc.Err()
}

func stageTwo() (int, error) {
	mounts := []struct {
		src, dst, fstype string
		flags            uintptr
		data             string
	}{
		{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=620,ptmxmode=666"},
		{"shm", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
		{"mqueue", "/dev/mqueue", "mqueue", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
		{"cgroup2", "/sys/fs/cgroup", "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "nsdelegate"},
	}
	for _, m := range mounts {
		if err := mount(m.src, m.dst, m.fstype, m.flags, m.data); err != nil {
			return 0, err
		}
	}
	ctl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err != nil {
		return 0, err
	}
	var enable []string
	for _, c := range strings.Fields(string(ctl)) {
		enable = append(enable, "+"+c)
	}
	if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte(strings.Join(enable, " ")), 0); err != nil {
		return 0, fmt.Errorf("enabling controllers %v: %w", enable, err)
	}
	// Every AVC must reach the kernel log: without auditd the audit
	// records go through printk, whose rate limit would drop them.
	for k, v := range map[string]string{
		"/proc/sys/kernel/printk_ratelimit":       "0",
		"/proc/sys/kernel/printk_ratelimit_burst": "0",
		"/proc/sys/kernel/hostname":               "brigvm",
	} {
		if err := os.WriteFile(k, []byte(v), 0); err != nil {
			return 0, fmt.Errorf("%s: %w", k, err)
		}
	}
	if err := netlo.Up(); err != nil {
		return 0, err
	}
	label, _ := os.ReadFile("/proc/self/attr/current")
	logf("stage 2 as %s", strings.TrimRight(string(label), "\x00"))

	argv, err := payloadArgv("/payload/cmdline")
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/payload"
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=dumb"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// The exec context is per thread and inherited by the child fork.
	runtime.LockOSThread()
	if err := writeAttr("exec", payloadLabel); err != nil {
		return 0, fmt.Errorf("exec context %s: %w", payloadLabel, err)
	}
	err = cmd.Start()
	_ = writeAttr("exec", "")
	runtime.UnlockOSThread()
	if err != nil {
		return 0, err
	}
	return reap(cmd.Process.Pid), nil
}

func writeAttr(name, val string) error {
	f, err := os.OpenFile("/proc/thread-self/attr/"+name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(val)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func payloadArgv(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var argv []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			argv = append(argv, l)
		}
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return argv, nil
}

// reap waits for every child (PID 1 inherits orphans such as brig's
// monitors) until the payload exits, and returns its status.
func reap(pid int) int {
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			logf("wait: %v", err)
			return 125
		}
		if p != pid {
			continue
		}
		if ws.Signaled() {
			logf("payload killed by %v", ws.Signal())
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}
