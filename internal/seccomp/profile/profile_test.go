//go:build linux

package profile

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/caps"
	mseccomp "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func specWith(bounding []string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: bounding}}}
}

func names(cfg *specs.LinuxSeccomp) []string {
	var out []string
	for _, s := range cfg.Syscalls {
		out = append(out, s.Names...)
	}
	return out
}

// On this host, Resolve must agree with moby's own resolution.
func TestDefaultMatchesMoby(t *testing.T) {
	for _, set := range [][]string{caps.DockerDefault, nil, append(slices.Clone(caps.DockerDefault), "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_BPF")} {
		want, err := mseccomp.GetDefaultProfile(specWith(set))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DefaultFor(Options{Caps: set})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("caps %v: resolution differs from moby's GetDefaultProfile", set)
		}
	}
}

const custom = `{
	"defaultAction": "SCMP_ACT_ERRNO",
	"defaultErrnoRet": 1,
	"archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
	            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
	"syscalls": [
		{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
		{"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
		{"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_BPF", "CAP_SYS_ADMIN"]}},
		{"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
		{"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
		{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
		{"names": ["kexec_load"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.0"}},
		{"names": ["chown"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_CHOWN"], "arches": ["arm64"]}},
		{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}], "comment": "no namespaces"}
	]
}`

func TestLoadMatchesMoby(t *testing.T) {
	for _, set := range [][]string{nil, {"CAP_SYS_ADMIN"}, {"CAP_SYS_ADMIN", "CAP_BPF", "CAP_CHOWN"}} {
		want, err := mseccomp.LoadProfile(custom, specWith(set))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse([]byte(custom))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Resolve(p, Options{Caps: set})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("caps %v:\n got %v\nwant %v", set, names(got), names(want))
		}
	}
}

func TestResolveOptions(t *testing.T) {
	p, err := Parse([]byte(custom))
	if err != nil {
		t.Fatal(err)
	}
	has := func(o Options, name string) bool {
		t.Helper()
		cfg, err := Resolve(p, o)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(names(cfg), name)
	}
	cases := []struct {
		o    Options
		name string
		want bool
	}{
		{Options{Arch: "amd64", Kernel: "6.1"}, "mount", false},
		{Options{Arch: "amd64", Kernel: "6.1", Caps: []string{"sys_admin"}}, "mount", true},
		{Options{Arch: "amd64", Kernel: "6.1", Caps: []string{"CAP_SYS_ADMIN"}}, "bpf", false},
		{Options{Arch: "amd64", Kernel: "6.1", Caps: []string{"CAP_SYS_ADMIN", "bpf"}}, "bpf", true},
		{Options{Arch: "amd64", Kernel: "6.1"}, "arch_prctl", true},
		{Options{Arch: "arm64", Kernel: "6.1"}, "arch_prctl", false},
		{Options{Arch: "arm64", Kernel: "6.1"}, "set_tls", true},
		{Options{Arch: "amd64", Kernel: "4.4"}, "ptrace", false},
		{Options{Arch: "amd64", Kernel: "4.8.0-1-amd64"}, "ptrace", true},
		{Options{Arch: "amd64", Kernel: "4.19"}, "kexec_load", true},
		{Options{Arch: "amd64", Kernel: "5.0"}, "kexec_load", false},
		{Options{Arch: "amd64", Kernel: "6.1"}, "chown", true},
		{Options{Arch: "amd64", Kernel: "6.1", Caps: []string{"CHOWN"}}, "chown", false},
		{Options{Arch: "arm64", Kernel: "6.1"}, "chown", false},
	}
	for _, c := range cases {
		if got := has(c.o, c.name); got != c.want {
			t.Errorf("%+v: %s present = %v, want %v", c.o, c.name, got, c.want)
		}
	}
	cfg, err := Resolve(p, Options{Arch: "arm64", Kernel: "6.1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []specs.Arch{specs.ArchAARCH64, specs.ArchARM}; !slices.Equal(cfg.Architectures, want) {
		t.Errorf("arm64 architectures %v, want %v", cfg.Architectures, want)
	}
	if len(p.Syscalls[1].Names) != 0 {
		t.Error("Resolve modified the profile")
	}
}

func TestDefaultForOtherArch(t *testing.T) {
	cfg, err := DefaultFor(Options{Arch: "arm64", Kernel: "6.1", Caps: caps.DockerDefault})
	if err != nil {
		t.Fatal(err)
	}
	n := names(cfg)
	if !slices.Contains(n, "set_tls") || slices.Contains(n, "arch_prctl") {
		t.Errorf("arm64 default profile: set_tls %v, arch_prctl %v", slices.Contains(n, "set_tls"), slices.Contains(n, "arch_prctl"))
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		json string
		want string
	}{
		{"{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n    {\"names\": [\"read\"] \"action\": 1}\n  ]\n}", "line 4"},
		{"{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [{\"names\": \"read\"}]}", "line 2"},
		{`{"defaultActon": "SCMP_ACT_ERRNO"}`, `unknown field "defaultActon"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [null]}`, "syscalls[0] is null"},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "includes": {"minKernel": "four"}}]}`, "invalid kernel version"},
		{`{"defaultAction": "SCMP_ACT_ERRNO"} {}`, "unexpected data"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.json, err, c.want)
		}
	}

	resolveCases := []struct {
		json string
		o    Options
		want string
	}{
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}`, Options{}, "both 'name' and 'names'"},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`, Options{}, "both 'architectures' and 'archMap'"},
		{`{"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`, Options{}, "defaultAction is missing"},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}`, Options{}, `unknown action "SCMP_ACT_ALOW"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["raed"], "action": "SCMP_ACT_ALLOW"}]}`, Options{}, `unknown syscall "raed"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO"}`, Options{Arch: "vax"}, `unknown architecture "vax"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO"}`, Options{Kernel: "latest"}, `kernel version "latest"`},
		{`{"defaultAction": "SCMP_ACT_ERRNO"}`, Options{Caps: []string{"CAP_FLY"}}, "CAP_FLY"},
	}
	for _, c := range resolveCases {
		p, err := Parse([]byte(c.json))
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		_, err = Resolve(p, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.json, err, c.want)
		}
	}
	// An empty profile means "no seccomp", as in Docker.
	if cfg, err := Resolve(&Profile{}, Options{}); cfg != nil || err != nil {
		t.Errorf("empty profile: %v %v", cfg, err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	if err := os.WriteFile(path, []byte(custom), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := Resolve(p, Options{}); err != nil || cfg.DefaultAction != specs.ActErrno {
		t.Fatalf("%v %v", cfg, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}
