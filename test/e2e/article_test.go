//go:build integration && linux

package e2e

import (
	"os"
	"strings"
	"testing"
)

// The article's commands, replayed; the kernel's view of the container's
// init is checked against what runc gives for the same flags
// (shared/fixtures/podman-specs).
func TestArticleCapabilities(t *testing.T) {
	cases := []struct {
		name string
		args []string
		eff  string
	}{
		{"default", nil, "00000000a80425fb"},
		{"cap-add SYS_TIME", []string{"--cap-add", "SYS_TIME"}, "00000000aa0425fb"},
		{"cap-drop SETUID SETGID FOWNER", []string{"--cap-drop", "SETUID", "--cap-drop", "SETGID", "--cap-drop", "FOWNER"}, "00000000a8042533"},
		{"cap-drop ALL cap-add SYS_TIME", []string{"--cap-drop", "ALL", "--cap-add", "SYS_TIME"}, "0000000002000000"},
		{"spellings", []string{"--cap-drop", "all", "--cap-add", "cap_sys_time"}, "0000000002000000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, pid := runDetached(t, c.args...)
			st := procStatus(t, pid)
			for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
				if st[k] != c.eff {
					t.Errorf("%s = %s, want %s", k, st[k], c.eff)
				}
			}
			if st["CapInh"] != "0000000000000000" || st["CapAmb"] != "0000000000000000" {
				t.Errorf("inheritable %s ambient %s, want empty", st["CapInh"], st["CapAmb"])
			}
			if st["Seccomp"] != "2" || st["NoNewPrivs"] != "0" {
				t.Errorf("Seccomp %s NoNewPrivs %s, want 2 and 0", st["Seccomp"], st["NoNewPrivs"])
			}
		})
	}
}

func TestArticlePrivileged(t *testing.T) {
	name, pid := runDetached(t, "--privileged")
	st := procStatus(t, pid)
	self := procStatus(t, os.Getpid())
	if st["CapEff"] != self["CapBnd"] || st["CapBnd"] != self["CapBnd"] {
		t.Errorf("privileged CapEff %s CapBnd %s, want the host's bounding set %s", st["CapEff"], st["CapBnd"], self["CapBnd"])
	}
	if st["Seccomp"] != "0" {
		t.Errorf("privileged Seccomp = %s, want 0", st["Seccomp"])
	}
	in := inspect(t, name)
	if !in.Security.Privileged || in.Security.Seccomp.Mode != "disabled" {
		t.Errorf("inspect security: %+v", in.Security)
	}
	// Every host device is there, and nothing is masked.
	out := brig(t, "exec", name, "sh", "-c", "ls /dev | wc -l; cat /proc/timer_list | head -1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || lines[1] == "" {
		t.Errorf("privileged container sees a masked /proc/timer_list: %q", out)
	}
}

func TestArticleHostNamespaces(t *testing.T) {
	name, pid := runDetached(t, "--pid=host", "--net=host", "--ipc=host")
	for _, ns := range []string{"pid", "net", "ipc"} {
		if nsLink(t, pid, ns) != nsLink(t, "self", ns) {
			t.Errorf("%s namespace is not the host's", ns)
		}
	}
	for _, ns := range []string{"mnt", "uts"} {
		if nsLink(t, pid, ns) == nsLink(t, "self", ns) {
			t.Errorf("%s namespace is the host's, want private", ns)
		}
	}
	in := inspect(t, name)
	if in.Security.Namespaces["pid"] != "host" || in.Security.Namespaces["network"] != "host" || in.Security.Namespaces["ipc"] != "host" {
		t.Errorf("inspect namespaces: %v", in.Security.Namespaces)
	}
	// Sharing pid/ipc with the host turns label separation off.
	if !strings.HasPrefix(in.Security.SELinux.State, "disabled") {
		t.Errorf("label state %q, want disabled", in.Security.SELinux.State)
	}
	if st := procStatus(t, pid); st["CapEff"] != "00000000a80425fb" {
		t.Errorf("CapEff %s", st["CapEff"])
	}
}

func TestArticleTopSecret(t *testing.T) {
	for _, opt := range []string{"label:level:TopSecret", "label=level:TopSecret"} {
		t.Run(opt, func(t *testing.T) {
			name, _ := runDetached(t, "--security-opt", opt)
			in := inspect(t, name)
			if !strings.HasSuffix(in.Security.SELinux.ProcessLabel, ":s15") {
				t.Errorf("process label %q, want level s15 (TopSecret via setrans.conf)", in.Security.SELinux.ProcessLabel)
			}
			if len(in.Warnings) != 1 || !strings.Contains(in.Warnings[0], "SELinux") {
				t.Errorf("want one warning about SELinux being off, got %q", in.Warnings)
			}
		})
	}
	stderr, _ := brigFail(t, "run", "--rm", "--security-opt", "label:level:Bogus", "brig-demo", "true")
	if !strings.Contains(stderr, "Bogus") {
		t.Errorf("unknown level error %q does not name it", stderr)
	}
}

func TestSecurityOptions(t *testing.T) {
	_, pid := runDetached(t, "--security-opt", "no-new-privileges")
	if st := procStatus(t, pid); st["NoNewPrivs"] != "1" {
		t.Errorf("no-new-privileges: NoNewPrivs %s", st["NoNewPrivs"])
	}
	_, pid = runDetached(t, "--security-opt", "seccomp=unconfined")
	if st := procStatus(t, pid); st["Seccomp"] != "0" {
		t.Errorf("seccomp=unconfined: Seccomp %s", st["Seccomp"])
	}
	_, pid = runDetached(t, "--user", "1000", "--cap-add", "NET_BIND_SERVICE")
	st := procStatus(t, pid)
	if st["Uid"][:4] != "1000" || st["CapAmb"] != "0000000000000400" || st["CapEff"] != "0000000000000400" {
		t.Errorf("--user 1000 --cap-add NET_BIND_SERVICE: Uid %s CapEff %s CapAmb %s", st["Uid"], st["CapEff"], st["CapAmb"])
	}
	// Seccomp really filters: Docker's default profile refuses unshare of
	// a user namespace without CAP_SYS_ADMIN.
	out, _ := brigCmd("run", "--rm", "brig-demo", "unshare", "-U", "true").CombinedOutput()
	if !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("unshare -U under the default profile: %s", out)
	}
	out = []byte(brig(t, "run", "--rm", "--read-only", "brig-demo", "sh", "-c", "touch /x 2>&1; touch /tmp/x && echo tmp-ok"))
	if !strings.Contains(string(out), "Read-only file system") || !strings.Contains(string(out), "tmp-ok") {
		t.Errorf("--read-only: %s", out)
	}
}
