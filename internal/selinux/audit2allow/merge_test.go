package audit2allow

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	te, err := os.ReadFile("testdata/docker_apache_c.container_template.te")
	if err != nil {
		t.Fatal(err)
	}
	_, set, _ := run(t, Filter{Type: mustType(t, "docker_apache_t")}, Options{}, logs+"docker_only_nomcs.log")
	rules := set.Rules()
	out, added := Merge(te, rules, Options{})
	if len(added) == 0 || !bytes.HasPrefix(out, te) {
		t.Fatalf("nothing merged or the module was rewritten")
	}
	tail := string(out[len(te):])
	// setgid is in the module's own capability rule ("self: capability",
	// with the article's stray space): it must not come back.
	if strings.Contains(tail, "setgid") {
		t.Errorf("re-added a permission the module grants:\n%s", tail)
	}
	if !strings.Contains(tail, "allow docker_apache_t self:capability { dac_read_search sys_resource };") {
		t.Errorf("missing capability rule:\n%s", tail)
	}
	// The template declares docker_apache_t; requiring it too is wrong.
	if strings.Contains(tail, "type docker_apache_t;") || !strings.Contains(tail, "type container_file_t;") {
		t.Errorf("require block wrong:\n%s", tail)
	}
	again, added2 := Merge(out, rules, Options{})
	if len(added2) != 0 || !bytes.Equal(again, out) {
		t.Errorf("second merge added %d rules", len(added2))
	}
	// Dontaudit rules are tracked separately from allow rules.
	_, addedD := Merge(out, rules, Options{Dontaudit: true})
	if len(addedD) != len(rules) {
		t.Errorf("dontaudit merge added %d of %d", len(addedD), len(rules))
	}
}

func TestParseExisting(t *testing.T) {
	e := ParseExisting([]byte(`
# allow a_t b_t:file write;  (a comment, not a rule)
allow { a_t c_t } { b_t a_t }:{ file dir } { read getattr };
dontaudit a_t b_t:file write;
type new_t;
type other_t, domain;
virt_domain_template(vm)
`))
	for _, k := range []permKey{{"allow", "a_t", "b_t", "file", "read"}, {"allow", "c_t", "a_t", "dir", "getattr"},
		{"allow", "a_t", "self", "file", "getattr"}, {"dontaudit", "a_t", "b_t", "file", "write"}} {
		if !e.rules[k] {
			t.Errorf("missing %v", k)
		}
	}
	if e.rules[permKey{"allow", "a_t", "b_t", "file", "write"}] {
		t.Error("a commented rule counted")
	}
	for _, ty := range []string{"new_t", "other_t", "vm_t"} {
		if !e.declared[ty] {
			t.Errorf("%s not seen as declared", ty)
		}
	}
}

func TestRunMergeAndErrors(t *testing.T) {
	dir := t.TempDir()
	te := filepath.Join(dir, "docker_apache_c.te")
	orig, _ := os.ReadFile("testdata/docker_apache_c.container_template.te")
	os.WriteFile(te, orig, 0o600)
	var out, errb bytes.Buffer
	c := Config{Inputs: []string{logs + "docker_only.log"}, Merge: te}
	if err := Run(context.Background(), c, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "added ") {
		t.Errorf("stdout: %s", out.String())
	}
	st, _ := os.Stat(te)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("merge changed the file mode to %v", st.Mode().Perm())
	}
	out.Reset()
	if err := Run(context.Background(), c, nil, &out, &errb); err != nil || !strings.Contains(out.String(), "nothing added") {
		t.Errorf("second run: %v %s", err, out.String())
	}
	// Malformed input: reported with file:line, fatal only with Strict.
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte("type=AVC msg=audit(1.1:1): avc:  denied  { read } for scontext=u:r:a_t:s0\n"), 0o644)
	errb.Reset()
	out.Reset()
	if err := Run(context.Background(), Config{Inputs: []string{bad}}, nil, &out, &errb); err != nil {
		t.Errorf("non-strict run failed: %v", err)
	}
	if !strings.Contains(errb.String(), "bad.log:1: error: malformed AVC record: no tcontext=") {
		t.Errorf("stderr: %q", errb.String())
	}
	if err := Run(context.Background(), Config{Inputs: []string{bad}, Strict: true}, nil, &out, &errb); err == nil {
		t.Error("strict run accepted a malformed record")
	}
	if err := Run(context.Background(), Config{Container: "web"}, strings.NewReader(""), &out, &errb); err == nil ||
		!strings.Contains(err.Error(), "container store") {
		t.Errorf("--container without a store: %v", err)
	}
	// stdin works.
	out.Reset()
	in, _ := os.ReadFile(logs + "avc_dmesg.log")
	if err := Run(context.Background(), Config{}, bytes.NewReader(in), &out, &errb); err != nil || !strings.Contains(out.String(), "smtp_port_t:tcp_socket name_connect") {
		t.Errorf("stdin: %v %s", err, out.String())
	}
}

func TestFilters(t *testing.T) {
	level := Filter{Level: "s0:c1,c2"}
	out, _, _ := run(t, level, Options{}, logs+"avc_sample.log")
	if strings.Contains(out, "httpd_t") || !strings.Contains(out, "docker_apache_t") {
		t.Errorf("level filter:\n%s", out)
	}
	var f Filter
	f.Since = mustTime(t, "2024-11-26T22:40:10Z")
	f.Until = mustTime(t, "2024-11-26T22:40:12Z")
	out, set, _ := run(t, f, Options{}, logs+"avc_sample.log")
	if set.Denials != 2 || !strings.Contains(out, "mysqld_port_t") || !strings.Contains(out, "shadow_t") {
		t.Errorf("time filter kept %d:\n%s", set.Denials, out)
	}
	out, _, _ = run(t, Filter{Type: mustType(t, "httpd")}, Options{}, logs+"avc_sample.log")
	if strings.Contains(out, "docker_apache_t") || !strings.Contains(out, "httpd_t") {
		t.Errorf("type filter:\n%s", out)
	}
}
