package refpolicy

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPortsMatchSemanage checks the generated table against `semanage port
// -l` as captured on Debian's default policy: every listed port must map to
// the listed type, except where an earlier portcon claims it first (the
// kernel's first-match rule), which only the catch-all ranges allow.
func TestPortsMatchSemanage(t *testing.T) {
	data, err := os.ReadFile("testdata/semanage_port_l.stdout")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, line := range strings.Split(string(data), "\n")[2:] {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		typ, proto := f[0], f[1]
		for _, item := range strings.Split(strings.Join(f[2:], ""), ",") {
			lo, hi, _ := strings.Cut(item, "-")
			a, err := strconv.Atoi(lo)
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			got, ok := PortType(proto, a)
			if !ok {
				t.Errorf("%s/%d: no type, want %s", proto, a, typ)
				continue
			}
			if hi == "" && got != typ {
				t.Errorf("%s/%d = %s, want %s", proto, a, got, typ)
			}
			checked++
		}
	}
	if checked < 300 {
		t.Fatalf("checked only %d ports", checked)
	}
	for _, c := range []struct {
		proto string
		port  int
		want  string
	}{{"tcp", 80, "http_port_t"}, {"tcp", 25, "smtp_port_t"}, {"udp", 53, "dns_port_t"},
		{"tcp", 9999, "unreserved_port_t"}, {"tcp", 600, "hi_reserved_port_t"}, {"tcp", 2, "reserved_port_t"}} {
		if got, _ := PortType(c.proto, c.port); got != c.want {
			t.Errorf("%s/%d = %s, want %s", c.proto, c.port, got, c.want)
		}
	}
	if _, ok := PortType("tcp", 0); ok {
		t.Error("port 0 has a type")
	}
}

func TestClasses(t *testing.T) {
	if !KnownPerm("file", "map") || !KnownPerm("tcp_socket", "name_connect") || !KnownPerm("service", "status") {
		t.Error("missing well-known permissions")
	}
	if KnownClass("nosuchclass") || KnownPerm("file", "fly") {
		t.Error("unknown names accepted")
	}
}

// TestParsePorts: the policy's own table (seinfo --portcon on Debian's
// default policy) agrees with the generated one for every port type.
func TestParsePorts(t *testing.T) {
	data, err := os.ReadFile("testdata/seinfo_portcon_all.stdout")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ParsePorts(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 479 {
		t.Errorf("%d portcons, want 479", len(ps))
	}
	for _, proto := range []string{"tcp", "udp"} {
		for port := 1; port <= 65535; port += 7 {
			a, _ := ps.Type(proto, port)
			b, _ := PortType(proto, port)
			if a != b {
				t.Errorf("%d/%s: policy %s, table %s", port, proto, a, b)
			}
		}
	}
	if _, err := ParsePorts([]byte("portcon tcp x-1 system_u:object_r:a_t:s0\n")); err == nil {
		t.Error("bad line accepted")
	}
	if _, err := ParsePorts([]byte("nothing\n")); err == nil {
		t.Error("empty output accepted")
	}
}
