package spec

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/label"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func run(t *testing.T, line string) (*Options, error) {
	t.Helper()
	return ParseRunArgs(strings.Fields(line))
}

func mustRun(t *testing.T, line string) *Options {
	t.Helper()
	o, err := run(t, line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return o
}

func TestParseRunArgsFlags(t *testing.T) {
	dir := t.TempDir()
	envf := filepath.Join(dir, "env")
	os.WriteFile(envf, []byte("# comment\nA=1\n\nB=two words\n"), 0o644)
	line := "docker run -d -i -t --rm --name web --init --privileged --cap-add sys_time --cap-add CAP_NET_ADMIN,net_raw --cap-drop ALL " +
		"--security-opt no-new-privileges --read-only --pid host --net none --ipc private --uts private --cgroupns private " +
		"-u 1000:1000 -w /srv -h box --entrypoint /bin/sh -e X=1 --env-file " + envf + " -v " + dir + ":/data:ro,Z " +
		"--mount type=tmpfs,target=/scratch,tmpfs-size=1m --tmpfs /run/x:size=64k -m 64m --pids-limit 100 --cpus 1.5 " +
		"--ulimit nofile=1024:2048 --sysctl net.ipv4.ip_forward=1 --device /dev/null:/dev/mynull:rw img arg1 --not-a-flag"
	o := mustRun(t, line)
	want := &Options{
		Image: "img", Command: []string{"arg1", "--not-a-flag"},
		Name: "web", Rm: true, Detach: true, Interactive: true, TTY: true, Init: true,
		Privileged: true, CapAdd: []string{"sys_time", "CAP_NET_ADMIN", "net_raw"}, CapDrop: []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"}, ReadOnly: true,
		PID: "host", Network: "none", IPC: "private", UTS: "private", CgroupNS: "private",
		User: "1000:1000", Workdir: "/srv", Hostname: "box",
		Env: []string{"X=1"}, EnvFile: []string{envf},
		Volumes: []string{dir + ":/data:ro,Z"}, Mounts: []string{"type=tmpfs,target=/scratch,tmpfs-size=1m"}, Tmpfs: []string{"/run/x:size=64k"},
		Memory: "64m", PidsLimit: 100, CPUs: "1.5", Ulimits: []string{"nofile=1024:2048"},
		Sysctls: []string{"net.ipv4.ip_forward=1"}, Devices: []string{"/dev/null:/dev/mynull:rw"},
	}
	if o.Entrypoint == nil || *o.Entrypoint != "/bin/sh" {
		t.Fatalf("entrypoint = %v", o.Entrypoint)
	}
	got := *o
	got.Entrypoint, got.Parsed = nil, Parsed{}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, *want)
	}
	p := o.Parsed
	if !reflect.DeepEqual(p.Env, []string{"A=1", "B=two words", "X=1"}) {
		t.Errorf("env = %q", p.Env)
	}
	if p.Memory != 64<<20 || p.CPUQuota != 150000 || p.CPUPeriod != 100000 {
		t.Errorf("resources: %d %d %d", p.Memory, p.CPUQuota, p.CPUPeriod)
	}
	if len(p.Mounts) != 3 || p.Mounts[0].Relabel != "Z" || !reflect.DeepEqual(p.Mounts[0].Options, []string{"rbind", "rprivate", "ro"}) {
		t.Errorf("mounts = %+v", p.Mounts)
	}
	if p.NS.PID.Mode != "host" || p.NS.Net.Mode != "none" || p.NS.IPC.Mode != "private" {
		t.Errorf("ns = %+v", p.NS)
	}
	if !reflect.DeepEqual(p.Rlimits, []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}}) {
		t.Errorf("rlimits = %+v", p.Rlimits)
	}
	if p.Sysctls["net.ipv4.ip_forward"] != "1" || !p.Security.NoNewPrivileges {
		t.Errorf("sysctl/nnp: %+v", p)
	}
	if !reflect.DeepEqual(p.Devices, []DeviceRequest{{"/dev/null", "/dev/mynull", "rw"}}) {
		t.Errorf("devices = %+v", p.Devices)
	}
}

