package policygen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func fcLookup(t *testing.T) func(string) (string, error) {
	fc, err := LoadFileContexts("testdata/file_contexts")
	if err != nil {
		t.Fatal(err)
	}
	return func(p string) (string, error) { return fc.Type(p) }
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update to accept):\n%s", name, got)
	}
}

func render(t *testing.T, s *Spec, cil bool) []byte {
	t.Helper()
	if err := s.Normalize(fcLookup(t)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	var err error
	if cil {
		err = s.WriteCIL(&b)
	} else {
		err = s.WriteTE(&b)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSources(t *testing.T) {
	oci, err := FromFile("testdata/oci_config.json")
	if err != nil {
		t.Fatal(err)
	}
	oci.Name = "oci_web"
	out := render(t, oci, false)
	golden(t, "oci_web.te", out)
	for _, want := range []string{"self:capability { audit_write kill net_bind_service };",
		"httpd_sys_content_t:file { getattr ioctl lock open read };", "var_lib_t:dir { add_name create"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("oci: missing %q", want)
		}
	}
	if bytes.Contains(out, []byte("resolv.conf,")) || bytes.Contains(out, []byte("/var/lib/brig")) {
		t.Error("oci: the engine's resolv.conf bind became a rule")
	}

	d, err := FromFile("testdata/docker_inspect.json")
	if err != nil {
		t.Fatal(err)
	}
	d.Name = "web"
	out = render(t, d, false)
	golden(t, "docker_web.te", out)
	for _, want := range []string{"net_admin", "http_port_t:tcp_socket name_bind", "dns_port_t:udp_socket name_bind", "var_log_t:file"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("docker: missing %q", want)
		}
	}
	if bytes.Contains(out, []byte("mknod")) || bytes.Contains(out, []byte("net_raw")) || bytes.Contains(out, []byte("volumes/data")) {
		t.Errorf("docker: dropped caps or a named volume leaked in:\n%s", out)
	}

	p, err := FromFile("testdata/podman_inspect.json")
	if err != nil {
		t.Fatal(err)
	}
	p.Name = "db"
	out = render(t, p, true)
	golden(t, "podman_db.cil", out)
	if bytes.Contains(out, []byte("container_net_domain")) || bytes.Contains(out, []byte("dns_port_t")) {
		t.Error("podman: network none still gets network rules")
	}
	if !bytes.Contains(out, []byte("(allow db_t postgresql_db_t (file (")) {
		t.Errorf("podman: pgdata mount not typed by file_contexts:\n%s", out)
	}
}

func TestRunArgs(t *testing.T) {
	s, err := FromRunArgs(strings.Fields("run -d --rm --name web --cap-drop ALL --cap-add NET_BIND_SERVICE -p 127.0.0.1:8080:80 -p 8443:443/tcp -v /srv/www:/usr/share/nginx/html:ro -v data:/data --mount type=bind,src=/var/log/web,dst=/logs -e A=1 nginx:latest nginx -g daemon off;"))
	if err != nil {
		t.Fatal(err)
	}
	s.Name = "nginx"
	s.Permissive = true
	out := render(t, s, false)
	golden(t, "run_nginx.te", out)
	golden(t, "run_nginx.cil", render(t, s, true))
	if !bytes.Contains(out, []byte("allow nginx_t self:capability net_bind_service;")) {
		t.Errorf("caps wrong:\n%s", out)
	}
	for _, bad := range [][]string{
		{"run", "--bogus-flag", "img"},
		{"run", "-p", "80-90:80-90", "img"},
		{"run", "--cap-add", "NOPE", "img"},
		{"run", "--network", "none", "-p", "80:80", "img"},
		{"run", "-p", "80:80"}, // -p swallows nothing: no image after it
		{"run"},
	} {
		if _, err := FromRunArgs(bad); err == nil {
			t.Errorf("FromRunArgs(%q) accepted", bad)
		}
	}
}

// TestDeterministic: the same needs in a different order give the same
// bytes.
func TestDeterministic(t *testing.T) {
	mk := func(caps []string, ports []string, mounts []string) []byte {
		s := &Spec{Name: "x", Caps: caps, Network: true, DNS: true}
		for _, p := range ports {
			port, err := ParsePort(p, false)
			if err != nil {
				t.Fatal(err)
			}
			s.Ports = append(s.Ports, port)
		}
		for _, m := range mounts {
			mnt, err := ParseMount(m)
			if err != nil {
				t.Fatal(err)
			}
			s.Mounts = append(s.Mounts, mnt)
		}
		return render(t, s, false)
	}
	a := mk([]string{"chown", "CAP_KILL", "sys_time", "bpf"}, []string{"80", "connect:5432", "53/udp"}, []string{"/srv/www:ro", "/var/log:rw:type=var_log_t"})
	b := mk([]string{"BPF", "sys_time", "kill", "chown", "kill"}, []string{"53/udp", "connect:5432", "80", "80"}, []string{"/var/log:rw:type=var_log_t", "/srv/www:ro"})
	if !bytes.Equal(a, b) {
		t.Errorf("order changed the output:\n%s\n---\n%s", a, b)
	}
	if !bytes.Contains(a, []byte("self:capability2 bpf;")) {
		t.Errorf("capabilities past 31 belong to capability2:\n%s", a)
	}
}

func TestBadInput(t *testing.T) {
	for _, p := range []string{"0", "65536", "80/sctp", "x", "listen:80"} {
		if _, err := ParsePort(p, false); err == nil {
			t.Errorf("ParsePort(%q) accepted", p)
		}
	}
	for _, m := range []string{"relative:ro", "/a:bogus", "/a:type=bad-type!"} {
		if _, err := ParseMount(m); err == nil {
			t.Errorf("ParseMount(%q) accepted", m)
		}
	}
	for _, s := range []*Spec{
		{Name: "bad-name"}, {Name: "x_t"}, {Name: "x", Caps: []string{"nope"}},
		{Name: "x", Ports: []Port{{Proto: "tcp", Port: 80}}},
		{Name: "x", Mounts: []Mount{{Source: "/tmp/x"}}},
	} {
		if err := s.Normalize(fcLookup(t)); err == nil {
			t.Errorf("Normalize(%+v) accepted", s)
		}
	}
	for _, doc := range []string{"", "{}", "[]", "[{},{}]", "{\"ociVersion\": 3}", "not json"} {
		if _, err := FromJSON([]byte(doc), "x.json"); err == nil {
			t.Errorf("FromJSON(%q) accepted", doc)
		}
	}
}

func TestJSONErrorLines(t *testing.T) {
	_, err := FromJSON([]byte("{\n  \"ociVersion\": \"1.0\",\n  \"mounts\": 7\n}"), "c.json")
	if err == nil || !strings.Contains(err.Error(), "c.json:3:") {
		t.Errorf("want a line number: %v", err)
	}
	_, err = FromJSON([]byte("[\n{\"HostConfig\": {}},\n{,}]"), "i.json")
	if err == nil || !strings.Contains(err.Error(), "i.json:3:") {
		t.Errorf("want a line number: %v", err)
	}
}

func TestFileContexts(t *testing.T) {
	look := fcLookup(t)
	for path, want := range map[string]string{
		"/srv/www/index.html": "httpd_sys_content_t",
		"/srv/other":          "var_t",
		"/var/lib/pgsql/data": "postgresql_db_t",
		"/var/log/x":          "var_log_t",
		"/opt/x":              "default_t",
	} {
		if got, err := look(path); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", path, got, err, want)
		}
	}
	if _, err := look("/tmp/x"); err == nil {
		t.Error("<<none>> path got a type")
	}
}

func FuzzFromJSON(f *testing.F) {
	for _, p := range []string{"testdata/oci_config.json", "testdata/docker_inspect.json", "testdata/podman_inspect.json"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := FromJSON(data, "fuzz.json")
		if err != nil {
			return
		}
		s.Name = "fz"
		if s.Normalize(func(string) (string, error) { return "var_t", nil }) == nil {
			var b bytes.Buffer
			s.WriteTE(&b)
			s.WriteCIL(&b)
		}
	})
}
