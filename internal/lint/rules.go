package lint

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/brigrt/brig/internal/caps"
)

// Rule is one check. Doc is the one-line description `brig lint --rules`
// prints; NotFor lists input kinds that cannot express the setting.
type Rule struct {
	ID       string   `json:"id"`
	CIS      string   `json:"cis,omitempty"` // CIS Docker Benchmark v1.6.0 control
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Doc      string   `json:"doc"`
	Fix      string   `json:"fix"`
	NotFor   []string `json:"not_for,omitempty"`

	check func(c *Container, e *env) []hit
}

// hit is one reason a rule fires; sev overrides the rule's severity when set.
type hit struct {
	reason string
	sev    *Severity
}

func sev(s Severity) *Severity { return &s }

// env is what rules may consult besides the container.
type env struct {
	selinux bool
	lookup  func(ref string) (*Container, bool)
}

// dangerous are capabilities outside Docker's default whose holder can
// escape or control the host; each with the reason shown to the user.
var dangerous = map[string]string{
	"CAP_SYS_ADMIN":          "mount, namespaces, BPF, keyctl and dozens of other privileged operations; the usual container escape",
	"CAP_SYS_PTRACE":         "trace and inject code into any process it can see",
	"CAP_SYS_MODULE":         "load kernel modules: full host compromise",
	"CAP_DAC_READ_SEARCH":    "open any file by handle (open_by_handle_at), the 'shocker' escape",
	"CAP_NET_ADMIN":          "reconfigure interfaces, routes and firewall rules of its network namespace",
	"CAP_SYS_RAWIO":          "raw I/O ports and /dev/mem-style device access",
	"CAP_BPF":                "load BPF programs",
	"CAP_PERFMON":            "kernel performance monitoring, a kernel information leak",
	"CAP_SYS_BOOT":           "reboot the host or load a new kernel",
	"CAP_SYS_TIME":           "set the host clock (time is not namespaced)",
	"CAP_MAC_ADMIN":          "change the LSM policy",
	"CAP_MAC_OVERRIDE":       "bypass the LSM policy",
	"CAP_SYSLOG":             "read kernel logs and kernel addresses",
	"CAP_LINUX_IMMUTABLE":    "change immutable and append-only file flags",
	"CAP_SYS_RESOURCE":       "override resource limits and quotas",
	"CAP_AUDIT_CONTROL":      "change the kernel audit rules",
	"CAP_WAKE_ALARM":         "set alarms that wake the host",
	"CAP_BLOCK_SUSPEND":      "keep the host from suspending",
	"CAP_IPC_OWNER":          "bypass System V IPC permission checks",
	"CAP_CHECKPOINT_RESTORE": "checkpoint/restore privileges, including setting pids",
}

// capSeverity adjusts BRIG003's severity for capabilities that are a
// direct host takeover, or only a nuisance.
var capSeverity = map[string]Severity{
	"CAP_SYS_ADMIN": Critical, "CAP_SYS_MODULE": Critical, "CAP_SYS_RAWIO": Critical,
	"CAP_WAKE_ALARM": Low, "CAP_BLOCK_SUSPEND": Low, "CAP_IPC_OWNER": Medium,
	"CAP_LINUX_IMMUTABLE": Medium, "CAP_SYS_RESOURCE": Medium,
}

// sensitive are host paths that must not be mounted (CIS 5.6, 5.32); the
// value is the severity of a read-write mount.
var sensitive = map[string]Severity{
	"/": Critical, "/boot": High, "/dev": High, "/etc": High, "/lib": High, "/proc": High,
	"/sys": High, "/usr": High, "/root": High, "/var/lib/docker": Critical,
	"/var/lib/containers": Critical, "/var/lib/kubelet": High, "/var/lib/brig": Critical,
}

// sockets are container engine API sockets: mounting one, even read-only,
// hands over the host (CIS 5.32).
var sockets = []string{
	"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
	"/var/run/containerd/containerd.sock", "/run/podman/podman.sock", "/var/run/podman/podman.sock",
	"/run/crio/crio.sock", "/var/run/crio/crio.sock", "/run/brig/brig.sock",
}

