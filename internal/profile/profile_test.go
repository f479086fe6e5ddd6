package profile

import (
	"strings"
	"testing"
)

const sample = `{
  "version": 1,
  "arch": "x86_64",
  "command": ["sh", "-c", "x"],
  "capabilities": [
    {"name": "CAP_NET_BIND_SERVICE", "granted": 1, "denied": 0, "syscalls": ["bind"]},
    {"name": "chown", "granted": 2, "denied": 0, "syscalls": ["fchownat", "chown"]},
    {"name": "CAP_SYS_TIME", "granted": 0, "denied": 3, "syscalls": ["clock_settime"]}
  ],
  "syscalls": ["write", "read", "read"],
  "network": {
    "bind": [{"proto": "tcp", "port": 80}],
    "connect": [{"proto": "tcp", "addr": "10.0.0.1", "port": 5432}]
  },
  "files": {"written": ["/var/log/app.log"], "tmpfs": ["/tmp"]}
}`

func TestParseNormalizes(t *testing.T) {
	p, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Syscalls, ","); got != "read,write" {
		t.Errorf("syscalls = %s", got)
	}
	if p.Capabilities[0].Name != "CAP_CHOWN" || p.Capabilities[0].Syscalls[0] != "chown" {
		t.Errorf("capabilities not normalized: %+v", p.Capabilities)
	}
	if got := strings.Join(p.Used(), ","); got != "CAP_CHOWN,CAP_NET_BIND_SERVICE" {
		t.Errorf("used = %s (denied-only SYS_TIME must not count)", got)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := q.Marshal()
	if string(b) != string(b2) {
		t.Errorf("marshal round trip differs:\n%s\n%s", b, b2)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty profile"},
		{"{\n  \"version\": 1,\n  \"arch\": \"x86_64\",\n  oops\n}", "line 4"},
		{`{"version": 2, "arch": "x86_64"}`, "newer than this brig"},
		{`{"version": 0, "arch": "x86_64"}`, "not supported"},
		{`{"version": 1}`, `no "arch"`},
		{"{\"version\": 1,\n \"arch\": \"x86_64\",\n \"syscalls\": 5}", "line 3"},
		{`{"version": 1, "arch": "x86_64", "bogus": 1}`, "unknown field"},
		{`{"version": 1, "arch": "x86_64", "capabilities": [{"name": "CAP_FLY"}]}`, "unknown capability"},
		{`{"version": 1, "arch": "x86_64", "syscalls": ["Open;rm"]}`, "invalid syscall name"},
		{`{"version": 1, "arch": "x86_64", "network": {"bind": [{"proto": "ipx", "port": 1}]}}`, "unknown protocol"},
		{`{"version": 1, "arch": "x86_64", "network": {"connect": [{"proto": "tcp", "addr": "nope", "port": 1}]}}`, "invalid address"},
		{`{"version": 1, "arch": "x86_64", "network": {"bind": [{"proto": "tcp", "port": 70000}]}}`, "uint16"},
		{`{"version": 1, "arch": "x86_64", "files": {"written": ["rel/path"]}}`, "not absolute"},
		{`{"version": 1, "arch": "x86_64"} {}`, "unexpected data"},
		{`{"version": 1, "arch": "x86_64"`, "unexpected end"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestMergeIsUnion(t *testing.T) {
	a, _ := Parse([]byte(sample))
	b := New("x86_64")
	b.Capabilities = []Capability{{Name: "CAP_CHOWN", Granted: 5, Syscalls: []string{"fchown"}}, {Name: "CAP_KILL", Granted: 1}}
	b.Syscalls = []string{"kill", "read"}
	b.Network.Bind = []Endpoint{{Proto: "tcp", Port: 80}, {Proto: "udp", Port: 53}}
	b.Files.Written = []string{"/data/x"}
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Cap("CHOWN")
	if c == nil || c.Granted != 7 || strings.Join(c.Syscalls, ",") != "chown,fchown,fchownat" {
		t.Errorf("merged CHOWN = %+v", c)
	}
	if got := strings.Join(m.Used(), ","); got != "CAP_CHOWN,CAP_KILL,CAP_NET_BIND_SERVICE" {
		t.Errorf("merged used = %s", got)
	}
	if got := strings.Join(m.Syscalls, ","); got != "kill,read,write" {
		t.Errorf("merged syscalls = %s", got)
	}
	if len(m.Network.Bind) != 2 || len(m.Files.Written) != 2 {
		t.Errorf("merged network/files = %+v %+v", m.Network, m.Files)
	}
	// Merge is a union: every part of each input is in the result.
	for _, in := range []*Profile{a, b} {
		if d := Compare(in, m); len(d.Capabilities.Removed)+len(d.Syscalls.Removed)+len(d.Bind.Removed)+len(d.Written.Removed) != 0 {
			t.Errorf("merge lost something:\n%s", d)
		}
	}
	if _, err := Merge(a, New("aarch64")); err == nil {
		t.Error("merging different architectures should fail")
	}
	if _, err := Merge(); err == nil {
		t.Error("merging nothing should fail")
	}
}

func TestDiff(t *testing.T) {
	a, _ := Parse([]byte(sample))
	b, _ := Parse([]byte(sample))
	if d := Compare(a, b); !d.Empty() || d.String() != "" {
		t.Errorf("equal profiles differ: %s", d)
	}
	b.Capabilities = b.Capabilities[1:] // drop CHOWN
	b.Syscalls = append(b.Syscalls, "mount")
	b.Network.Connect = nil
	d := Compare(a, b)
	if d.Empty() {
		t.Fatal("diff is empty")
	}
	want := "capabilities:\n  - CAP_CHOWN\nsyscalls:\n  + mount\nconnect:\n  - tcp/10.0.0.1:5432\n"
	if d.String() != want {
		t.Errorf("diff =\n%s\nwant\n%s", d, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"version":1,"arch":"x86_64","network":{"bind":[{"proto":"tcp","addr":"::1","port":1}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Fatalf("re-parse of marshalled profile: %v\n%s", err, b)
		}
	})
}
