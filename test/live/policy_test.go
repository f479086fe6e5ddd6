//go:build live

package live

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// 3. The article's loop: generate a module for a small web server, build
// and install it, run the container as that type, see the denied
// connection to port 25 in the AVC records, let audit2allow write the
// rule, rebuild, reinstall, and connect.
func TestPolicyLoop(t *testing.T) {
	dir := t.TempDir()
	te := filepath.Join(dir, "webapp.te")
	step := func(name string, args ...string) string {
		t.Helper()
		start := time.Now()
		out := mustBrig(t, args...)
		t.Logf("%s: %.1fs", name, time.Since(start).Seconds())
		return out
	}
	step("generate", "policy", "generate", "webapp", "--port", "8080/tcp", "--no-dns", "-o", te)
	step("build", "policy", "build", te)
	if _, err := os.Stat(filepath.Join(dir, "webapp.pp")); err != nil {
		t.Fatalf("policy build wrote no webapp.pp: %v", err)
	}
	step("install", "policy", "install", "--with-container-base", filepath.Join(dir, "webapp.pp"))

	// The mail server the container will try to reach: this test, as
	// unconfined_t, on the VM's loopback (the container shares the network).
	ln, err := net.Listen("tcp", "127.0.0.1:25")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()

	id, pid := runDetached(t, "--network", "host", "--security-opt", "label=type:webapp_t",
		image, "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/")
	l := procLabel(t, pid)
	if typeOf(l) != "webapp_t" {
		t.Fatalf("container runs as %q, want webapp_t", l)
	}
	level := levelOf(l)
	// It may bind its HTTP port: the server answers.
	var resp *http.Response
	for i := 0; i < 50; i++ {
		if resp, err = http.Get("http://127.0.0.1:8080/"); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the webapp_t server does not answer on 8080: %v (AVCs: %v)", err, avcs(t, "webapp_t"))
	}
	resp.Body.Close()

	connect := func() int {
		return exitCode(t, "exec", id, "sh", "-c", "echo QUIT | nc -w 5 127.0.0.1 25")
	}
	if code := connect(); code == 0 || accepted.Load() != 0 {
		t.Fatalf("webapp_t connected to port 25 before any rule allowed it (exit %d, accepted %d): the generated module grants more than --port 8080", code, accepted.Load())
	}
	denied := avcs(t, "name_connect", "webapp_t:"+level, "smtp_port_t")
	if len(denied) == 0 {
		t.Fatalf("no AVC for webapp_t name_connect to smtp_port_t; webapp_t AVCs: %v", avcs(t, "webapp_t"))
	}
	t.Logf("denied: %s", denied[0])

	// audit2allow reads the kernel's audit records and appends the
	// missing rule to the module.
	step("audit2allow", "policy", "audit2allow", "-d", "-t", "webapp_t", "--merge", te)
	src, err := os.ReadFile(te)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "smtp_port_t:tcp_socket name_connect") {
		t.Fatalf("audit2allow did not add the name_connect rule:\n%s", src)
	}
	step("rebuild+install", "policy", "install", te)

	if code := connect(); code != 0 || accepted.Load() == 0 {
		t.Fatalf("after the rebuilt module: exit %d, accepted %d; new AVCs: %v", code, accepted.Load(),
			avcs(t, "webapp_t:"+level, "smtp_port_t"))
	}
	fmt.Printf("live: policy loop done for %s\n", id)
}