// harmless are host paths engines themselves bind in (the host's shm
// with --ipc=host, name resolution files); the namespace rules cover them.
var harmless = map[string]bool{
	"/dev/shm": true, "/etc/resolv.conf": true, "/etc/hosts": true, "/etc/hostname": true,
	"/etc/localtime": true, "/etc/timezone": true, "/dev/null": true,
}

// Rules are all checks, in ID order.
var Rules = []*Rule{
	{
		ID: "BRIG001", CIS: "5.5", Severity: Critical, Title: "privileged container",
		Doc: "--privileged gives every capability and turns off seccomp, the LSM label, masked /proc paths and device limits.",
		Fix: "drop --privileged; add only the capabilities and devices the workload needs",
		check: func(c *Container, _ *env) []hit {
			if c.Privileged {
				return []hit{{reason: "runs privileged: all capabilities, all host devices, no seccomp, no SELinux separation"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG002", CIS: "5.4", Severity: Critical, Title: "ALL capabilities added",
		Doc: "--cap-add ALL gives every capability; with Docker's rules it also wins over any --cap-drop.",
		Fix: "replace --cap-add ALL with --cap-drop ALL and --cap-add of the few capabilities needed",
		check: func(c *Container, _ *env) []hit {
			if c.Privileged {
				return nil // implied by BRIG001
			}
			for _, a := range c.Added {
				if caps.IsAll(a) {
					return []hit{{reason: "adds ALL capabilities"}}
				}
			}
			return nil
		},
	},
	{
		ID: "BRIG003", CIS: "5.4", Severity: High, Title: "dangerous capability",
		Doc: "Capabilities such as SYS_ADMIN, SYS_PTRACE, SYS_MODULE, DAC_READ_SEARCH, NET_ADMIN, SYS_RAWIO and BPF let a container reach the host.",
		Fix: "drop the capability; if the workload truly needs it, document why",
		check: func(c *Container, _ *env) []hit {
			if c.Privileged || hasAll(c.Added) {
				return nil // implied by BRIG001 / BRIG002
			}
			var out []hit
			for _, cp := range c.Caps.Caps() {
				if why, ok := dangerous[cp.Name()]; ok {
					h := hit{reason: fmt.Sprintf("keeps %s: %s%s", cp.Name(), why, origin(c, cp))}
					if s, ok := capSeverity[cp.Name()]; ok {
						h.sev = sev(s)
					}
					out = append(out, h)
				}
			}
			return out
		},
	},
	{
		ID: "BRIG004", CIS: "5.4", Severity: Low, Title: "NET_RAW kept",
		Doc: "NET_RAW (in Docker's default set) allows raw and packet sockets: ARP and DNS spoofing of neighbours on the bridge.",
		Fix: "--cap-drop NET_RAW (ping still works where net.ipv4.ping_group_range allows ICMP sockets, which Docker 20.10+ sets)",
		check: func(c *Container, _ *env) []hit {
			if c.Privileged || hasAll(c.Added) {
				return nil
			}
			if c.Caps.Has(capNum("CAP_NET_RAW")) {
				return []hit{{reason: "keeps CAP_NET_RAW" + origin(c, capNum("CAP_NET_RAW"))}}
			}
			return nil
		},
	},
	{
		ID: "BRIG005", CIS: "5.16", Severity: High, Title: "host PID namespace",
		Doc: "--pid=host shows every host process to the container and lets it signal or trace them.",
		Fix: "remove --pid=host (Kubernetes: hostPID: false)",
		check: func(c *Container, _ *env) []hit {
			if c.HostPID {
				return []hit{{reason: "shares the host's PID namespace"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG006", CIS: "5.17", Severity: Medium, Title: "host IPC namespace",
		Doc: "--ipc=host shares System V IPC and /dev/shm with every host process.",
		Fix: "remove --ipc=host (Kubernetes: hostIPC: false)",
		check: func(c *Container, _ *env) []hit {
			if c.HostIPC {
				return []hit{{reason: "shares the host's IPC namespace"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG007", CIS: "5.10", Severity: High, Title: "host network namespace",
		Doc: "--network=host gives the container the host's interfaces, including services bound to localhost.",
		Fix: "use a container network and publish only the needed ports (Kubernetes: hostNetwork: false)",
		check: func(c *Container, _ *env) []hit {
			if c.HostNet {
				return []hit{{reason: "shares the host's network namespace"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG008", CIS: "5.21", Severity: Medium, Title: "host UTS namespace",
		Doc:    "--uts=host lets the container change the host's hostname and domain name.",
		Fix:    "remove --uts=host",
		NotFor: []string{KindKubernetes},
		check: func(c *Container, _ *env) []hit {
			if c.HostUTS {
				return []hit{{reason: "shares the host's UTS namespace"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG009", CIS: "5.3", Severity: High, Title: "SELinux label disabled",
		Doc: "label=disable (or the spc_t type) removes SELinux separation between the container and the host.",
		Fix: "remove label=disable / spc_t; use a custom type (label=type:X) if the default is too tight",
		check: func(c *Container, e *env) []hit {
			if c.Privileged {
				return nil
			}
			switch {
			case c.LabelDisabled:
				return []hit{{reason: "SELinux separation is disabled"}}
			case c.NoLabel && e.selinux:
				return []hit{{reason: "no SELinux process label on an SELinux host: the container runs in the runtime's own domain"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG010", CIS: "5.3", Severity: Medium, Title: "SELinux label on a host without SELinux",
		Doc: "A label option is silently ignored when SELinux is disabled, so the isolation it promises does not exist.",
		Fix: "enable SELinux on the host, or drop the label option and rely on other isolation",
		check: func(c *Container, e *env) []hit {
			if e.selinux || len(c.Labels) == 0 {
				return nil
			}
			return []hit{{reason: fmt.Sprintf("asks for SELinux label %s but SELinux is not enabled on this host", strings.Join(c.Labels, ", "))}}
		},
	},
	{
		ID: "BRIG011", CIS: "5.22", Severity: High, Title: "seccomp unconfined",
		Doc: "Without a seccomp filter every system call reaches the kernel, including the rarely used ones most exploits need.",
		Fix: "remove seccomp=unconfined; use the default profile or a recorded one (Kubernetes: seccompProfile.type: RuntimeDefault)",
		check: func(c *Container, _ *env) []hit {
			if c.Privileged {
				return nil
			}
			if c.SeccompUnconfined {
				if c.SeccompWhy != "" {
					return []hit{{reason: "runs without a seccomp filter: " + c.SeccompWhy}}
				}
				return []hit{{reason: "runs without a seccomp filter"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG012", CIS: "5.26", Severity: Medium, Title: "no-new-privileges missing",
		Doc: "Without no-new-privileges a setuid or file-capability binary in the image can raise privileges inside the container.",
		Fix: "--security-opt no-new-privileges (Kubernetes: allowPrivilegeEscalation: false)",
		check: func(c *Container, _ *env) []hit {
			if !c.NoNewPrivs {
				return []hit{{reason: "processes may gain privileges through setuid or file capabilities"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG013", CIS: "5.13", Severity: Low, Title: "writable root filesystem",
		Doc: "A writable root lets an intruder change binaries and configuration inside the container.",
		Fix: "--read-only, with tmpfs or volumes for the paths that must be written (Kubernetes: readOnlyRootFilesystem: true)",
		check: func(c *Container, _ *env) []hit {
			if !c.ReadOnlyRoot {
				return []hit{{reason: "the root filesystem is writable"}}
			}
			return nil
		},
	},
	{
		ID: "BRIG014", CIS: "4.1", Severity: Medium, Title: "runs as root",
		Doc: "A process running as uid 0 keeps root's file access and is one kernel bug away from root on the host.",
		Fix: "--user with a non-root uid (Kubernetes: runAsNonRoot: true and runAsUser)",
		check: func(c *Container, _ *env) []hit {
			if !c.Root {
				return nil
			}
			if c.User == "" {
				return []hit{{reason: "no user is set, so it runs as the image's user, which is root unless the image says otherwise"}}
			}
			return []hit{{reason: fmt.Sprintf("runs as root (user %q)", c.User)}}
		},
	},
	{
		ID: "BRIG015", CIS: "5.6", Severity: High, Title: "sensitive host path mounted",
		Doc: "Mounting /, /etc, /proc, /sys, /dev, /boot, /usr, engine state or an engine socket (CIS 5.32) gives the container control over the host.",
		Fix: "mount only the application's own data directories, read-only where possible",
		check: func(c *Container, _ *env) []hit {
			var out []hit
			for _, m := range c.Mounts {
				if h, ok := sensitiveMount(m); ok {
					out = append(out, h)
				}
			}
			return out
		},
	},
	{
		ID: "BRIG016", Severity: High, Title: "namespace shared with a privileged container",
		Doc:    "Joining the PID, network or IPC namespace of a privileged container (container:NAME) reaches its processes and devices.",
		Fix:    "do not join a privileged container's namespaces; use a shared network instead",
		NotFor: []string{KindKubernetes},
		check: func(c *Container, e *env) []hit {
			var out []hit
			for _, ns := range sortedKeys(c.Joins) {
				ref := c.Joins[ns]
				if e.lookup == nil {
					continue
				}
				if other, ok := e.lookup(ref); ok && other.Privileged {
					out = append(out, hit{reason: fmt.Sprintf("joins the %s namespace of privileged container %s", ns, displayName(other, ref))})
				}
			}
			return out
		},
	},
	{
		ID: "BRIG017", CIS: "5.18", Severity: Medium, Title: "host device exposed",
		Doc:    "--device passes a host device node into the container; block and memory devices give raw access to host data.",
		Fix:    "remove --device, or pass only the specific device the workload needs, read-only if possible",
		NotFor: []string{KindKubernetes},
		check: func(c *Container, _ *env) []hit {
			if c.Privileged {
				return nil
			}
			var out []hit
			for _, d := range c.Devices {
				out = append(out, hit{reason: "exposes host device " + d})
			}
			return out
		},
	},
}

// RuleByID finds a rule.
func RuleByID(id string) (*Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}

func hasAll(added []string) bool {
	for _, a := range added {
		if caps.IsAll(a) {
			return true
		}
	}
	return false
}

func capNum(name string) caps.Cap {
	c, err := caps.Parse(name)
	if err != nil {
		panic(err) // constant names; covered by tests
	}
	return c
}

// origin says whether a capability was asked for or came with the defaults.
func origin(c *Container, cp caps.Cap) string {
	for _, a := range c.Added {
		if a == cp.Name() {
			return " (added explicitly)"
		}
	}
	return ""
}

func sensitiveMount(m Mount) (hit, bool) {
	src := path.Clean(m.Source)
	if !strings.HasPrefix(src, "/") {
		return hit{}, false // a named volume
	}
	for _, s := range sockets {
		if src == s {
			return hit{reason: fmt.Sprintf("mounts the container engine socket %s (CIS 5.32): full control of the host", src), sev: sev(Critical)}, true
		}
	}
	if harmless[src] {
		return hit{}, false
	}
	for dir, rw := range sensitive {
		if src == dir || (dir != "/" && strings.HasPrefix(src, dir+"/")) {
			s := rw
			mode := "read-write"
			if m.ReadOnly {
				mode = "read-only"
				if s > Medium {
					s--
				}
			}
			return hit{reason: fmt.Sprintf("mounts host path %s %s at %s", src, mode, m.Target), sev: sev(s)}, true
		}
	}
	return hit{}, false
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func displayName(c *Container, ref string) string {
	if c.Name != "" {
		return c.Name
	}
	return ref
}
