//go:build integration

package build_test

// Compiles what brig generates with Debian's real toolchain and installs
// it into a copy of the policy store, then reads the resulting binary
// policy back with setools. Needs the packages under "# selinux tooling"
// in .ci/packages.txt; takes a minute or two (semodule relinks the whole
// policy).
//
//	go test -tags integration ./internal/selinux/build/

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/selinux/audit2allow"
	"github.com/brigrt/brig/internal/selinux/build"
	"github.com/brigrt/brig/internal/selinux/policygen"
)

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rulePerms lists "src tgt:class perm" of each allow rule, and those under
// a "may not hold" note.
func rulePerms(out string) (all, flagged map[string]bool) {
	all, flagged = map[string]bool{}, map[string]bool{}
	note := false
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "may not hold") {
			note = true
		}
		f := strings.Fields(strings.TrimSuffix(l, ";"))
		if len(f) < 4 || f[0] != "allow" {
			continue
		}
		for _, p := range f[3:] {
			if p == "{" || p == "}" {
				continue
			}
			k := f[1] + " " + f[2] + " " + p
			all[k] = true
			if note {
				flagged[k] = true
			}
		}
		note = false
	}
	return all, flagged
}

func TestToolchain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fc := "/etc/selinux/default/contexts/files/file_contexts"

	// 1. policy generate: .te from a run line, an OCI config and inspect
	// JSON; CIL from podman inspect (network none).
	gen := func(c policygen.Config) string {
		t.Helper()
		c.FileCon = fc
		if err := policygen.Generate(c, nil); err != nil {
			t.Fatalf("generate %s: %v", c.Name, err)
		}
		return c.Output
	}
	pgdata := "../policygen/testdata/"
	var modules []string
	modules = append(modules, gen(policygen.Config{Name: "gen_web", Permissive: true, Connect: []string{"5432"},
		RunArgs: strings.Fields("run --cap-drop ALL --cap-add NET_BIND_SERVICE -p 8080:80 -v /srv/www:/usr/share/nginx/html:ro nginx"),
		Output:  filepath.Join(dir, "gen_web.te")}))
	modules = append(modules, gen(policygen.Config{Name: "gen_oci", From: pgdata + "oci_config.json", UserNS: true,
		Output: filepath.Join(dir, "gen_oci.te")}))
	modules = append(modules, gen(policygen.Config{Name: "gen_docker", From: pgdata + "docker_inspect.json", Policy: "/etc/selinux/default/policy/policy.33",
		Output: filepath.Join(dir, "gen_docker.te")}))
	modules = append(modules, gen(policygen.Config{Name: "gen_db", From: pgdata + "podman_inspect.json", CIL: true,
		Output: filepath.Join(dir, "gen_db.cil")}))
	for _, m := range modules[:3] {
		if _, err := build.Module(ctx, m); err != nil {
			t.Fatalf("devel Makefile rejected %s: %v", m, err)
		}
	}

	// 2. audit2allow -M on the log whose MCS denial makes Debian's
	// audit2allow -M fail: brig's module must compile (checkmodule path).
	var out, errb bytes.Buffer
	err := audit2allow.Run(ctx, audit2allow.Config{Inputs: []string{"../avc/testdata/docker_only.log"},
		PackageName: "docker_apache_local", Dir: dir, Options: audit2allow.Options{Xperms: true, Explain: true}}, nil, &out, &errb)
	if err != nil {
		t.Fatalf("audit2allow -M: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "semodule -i docker_apache_local.pp") {
		t.Errorf("no -M banner: %s", out.String())
	}

	// 3. The article's loop done right: merge into the container-template
	// module and rebuild with the Makefile, twice (the second merge must
	// add nothing).
	te := filepath.Join(dir, "docker_apache_c.te")
	orig, _ := os.ReadFile("../audit2allow/testdata/docker_apache_c.container_template.te")
	os.WriteFile(te, orig, 0o644)
	for i := 0; i < 2; i++ {
		out.Reset()
		if err := audit2allow.Run(ctx, audit2allow.Config{Inputs: []string{"../avc/testdata/docker_only.log"}, Merge: te}, nil, &out, &errb); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(out.String(), "nothing added") {
		t.Errorf("second merge: %s", out.String())
	}
	if _, err := build.Module(ctx, te); err != nil {
		t.Fatalf("merged module does not compile: %v", err)
	}

	// A module that does not compile fails, with checkmodule's message.
	bad := filepath.Join(dir, "bad.te")
	os.WriteFile(bad, []byte("module bad 1.0;\nrequire { type nosuch_t; class file read; }\nallow nosuch_t undeclared_t:file read;\n"), 0o644)
	if _, err := build.Module(ctx, bad); err == nil || !strings.Contains(err.Error(), "undeclared_t") {
		t.Errorf("bad module: %v", err)
	}

	// The article's module fails on Debian; the error says what to use.
	art := filepath.Join(dir, "docker_apache.te")
	artText, _ := os.ReadFile("../audit2allow/testdata/docker_apache.article.te")
	os.WriteFile(art, artText, 0o644)
	if _, err := build.Module(ctx, art); err == nil || !strings.Contains(err.Error(), "use container_domain_template") {
		t.Errorf("article module: %v", err)
	}

	// 4. Install everything with the container module into a copy of
	// the store in one semodule -p run.
	base, err := build.ContainerBase(ctx, filepath.Join(dir, "base"))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "var/lib"), 0o755)
	tool(t, "cp", "-a", "/etc/selinux", filepath.Join(root, "etc"))
	tool(t, "cp", "-a", "/var/lib/selinux", filepath.Join(root, "var/lib"))
	all := append([]string{base, te, filepath.Join(dir, "docker_apache_local.pp")}, modules...)
	if err := build.Install(ctx, all, build.InstallOptions{Root: root, NoReload: true}); err != nil {
		t.Fatalf("semodule -p: %v", err)
	}
	have, err := build.Installed(ctx, build.InstallOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"container", "docker_apache_c", "docker_apache_local", "gen_web", "gen_oci", "gen_docker", "gen_db"} {
		if !have[m] {
			t.Errorf("module %s not in the store", m)
		}
	}

	// 5. Read the linked policy back. The mounts were typed from the real
	// file_contexts; ask it the same question.
	fcs, err := policygen.LoadFileContexts(fc)
	if err != nil {
		t.Fatal(err)
	}
	pgType, err := fcs.Type("/var/lib/postgresql")
	if err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(root, "etc/selinux/default/policy/policy.33")
	if perm := tool(t, "seinfo", pol, "--permissive"); !strings.Contains(perm, "gen_web_t") || strings.Contains(perm, "gen_db_t") {
		t.Errorf("permissive types: %s", perm)
	}
	for _, q := range []struct{ args, want string }{
		{"-s gen_web_t -t http_port_t -c tcp_socket -p name_bind", "allow gen_web_t http_port_t:tcp_socket name_bind;"},
		{"-s gen_web_t -t postgresql_port_t -c tcp_socket -p name_connect", "name_connect"},
		{"-s gen_web_t -t httpd_sys_content_t -c file -p read", "read"},
		{"-s gen_oci_t -t gen_oci_t -c cap_userns -p kill", "kill"},
		{"-s gen_docker_t -t gen_docker_t -c capability -p net_admin", "net_admin"},
		{"-s gen_docker_t -t var_log_t -c file -p write", "write"},
		{"-s gen_db_t -t " + pgType + " -c file -p write", "write"},
		{"-s docker_apache_t -t container_file_t -c file -p write", "write"},
		{"-s docker_apache_t -t smtp_port_t -c tcp_socket -p name_connect", "name_connect"},
	} {
		args := append([]string{"-A", "-ds"}, strings.Fields(q.args)...)
		if got := tool(t, "sesearch", append(args, pol)...); !strings.Contains(got, q.want) {
			t.Errorf("sesearch %s: %q, want %q", q.args, got, q.want)
		}
	}
	// 6. audit2allow -p on this policy dropped 101 permissions of
	// avc_1000.log as invalid contexts (fixture avc_1000_P3). brig keeps
	// them, and with --policy flags exactly those as "role may not hold
	// type".
	out.Reset()
	if err := audit2allow.Run(ctx, audit2allow.Config{Inputs: []string{"../avc/testdata/avc_1000.log"}, Policy: pol}, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("../audit2allow/testdata/audit2allow_out/avc_1000_P3.stdout")
	got, flagged := rulePerms(out.String())
	kept, _ := rulePerms(string(want))
	dropped := 0
	for p := range got {
		if !kept[p] {
			dropped++
			if !flagged[p] {
				t.Errorf("%s: dropped by audit2allow, not flagged by brig", p)
			}
		}
	}
	for p := range flagged {
		if kept[p] {
			t.Errorf("%s: flagged, but audit2allow kept it", p)
		}
	}
	if dropped != 101 {
		t.Errorf("%d permissions beyond audit2allow's, want 101", dropped)
	}

	// Neither generated type is a container_net_domain: that attribute
	// carries corenet_tcp_connect_all_ports and would let a container
	// connect anywhere. Network access is its own socket rules and ports.
	for _, typ := range []string{"gen_db_t", "gen_web_t"} {
		if got := tool(t, "seinfo", pol, "-x", "-t", typ); strings.Contains(got, "container_net_domain") || !strings.Contains(got, "container_domain") {
			t.Errorf("%s attributes: %s", typ, got)
		}
	}
	// Both may start the image's command, as container_t may.
	if got := tool(t, "sesearch", pol, "-A", "-s", "gen_web_t", "-t", "container_file_t", "-c", "file", "-p", "entrypoint"); !strings.Contains(got, "entrypoint") {
		t.Errorf("gen_web_t has no entrypoint on container_file_t: %s", got)
	}
	// gen_web_t may create TCP sockets but not connect to any port.
	if got := tool(t, "sesearch", pol, "-A", "-s", "gen_web_t", "-t", "smtp_port_t", "-c", "tcp_socket", "-p", "name_connect"); strings.Contains(got, "name_connect") {
		t.Errorf("gen_web_t may connect to the SMTP port: %s", got)
	}
}
