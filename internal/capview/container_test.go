package capview

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/procscan"
)

const (
	idA = "3f2a9c0e5b7d41a8b6c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5"
	idB = "fe5ae9404d42b2a8e09088b893f403ef5588b3d87272de7b958ce6da0a6be78b"
	idC = "fe5a000000000000000000000000000000000000000000000000000000000000"
)

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		path string
		want Ref
		ok   bool
	}{
		{"/brig/" + idA, Ref{Engine: "brig", ID: idA}, true},
		{"/brig/" + idA + "/init", Ref{Engine: "brig", ID: idA}, true},
		{"/libpod_parent/libpod-" + idB, Ref{Engine: "podman", ID: idB}, true},
		{"/machine.slice/libpod-" + idB + ".scope/container", Ref{Engine: "podman", ID: idB}, true},
		{"/machine.slice/libpod-conmon-" + idB + ".scope", Ref{}, false},
		{"/system.slice/docker-" + idB + ".scope", Ref{Engine: "docker", ID: idB}, true},
		{"/docker/" + idB, Ref{Engine: "docker", ID: idB}, true},
		{"/default/c-default", Ref{Engine: "containerd", ID: "c-default"}, true},
		{"/system.slice/cri-containerd-" + idB + ".scope", Ref{Engine: "containerd", ID: idB}, true},
		{"/kubepods/burstable/pod1b2c3d4e-0000-1111-2222-333344445555/" + idB, Ref{Engine: "kubepods", ID: idB}, true},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c.slice/crio-" + idB + ".scope", Ref{Engine: "kubepods", ID: idB}, true},
		{"/docker/" + idB + "/brig/" + idA, Ref{Engine: "brig", ID: idA}, true}, // innermost wins
		{"/user.slice/user-0.slice/session-1.scope", Ref{}, false},
		{"/", Ref{}, false},
		{"/brig/notanid", Ref{}, false},
		{"/process_api/191d83da3b7d3d5cf2013149e51084f1", Ref{}, false},
	} {
		got, ok := Detect(c.path)
		if ok != c.ok || got != c.want {
			t.Errorf("Detect(%q) = %+v, %v; want %+v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
	r, p, ok := FromProcCgroup("12:pids:/\n4:memory:/brig/" + idA + "\n0::/brig/" + idA + "\n")
	if !ok || r.ID != idA || p != "/brig/"+idA {
		t.Fatalf("FromProcCgroup: %+v %q %v", r, p, ok)
	}
}

// fakeHost builds a proc tree and a two-hierarchy cgroup tree holding a
// brig container (pids 100, 101, 102), a podman container (200) and a
// podman container whose id shares a prefix with it (300).
func fakeHost(t *testing.T) *Viewer {
	t.Helper()
	st := func(comm string, pid, ppid int, eff string) string {
		return pscapCase{comm: comm, pid: pid, ppid: ppid, inh: "0000000000000000", prm: eff, eff: eff,
			bnd: eff, amb: "0000000000000000"}.status()
	}
	procs := map[int]string{
		1:   st("init", 1, 0, "000001ffffffffff"),
		50:  st("sshd", 50, 1, "000001ffffffffff"),
		100: st("sh", 100, 90, "00000000aa0425fb"), // docker 14 + sys_time
		101: st("nginx", 101, 100, "00000000a80425bb"),
		102: st("worker", 102, 101, "0000000000000000"),
		200: st("sleep", 200, 190, "00000000a80425fb"),
		300: st("top", 300, 290, "00000000a80425fb"),
	}
	root := fakeProc(t, procs, map[int]bool{102: true}, nil)
	cg := t.TempDir()
	write := func(rel string, pids string) {
		dir := filepath.Join(cg, rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(pids), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"memory", "unified"} {
		write(h+"/brig/"+idA, "100\n101\n")
		write(h+"/brig/"+idA+"/sub", "102\n")
		write(h+"/libpod_parent/libpod-"+idB, "200\n")
		write(h+"/libpod_parent/libpod-"+idC, "300\n")
		write(h+"/user.slice", "50\n")
	}
	return &Viewer{
		Proc:       root,
		Mounts:     []procscan.Mount{{Dir: cg + "/memory", Root: "/"}, {Dir: cg + "/unified", Root: "/"}},
		LookupUser: testUsers,
		Names: func(id string) (string, bool) {
			if id == idA {
				return "web", true
			}
			return "", false
		},
		Resolve: func(s string) (string, error) {
			if s == "web" || strings.HasPrefix(idA, s) {
				return idA, nil
			}
			return "", errors.New("no such brig container")
		},
	}
}

func TestListTableShowsContainers(t *testing.T) {
	v := fakeHost(t)
	var out bytes.Buffer
	if err := v.List(&out, true, FormatTable); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[0], "PPID") || !strings.Contains(lines[0], "CONTAINER") {
		t.Fatalf("header: %q", lines[0])
	}
	want := map[string]string{"init": "-", "sshd": "-", "sh": "web", "nginx": "web", "sleep": idB[:12], "top": idC[:12]}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if w, ok := want[f[3]]; !ok || f[4] != w {
			t.Errorf("row %q: want container %q", l, w)
		}
		delete(want, f[3])
	}
	if len(want) != 0 {
		t.Errorf("missing rows %v in\n%s", want, out.String())
	}
	// worker (102) has an empty effective set: not listed, as in pscap.
	if strings.Contains(out.String(), "worker") {
		t.Error("process without capabilities listed")
	}
}

func TestListPerProcessCgroupFallback(t *testing.T) {
	st := pscapCase{comm: "sleep", pid: 7, ppid: 1, inh: "0", prm: "a80425fb", eff: "a80425fb", bnd: "a80425fb", amb: "0"}.status()
	root := fakeProc(t, map[int]string{7: st}, nil, map[int]string{7: "4:memory:/brig/" + idA + "\n0::/brig/" + idA + "\n"})
	v := &Viewer{Proc: root, Names: func(id string) (string, bool) { return "db", id == idA }}
	var out bytes.Buffer
	if err := v.List(&out, false, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var recs []Record
	if err := json.Unmarshal(out.Bytes(), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Container == nil || recs[0].Container.Name != "db" || recs[0].Cgroup != "/brig/"+idA {
		t.Fatalf("%s", out.String())
	}
}

func TestContainerView(t *testing.T) {
	v := fakeHost(t)
	var out bytes.Buffer
	if err := v.Container(&out, "web", ContainerOptions{Diff: true}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"container web (brig " + idA + ")",
		"pid 100  ppid 90  user root (uid 0)  command sh",
		"pid 102  ppid 101",
		"[child user namespace]",
		"effective    chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, sys_time, mknod, audit_write, setfcap",
		"inheritable  none",
		"vs default   effective: +sys_time; permitted: +sys_time; bounding: +sys_time",
		"vs default   effective: -setgid; permitted: -setgid; bounding: -setgid", // a80425bb lacks bit 6
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	if strings.Contains(s, "sshd") || strings.Contains(s, "sleep") {
		t.Errorf("other processes shown:\n%s", s)
	}
}

func TestContainerTree(t *testing.T) {
	v := fakeHost(t)
	var out bytes.Buffer
	if err := v.Container(&out, idA[:6], ContainerOptions{Tree: true}); err != nil {
		t.Fatal(err)
	}
	want := "container web (brig " + idA + ")\n" +
		"sh (100, root) eff: chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, sys_time, mknod, audit_write, setfcap\n" +
		"└─ nginx (101, root) eff: chown, dac_override, fowner, fsetid, kill, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap\n" +
		"   └─ worker * (102, root) eff: none\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestContainerJSONAndOtherEngines(t *testing.T) {
	v := fakeHost(t)
	var out bytes.Buffer
	if err := v.Container(&out, idB[:12], ContainerOptions{Format: FormatJSON, Diff: true}); err != nil {
		t.Fatal(err)
	}
	var rep ContainerReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Container.Engine != "podman" || rep.Container.ID != idB || len(rep.Processes) != 1 {
		t.Fatalf("%s", out.String())
	}
	p := rep.Processes[0]
	if p.PID != 200 || p.Sets.Effective.Hex != "00000000a80425fb" || len(p.Sets.Effective.Caps) != 14 ||
		p.Sets.Ambient.Caps == nil || p.Diff == nil || p.Diff.Effective != "" {
		t.Fatalf("%+v", p)
	}
}

func TestContainerErrors(t *testing.T) {
	v := fakeHost(t)
	for arg, want := range map[string]string{
		"fe5a":    "matches 2 containers",
		"nothere": "no running container matches",
		"":        "empty container name",
	} {
		err := v.Container(&bytes.Buffer{}, arg, ContainerOptions{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Container(%q): %v, want %q", arg, err, want)
		}
	}
	if err := v.Container(&bytes.Buffer{}, "web", ContainerOptions{Format: "yaml"}); err == nil {
		t.Error("bad format accepted")
	}
	if err := v.List(&bytes.Buffer{}, false, "xml"); err == nil {
		t.Error("bad format accepted")
	}
}

func FuzzDetect(f *testing.F) {
	f.Add("/brig/" + idA)
	f.Add("/kubepods/burstable/pod1/" + idB)
	f.Add("0::/default/x\n4:memory:/libpod_parent/libpod-" + idB)
	f.Fuzz(func(t *testing.T, s string) {
		Detect(s)
		FromProcCgroup(s)
	})
}
