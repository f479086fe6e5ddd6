//go:build integration

package audit2allow

// Explains the sample denials against Debian's installed default policy
// with setools (package setools), as audit2allow -p P0 did in the
// fixtures (i_P0_types_missing: httpd booleans, docker_apache_t unknown).
//
//	go test -tags integration ./internal/selinux/audit2allow/

import (
	"context"
	"strings"
	"testing"
)

func TestPolicyExplain(t *testing.T) {
	const p0 = "/etc/selinux/default/policy/policy.33"
	_, set, _ := run(t, Filter{}, Options{}, logs+"avc_sample.log")
	rules := set.Rules()
	facts, err := PolicyFacts(context.Background(), p0, rules)
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]*Fact{}
	for i, r := range rules {
		byRule[r.Source+" "+r.Target+":"+r.Class] = &facts[i]
		rules[i].Fact = &facts[i]
	}
	f := byRule["httpd_t mysqld_port_t:tcp_socket"]
	if f == nil || len(f.Bools) == 0 {
		t.Fatalf("no boolean for httpd_t -> mysqld_port_t: %+v", f)
	}
	var exprs []string
	for _, b := range f.Bools {
		exprs = append(exprs, b.Expr)
	}
	joined := strings.Join(exprs, " ")
	// audit2allow: "can be allowed using one of the these booleans:
	// httpd_can_network_connect, httpd_can_network_connect_db".
	for _, want := range []string{"httpd_can_network_connect", "httpd_can_network_connect_db"} {
		if !strings.Contains(joined, want) {
			t.Errorf("booleans %q lack %s", joined, want)
		}
	}
	if f := byRule["docker_apache_t self:capability"]; f == nil || len(f.Unknown) != 1 || f.Unknown[0] != "docker_apache_t" {
		t.Errorf("docker_apache_t should be unknown in the default policy: %+v", f)
	}
	if f := byRule["httpd_t shadow_t:file"]; f == nil || len(f.Allowed)+len(f.Bools) != 0 {
		t.Errorf("httpd_t reading shadow_t is plainly missing: %+v", f)
	}
	var out strings.Builder
	Write(&out, rules, Options{})
	for _, want := range []string{"boolean expression 'httpd_can_network_connect_db' on", "docker_apache_t is not in the policy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