func TestParseRunArgsForms(t *testing.T) {
	o := mustRun(t, "run --network=host --entrypoint= img")
	if o.Network != "host" || o.Entrypoint == nil || *o.Entrypoint != "" || o.Parsed.Entrypoint == nil || len(o.Parsed.Entrypoint) != 0 {
		t.Errorf("--network=host / empty entrypoint: %+v", o)
	}
	if o := mustRun(t, "podman container create --net host img"); o.Network != "host" {
		t.Errorf("--net alias: %q", o.Network)
	}
	if o := mustRun(t, "run img"); o.Entrypoint != nil || o.Parsed.Entrypoint != nil {
		t.Error("entrypoint set without the flag")
	}
}

func TestParseRunArgsErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"run --cap-ad SYS_TIME img", "did you mean --cap-add"},
		{"run --privilegd img", "did you mean --privileged"},
		{"run --frobnicate img", "unknown flag: --frobnicate (see brig run --help"},
		{"run -Q img", "unknown shorthand flag"},
		{"run", "needs an image"},
		{"ps -a", `expected a "run" or "create"`},
		{"run --cap-add SYS_TYME img", `unknown capability "SYS_TYME"`},
		{"run --cap-drop bogus,chown img", `--cap-drop: unknown capability "bogus"`},
		{"run --pid hots img", `invalid --pid "hots"`},
		{"run --net bridge img", "bridge is not available yet"},
		{"run --net container: img", "needs a container name"},
		{"run --uts none img", `invalid --uts "none"`},
		{"run --security-opt label=bogus img", "bad label option"},
		{"run --security-opt label:colour:red img", `unknown key "colour"`},
		{"run --security-opt seccomp img", "invalid --security-opt"},
		{"run --security-opt seccomp=/nonexistent.json img", "seccomp profile /nonexistent.json"},
		{"run --security-opt no-new-privileges=maybe img", "takes true or false"},
		{"run --security-opt apparmor=docker-default img", "AppArmor"},
		{"run --security-opt frob=1 img", `unknown option "frob"`},
		{"run --name x img", "invalid container name"},
		{"run --name a/b img", "invalid container name"},
		{"run -w relative img", "absolute path"},
		{"run -h bad_host! img", "invalid hostname"},
		{"run -h h --uts host img", "conflicting options"},
		{"run -h h --net container:db img", "conflicting options"},
		{"run -u 1000: img", "invalid --user"},
		{"run -e =x img", "invalid variable name"},
		{"run --env-file /nonexistent img", "--env-file"},
		{"run -v /data img", "anonymous volumes"},
		{"run -v vol:/data img", "named volumes"},
		{"run -v /:/proc/x img", "not allowed"},
		{"run -v /:/ img", "cannot mount over /"},
		{"run -v /:/x:ro,rw img", "ro/rw given twice"},
		{"run -v /:/x:z,Z img", "cannot be combined"},
		{"run -v /:/x:exec img", `unknown option "exec"`},
		{"run -v /nonexistent-src:/x img", "bind source /nonexistent-src"},
		{"run -v /:/x -v /tmp:/x img", "duplicate mount point /x"},
		{"run --mount type=volume,target=/x img", "named volumes"},
		{"run --mount type=bind,target=/x img", "absolute source"},
		{"run --mount type=bind,source=/,target=/x,colour=red img", `unknown key "colour"`},
		{"run --mount source=/,target=/x img", "type is required"},
		{"run --mount type=tmpfs img", "target is required"},
		{"run --mount type=tmpfs,target=/x,tmpfs-mode=999 img", "invalid tmpfs-mode"},
		{"run --tmpfs /x:bogus img", `unknown tmpfs option "bogus"`},
		{"run --tmpfs rel img", "absolute"},
		{"run -m 1k img", "minimum is 6MB"},
		{"run -m lots img", "invalid --memory"},
		{"run --cpus 0 img", "invalid --cpus"},
		{"run --cpus 0.001 img", "0.01"},
		{"run --pids-limit -5 img", "invalid --pids-limit"},
		{"run --ulimit nofile img", "NAME=SOFT"},
		{"run --ulimit nofiles=1 img", `unknown limit "nofiles"`},
		{"run --ulimit nofile=10:5 img", "above hard limit"},
		{"run --sysctl kernel.panic=1 img", "not namespaced"},
		{"run --sysctl net.ipv4.ip_forward=1 --net host img", "cannot be set with --network=host"},
		{"run --sysctl kernel.shmmax=1 --ipc container:db img", "cannot be set with --ipc=container:db"},
		{"run --sysctl kernel.hostname=x --uts host img", "--uts=host"},
		{"run --device null img", "absolute"},
		{"run --device /dev/null:/dev/x:rwx img", "combination of r, w and m"},
		{"run --device /a:/b:/c:/d img", "HOST[:CONTAINER]"},
	}
	for _, tt := range tests {
		_, err := run(t, tt.line)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n  err = %v\n  want %q", tt.line, err, tt.want)
		}
	}
}

