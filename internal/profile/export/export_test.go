package export

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/landlock"
	"github.com/brigrt/brig/internal/profile"
)

func sample(t *testing.T) *profile.Profile {
	t.Helper()
	p, err := profile.Parse([]byte(`{
  "version": 1, "arch": "x86_64", "command": ["httpd"],
  "capabilities": [
    {"name": "CAP_NET_BIND_SERVICE", "granted": 1, "denied": 0, "syscalls": ["bind"]},
    {"name": "CAP_CHOWN", "granted": 2, "denied": 0},
    {"name": "CAP_SYS_TIME", "granted": 0, "denied": 3}
  ],
  "syscalls": ["socket", "bind", "read", "syscall_999"],
  "network": {
    "bind": [{"proto": "tcp", "port": 80}, {"proto": "udp", "port": 514}],
    "connect": [{"proto": "tcp", "addr": "10.0.0.1", "port": 5432}, {"proto": "udp", "addr": "10.0.0.2", "port": 53}]
  },
  "files": {"written": ["/var/log/httpd/access.log", "/var/log/httpd/error.log", "/var/log/x"], "tmpfs": ["/tmp"]}
}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlags(t *testing.T) {
	p := sample(t)
	ll := Landlock(p)
	got := ShellQuote(Flags(p, "/etc/brig/app.json", &ll))
	want := "--cap-drop ALL --cap-add CHOWN --cap-add NET_BIND_SERVICE --security-opt seccomp=/etc/brig/app.json " +
		"--security-opt landlock=bind:80,connect:5432,ro:/,rw:/tmp,rw:/var/log"
	if got != want {
		t.Errorf("flags =\n%s\nwant\n%s", got, want)
	}
}

func TestSeccomp(t *testing.T) {
	p := sample(t)
	s, warn, err := Seccomp(p, SeccompOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "syscall_999") {
		t.Errorf("warnings = %v", warn)
	}
	if s.DefaultAction != "SCMP_ACT_ERRNO" || *s.DefaultErrnoRet != 38 {
		t.Errorf("default = %s %d, want ERRNO ENOSYS", s.DefaultAction, *s.DefaultErrnoRet)
	}
	names := strings.Join(s.Syscalls[0].Names, ",")
	for _, n := range []string{"bind", "socket", "execve", "capset", "landlock_restrict_self"} {
		if !strings.Contains(","+names+",", ","+n+",") {
			t.Errorf("allow-list lacks %s", n)
		}
	}
	if strings.Contains(names, "syscall_999") || strings.Contains(names, "mount,") {
		t.Errorf("allow-list has unexpected names: %s", names)
	}

	s, _, err = Seccomp(p, SeccompOptions{Errno: "eperm", NoBase: true, BlockMPTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	if *s.DefaultErrnoRet != 1 {
		t.Errorf("EPERM default = %d", *s.DefaultErrnoRet)
	}
	b, _ := json.Marshal(s)
	js := string(b)
	if !strings.Contains(js, `"names":["bind","read"]`) {
		t.Errorf("NoBase allow-list wrong (socket must move to the MPTCP-aware rules): %s", js)
	}
	if !strings.Contains(js, `"op":"SCMP_CMP_NE"`) || !strings.Contains(js, `"errnoRet":13`) || !strings.Contains(js, `"value":262`) {
		t.Errorf("MPTCP rules missing: %s", js)
	}
	if _, _, err := Seccomp(p, SeccompOptions{Errno: "EIO"}); err == nil {
		t.Error("errno EIO accepted")
	}
}

func TestLandlock(t *testing.T) {
	r := Landlock(sample(t))
	if got := r.String(); got != "bind:80,connect:5432,ro:/,rw:/tmp,rw:/var/log" {
		t.Errorf("landlock = %s", got)
	}
	// No TCP at all: the network is locked down entirely.
	p := profile.New("x86_64")
	if got := Landlock(p).String(); got != "bind:none,connect:none,ro:/" {
		t.Errorf("empty profile landlock = %s", got)
	}
	if _, err := landlock.Parse(r.String()); err != nil {
		t.Errorf("exported rules do not parse: %v", err)
	}
}

func TestKubernetes(t *testing.T) {
	b, err := Kubernetes(sample(t), "profiles/httpd.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"drop:\n    - ALL", "add:\n    - CHOWN\n    - NET_BIND_SERVICE", "type: Localhost", "localhostProfile: profiles/httpd.json"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("securityContext lacks %q:\n%s", want, b)
		}
	}
}

func TestSELinux(t *testing.T) {
	b, err := SELinux(sample(t), "httpd_rec", false)
	if err != nil {
		t.Fatal(err)
	}
	te := string(b)
	for _, want := range []string{"httpd_rec_t", "chown", "net_bind_service", "http_port_t"} {
		if !strings.Contains(te, want) {
			t.Errorf(".te lacks %q:\n%s", want, te)
		}
	}
	if strings.Contains(te, "sys_time") {
		t.Errorf(".te grants the denied-only sys_time:\n%s", te)
	}
	if _, err := SELinux(sample(t), "bad name", false); err == nil {
		t.Error("bad module name accepted")
	}
}
