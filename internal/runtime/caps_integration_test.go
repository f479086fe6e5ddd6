//go:build integration && linux

package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/caps"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The masks runc produced for the article's cases (shared/fixtures/podman-specs).
func TestCapabilityMasks(t *testing.T) {
	cases := []struct {
		name      string
		add, drop []string
		eff       string
	}{
		{"default", nil, nil, "00000000a80425fb"},
		{"add SYS_TIME", []string{"SYS_TIME"}, nil, "00000000aa0425fb"},
		{"drop SETUID SETGID FOWNER", nil, []string{"SETUID", "SETGID", "FOWNER"}, "00000000a8042533"},
		{"drop ALL add SYS_TIME", []string{"SYS_TIME"}, []string{"ALL"}, "0000000002000000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			list, err := caps.Tweak(caps.DockerDefault, c.add, c.drop)
			must(t, err)
			res := probeResults(t, withCaps(list), "status")
			st := res["status"]
			for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
				if got := statusField(st, k); got != c.eff {
					t.Errorf("%s = %s, want %s", k, got, c.eff)
				}
			}
			// CVE-2022-24769: nothing in the inheritable or ambient sets.
			if got := statusField(st, "CapInh"); got != "0000000000000000" {
				t.Errorf("CapInh = %s, want empty", got)
			}
			if got := statusField(st, "CapAmb"); got != "0000000000000000" {
				t.Errorf("CapAmb = %s, want empty", got)
			}
		})
	}
}

// capOps are the capabilities whose guarded operation the probe can
// exercise on this host. The rest are listed in untestable with the reason.
var capOps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_NET_RAW", "CAP_NET_ADMIN", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_SETFCAP",
	"CAP_SYS_TIME", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_IPC_LOCK",
	"CAP_SYS_PACCT", "CAP_LEASE", "CAP_AUDIT_WRITE",
}

// untestable documents why the remaining capabilities are not exercised.
var untestable = map[string]string{
	"CAP_SYS_RESOURCE":       "not in this host's bounding set",
	"CAP_SYS_MODULE":         "this kernel has no module support: finit_module is ENOSYS before any capability check",
	"CAP_LINUX_IMMUTABLE":    "the test rootfs filesystem has no immutable flag support guaranteed",
	"CAP_NET_BROADCAST":      "unused by the kernel",
	"CAP_IPC_OWNER":          "needs a second uid's SysV segment; covered by DAC checks in spirit only",
	"CAP_SYS_RAWIO":          "iopl is refused by the PVM guest kernel regardless",
	"CAP_SYS_PTRACE":         "needs a foreign-uid tracee; not exercised",
	"CAP_SYS_TTY_CONFIG":     "vhangup on the test's stdio would disturb the test",
	"CAP_AUDIT_CONTROL":      "would change the host's audit configuration",
	"CAP_AUDIT_READ":         "needs the audit multicast group",
	"CAP_MAC_OVERRIDE":       "no LSM enforcing here",
	"CAP_MAC_ADMIN":          "no LSM enforcing here",
	"CAP_SYSLOG":             "depends on dmesg_restrict",
	"CAP_WAKE_ALARM":         "needs an RTC alarm clock",
	"CAP_BLOCK_SUSPEND":      "EPOLLWAKEUP is silently ignored without it",
	"CAP_PERFMON":            "depends on perf_event_paranoid",
	"CAP_BPF":                "depends on unprivileged_bpf_disabled",
	"CAP_CHECKPOINT_RESTORE": "SYS_ADMIN also grants it",
}

// Each capability both ways: with every other capability but this one the
// operation is denied; with only this one it is allowed.
func TestEachCapabilityBothWays(t *testing.T) {
	all := hostCaps(t)
	for _, name := range caps.All() {
		if _, ok := untestable[name]; ok {
			continue
		}
		found := false
		for _, c := range capOps {
			found = found || c == name
		}
		if !found && strings.Contains(strings.Join(all, " "), name) {
			t.Errorf("%s has neither a probe nor a reason in untestable", name)
		}
	}
	for _, name := range capOps {
		name := name
		t.Run(name, func(t *testing.T) {
			var without []string
			for _, c := range all {
				if c != name {
					without = append(without, c)
				}
			}
			// DAC_OVERRIDE also covers DAC_READ_SEARCH's directory search.
			if name == "CAP_DAC_READ_SEARCH" {
				without = remove(without, "CAP_DAC_OVERRIDE")
			}
			check := name
			mut := func(list []string) func(*specs.Spec) {
				return func(s *specs.Spec) {
					withCaps(list)(s)
					if name == "CAP_KILL" {
						// A uid-1000 sleeper started by a shell before the
						// probe; the shell records its pid.
						s.Process.Args = []string{"sh", "-c", "busybox su -s /bin/sh user -c 'exec sleep 30' & echo $! > /probe-data/victim.pid; until grep -q '^Uid:.*1000' /proc/$!/status; do sleep 0.01; done; exec /probe CAP_KILL"}
					}
					if name == "CAP_SYS_NICE" {
						s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NICE", Soft: 0, Hard: 0}}
					}
				}
			}
			denied := probeResults(t, mut(without), check)[check]
			if denied != "EPERM" && denied != "EACCES" {
				t.Errorf("without %s: %s, want EPERM or EACCES", name, denied)
			}
			with := []string{name}
			switch name {
			case "CAP_KILL":
				with = append(with, "CAP_SETUID", "CAP_SETGID") // su needs them
			case "CAP_FSETID":
				with = append(with, "CAP_FOWNER") // chmod of another uid's file
			}
			allowed := probeResults(t, mut(with), check)[check]
			if allowed != "ok" {
				t.Errorf("with only %s: %s, want ok", name, allowed)
			}
		})
	}
}

func remove(list []string, x string) []string {
	var out []string
	for _, v := range list {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// CVE-2022-29162: exec --cap must not put anything in the inheritable set.
func TestExecCapsInheritableEmpty(t *testing.T) {
	rt := newRuntime(t)
	b := newBundle(t, []string{"sleep", "30"}, nil)
	st, err := rt.Create("e", CreateOpts{Bundle: b})
	must(t, err)
	defer rt.Delete("e", true)
	must(t, rt.Start("e"))
	p, err := rt.BaseProcess("e")
	must(t, err)
	p.Args = []string{"/probe", "status"}
	p.Capabilities.Bounding = append(p.Capabilities.Bounding, "CAP_SYS_TIME")
	p.Capabilities.Effective = append(p.Capabilities.Effective, "CAP_SYS_TIME")
	p.Capabilities.Permitted = append(p.Capabilities.Permitted, "CAP_SYS_TIME")
	out, _ := os.CreateTemp(t.TempDir(), "o")
	code, err := rt.Exec("e", ExecOpts{Process: p, Stdout: out})
	if err != nil || code != 0 {
		t.Fatalf("exec: %d %v", code, err)
	}
	data, _ := os.ReadFile(out.Name())
	if !strings.Contains(string(data), `CapInh:\t0000000000000000`) || !strings.Contains(string(data), `CapEff:\t00000000aa0425fb`) {
		t.Fatalf("exec'd process status: %s", data)
	}
	// The exec'd process joined the container's namespaces.
	for _, ns := range []string{"pid", "mnt", "net", "ipc", "uts"} {
		a, _ := os.Readlink("/proc/" + strconv.Itoa(st.Pid) + "/ns/" + ns)
		h, _ := os.Readlink("/proc/self/ns/" + ns)
		if a == h {
			t.Errorf("container %s namespace is the host's", ns)
		}
	}
	_ = exec.Command("true").Run()
	_ = filepath.Join
}