func TestParseSecurityOpts(t *testing.T) {
	tests := []struct {
		in   []string
		want Security
	}{
		{[]string{"label=type:docker_apache_t"}, Security{Label: label.Options{Type: "docker_apache_t"}, LabelOpts: []string{"type:docker_apache_t"}}},
		{[]string{"label:level:TopSecret"}, Security{Label: label.Options{Level: "TopSecret"}, LabelOpts: []string{"level:TopSecret"}}},
		{[]string{"label:type:svirt_t"}, Security{Label: label.Options{Type: "svirt_t"}, LabelOpts: []string{"type:svirt_t"}}},
		{[]string{"type:docker_apache_t"}, Security{Label: label.Options{Type: "docker_apache_t"}, LabelOpts: []string{"type:docker_apache_t"}}},
		{[]string{"label=level:s0:c100,c200", "label=user:u", "label=role:r"}, Security{Label: label.Options{Level: "s0:c100,c200", User: "u", Role: "r"}, LabelOpts: []string{"level:s0:c100,c200", "user:u", "role:r"}}},
		{[]string{"label=disable"}, Security{Label: label.Options{Disable: true}, LabelOpts: []string{"disable"}}},
		{[]string{"label=nested", "label=filetype:f_t"}, Security{Label: label.Options{Nested: true, FileType: "f_t"}, LabelOpts: []string{"nested", "filetype:f_t"}}},
		{[]string{"no-new-privileges"}, Security{NoNewPrivileges: true}},
		{[]string{"no-new-privileges=true", "no-new-privileges:false"}, Security{}},
		{[]string{"seccomp=unconfined"}, Security{Seccomp: "unconfined"}},
		{[]string{"seccomp:/p.json"}, Security{Seccomp: "/p.json"}},
		{[]string{"landlock=ro:/usr,rw:/tmp"}, Security{Landlock: "ro:/usr,rw:/tmp"}},
		{[]string{"apparmor=unconfined"}, Security{}},
	}
	for _, tt := range tests {
		got, err := ParseSecurityOpts(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseNSMode(t *testing.T) {
	ok := map[[2]string]NSMode{
		{"pid", ""}: {}, {"pid", "host"}: {Mode: "host"}, {"pid", "private"}: {Mode: "private"},
		{"network", "none"}: {Mode: "none"}, {"network", "default"}: {Mode: "private"},
		{"ipc", "shareable"}: {Mode: "private"}, {"ipc", "none"}: {Mode: "none"},
		{"uts", "container:web"}: {Mode: "container", Container: "web"},
		{"cgroupns", "host"}:     {Mode: "host"},
	}
	for in, want := range ok {
		got, err := ParseNSMode(in[0], in[1])
		if err != nil || got != want {
			t.Errorf("%v: %+v %v", in, got, err)
		}
	}
	for _, in := range [][2]string{{"pid", "none"}, {"cgroupns", "none"}, {"uts", "shareable"}, {"pid", "ns:/x"}} {
		if _, err := ParseNSMode(in[0], in[1]); err == nil {
			t.Errorf("%v accepted", in)
		}
	}
}

func TestParseTmpfs(t *testing.T) {
	m, err := ParseTmpfs("/x:size=64m,exec,mode=1777")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Options, []string{"nosuid", "nodev", "size=64m", "exec", "mode=1777"}) {
		t.Errorf("options = %q", m.Options)
	}
	m, _ = ParseTmpfs("/y")
	if !reflect.DeepEqual(m.Options, []string{"nosuid", "nodev", "noexec"}) || m.Type != "tmpfs" {
		t.Errorf("default = %+v", m)
	}
}

func TestParseMount(t *testing.T) {
	m, err := ParseMount(`type=bind,src=/,dst=/host,readonly,bind-propagation=rslave,relabel=shared`)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != "/" || m.Destination != "/host" || m.Relabel != "z" || !reflect.DeepEqual(m.Options, []string{"rbind", "rslave", "ro"}) {
		t.Errorf("bind = %+v", m)
	}
	m, err = ParseMount(`type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=700,ro=false`)
	if err != nil || !reflect.DeepEqual(m.Options, []string{"nosuid", "nodev", "noexec", "size=1048576", "mode=700"}) {
		t.Errorf("tmpfs = %+v %v", m, err)
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]int64{"1": 100000, "0.5": 50000, "0.01": 1000, "2.25": 225000} {
		if q, p, err := ParseCPUs(in); err != nil || q != want || p != 100000 {
			t.Errorf("ParseCPUs(%q) = %d %d %v", in, q, p, err)
		}
	}
	for _, in := range []string{"-1", "0", "abc", "0.009", "5000"} {
		if _, _, err := ParseCPUs(in); err == nil {
			t.Errorf("ParseCPUs(%q) accepted", in)
		}
	}
}

func TestParseUlimit(t *testing.T) {
	r, err := ParseUlimit("core=-1")
	if err != nil || r.Soft != math.MaxUint64 || r.Hard != math.MaxUint64 || r.Type != "RLIMIT_CORE" {
		t.Errorf("core=-1: %+v %v", r, err)
	}
	r, err = ParseUlimit("NPROC=10:unlimited")
	if err != nil || r.Soft != 10 || r.Hard != math.MaxUint64 {
		t.Errorf("nproc: %+v %v", r, err)
	}
	o := mustRun(t, "run --ulimit nofile=1 --ulimit nofile=2 img")
	if len(o.Parsed.Rlimits) != 1 || o.Parsed.Rlimits[0].Soft != 2 {
		t.Errorf("last --ulimit should win: %+v", o.Parsed.Rlimits)
	}
}

func TestParseEnvFile(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "HOSTVAR" {
			return "fromhost", true
		}
		return "", false
	}
	got, err := ParseEnvFile(strings.NewReader("\ufeffA=1\n  # c\nHOSTVAR\nUNSET\nB==x\n"), "f", lookup)
	if err != nil || !reflect.DeepEqual(got, []string{"A=1", "HOSTVAR=fromhost", "B==x"}) {
		t.Errorf("got %q %v", got, err)
	}
	_, err = ParseEnvFile(strings.NewReader("A=1\n\nbad key=1\n"), "f", lookup)
	if err == nil || !strings.Contains(err.Error(), "f:3:") {
		t.Errorf("want line 3 error, got %v", err)
	}
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]DeviceRequest{
		"/dev/sdc":                {"/dev/sdc", "/dev/sdc", "rwm"},
		"/dev/sdc:r":              {"/dev/sdc", "/dev/sdc", "r"},
		"/dev/sdc:/dev/xvdc":      {"/dev/sdc", "/dev/xvdc", "rwm"},
		"/dev/sdc:/dev/xvdc:rw":   {"/dev/sdc", "/dev/xvdc", "rw"},
		"/dev/sdc/:/dev/xvdc/:mr": {"/dev/sdc", "/dev/xvdc", "mr"},
	} {
		if got, err := ParseDevice(in); err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
}

func FuzzParseRunArgs(f *testing.F) {
	for _, s := range []string{
		"run img", "run --cap-add SYS_TIME img", "run --security-opt label:level:TopSecret img",
		"run -v /tmp:/x:ro,z img", "run --mount type=tmpfs,target=/t,tmpfs-size=1m img",
		"run --ulimit nofile=1:2 --sysctl net.core.somaxconn=1 img", "run --cpus 1.5 -m 1g img",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		o, err := ParseRunArgs(strings.Fields(line))
		if err == nil && o.Image == "" {
			t.Fatal("accepted without an image")
		}
	})
}

func FuzzParseEnvFile(f *testing.F) {
	f.Add("A=1\n# c\nB\n")
	f.Add("\ufeffX==y\n bad key=1\n")
	f.Fuzz(func(t *testing.T, s string) {
		env, err := ParseEnvFile(strings.NewReader(s), "f", func(string) (string, bool) { return "v", true })
		if err != nil {
			return
		}
		for _, kv := range env {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				t.Fatalf("bad entry %q", kv)
			}
		}
	})
}
