//go:build linux

package seccomp

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brigrt/brig/internal/caps"
	mobyseccomp "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func uintp(v uint) *uint { return &v }

// dockerDefault is Docker's default profile resolved for its 14 default
// capabilities on this host.
func dockerDefault(t testing.TB) *specs.LinuxSeccomp {
	t.Helper()
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps.DockerDefault}}}
	p, err := mobyseccomp.GetDefaultProfile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustCompile(t testing.TB, cfg *specs.LinuxSeccomp) *Program {
	t.Helper()
	p, err := compile(cfg, archX86_64)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

func nr(t testing.TB, arch int, name string) uint32 {
	t.Helper()
	n, ok := lookup(arch, name)
	if !ok {
		t.Fatalf("no %s on arch %d", name, arch)
	}
	return n
}

func check(t *testing.T, p *Program, in input, want uint32) {
	t.Helper()
	got, err := run(p.Filter, in)
	if err != nil {
		t.Fatalf("%v: %v", in, err)
	}
	if got != want {
		t.Errorf("%v: got %#x, want %#x", in, got, want)
	}
}

const (
	retEPERM = retErrno | uint32(unix.EPERM)
	x86_64   = auditArchX86_64
	i386     = auditArchI386
)

func TestDockerDefault(t *testing.T) {
	cfg := dockerDefault(t)
	p := mustCompile(t, cfg)
	t.Logf("docker default: %d rules, %d instructions", len(cfg.Syscalls), len(p.Filter))
	if len(p.Filter) > 1056 {
		t.Errorf("%d instructions: longer than libseccomp's", len(p.Filter))
	}
	a := func(name string) uint32 { return nr(t, archX86_64, name) }
	cases := []struct {
		in   input
		want uint32
	}{
		{input{nr: a("read"), arch: x86_64}, retAllow},
		{input{nr: a("keyctl"), arch: x86_64}, retEPERM},
		{input{nr: a("unshare"), arch: x86_64}, retEPERM},
		{input{nr: a("mount"), arch: x86_64}, retEPERM},
		{input{nr: a("kexec_load"), arch: x86_64}, retEPERM},
		// clone3 has its own rule: ENOSYS so glibc falls back to clone.
		{input{nr: a("clone3"), arch: x86_64}, retENOSYS},
		// clone without namespace flags is fine, with CLONE_NEWUSER not.
		{input{nr: a("clone"), arch: x86_64, args: [6]uint64{uint64(unix.SIGCHLD)}}, retAllow},
		{input{nr: a("clone"), arch: x86_64, args: [6]uint64{unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)}}, retEPERM},
		{input{nr: a("clone"), arch: x86_64, args: [6]uint64{1<<32 | uint64(unix.SIGCHLD)}}, retAllow},
		// personality: only listed personas.
		{input{nr: a("personality"), arch: x86_64, args: [6]uint64{0}}, retAllow},
		{input{nr: a("personality"), arch: x86_64, args: [6]uint64{0xffffffff}}, retAllow},
		{input{nr: a("personality"), arch: x86_64, args: [6]uint64{0x0008}}, retAllow},
		{input{nr: a("personality"), arch: x86_64, args: [6]uint64{0x0400000}}, retEPERM},
		{input{nr: a("personality"), arch: x86_64, args: [6]uint64{1 << 32}}, retEPERM},
		// numbers above everything the profile names: ENOSYS.
		{input{nr: 1000, arch: x86_64}, retENOSYS},
		{input{nr: x32Bit - 1, arch: x86_64}, retENOSYS},
		// x32
		{input{nr: nr(t, archX32, "read"), arch: x86_64}, retAllow},
		{input{nr: nr(t, archX32, "keyctl"), arch: x86_64}, retEPERM},
		{input{nr: x32Bit | 1000, arch: x86_64}, retENOSYS},
		{input{nr: 0xffffffff, arch: x86_64}, retENOSYS},
		// i386, including the socketcall multiplexer.
		{input{nr: nr(t, archX86, "read"), arch: i386}, retAllow},
		{input{nr: nr(t, archX86, "socketcall"), arch: i386, args: [6]uint64{1}}, retAllow},
		{input{nr: nr(t, archX86, "keyctl"), arch: i386}, retEPERM},
		{input{nr: 1000, arch: i386}, retENOSYS},
		// foreign architecture
		{input{nr: 0, arch: auditArchAARCH64}, retBadArch},
		{input{nr: 63, arch: 0x12345678}, retBadArch},
	}
	for _, c := range cases {
		check(t, p, c.in, c.want)
	}
}

func TestArgs64(t *testing.T) {
	ops := []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan,
		specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}
	vals := []uint64{0, 1, 0xffffffff, 1 << 32, 1<<32 | 1, 1<<32 - 1, 0xffffffff00000000, ^uint64(0), 0x1234_5678_9abc_def0}
	for _, op := range ops {
		for _, d := range vals {
			cfg := &specs.LinuxSeccomp{
				DefaultAction: specs.ActErrno,
				Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
				Syscalls: []specs.LinuxSyscall{{
					Names: []string{"write"}, Action: specs.ActAllow,
					Args: []specs.LinuxSeccompArg{{Index: 2, Value: d, ValueTwo: d >> 3, Op: op}},
				}},
			}
			p := mustCompile(t, cfg)
			for _, v := range append(vals, d, d+1, d-1, d^1<<32, d>>3) {
				for _, arch := range []int{archX86_64, archX86} {
					in := input{nr: nr(t, arch, "write"), arch: archInfos[arch].audit, args: [6]uint64{2: v}}
					want := refEval(cfg, archX86_64, in)
					got, err := run(p.Filter, in)
					if err != nil || got != want {
						t.Fatalf("%s %#x (two %#x) on %v: got %#x %v, want %#x", op, d, d>>3, in, got, err, want)
					}
				}
			}
		}
	}
	// Spot checks that do not trust refEval.
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{
		Names: []string{"write"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1 << 32, Op: specs.OpGreaterThan}},
	}}}
	p := mustCompile(t, cfg)
	w := nr(t, archX86_64, "write")
	check(t, p, input{nr: w, arch: x86_64, args: [6]uint64{0xffffffff}}, retEPERM)
	check(t, p, input{nr: w, arch: x86_64, args: [6]uint64{1 << 32}}, retEPERM)
	check(t, p, input{nr: w, arch: x86_64, args: [6]uint64{1<<32 | 1}}, retAllow)
	check(t, p, input{nr: w, arch: x86_64, args: [6]uint64{2 << 32}}, retAllow)
}

func TestMaskedEqual(t *testing.T) {
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
		Names: []string{"unshare"}, Action: specs.ActErrno, ErrnoRet: uintp(uint(unix.EACCES)),
		Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.CLONE_NEWUSER | 1<<40, ValueTwo: unix.CLONE_NEWUSER, Op: specs.OpMaskedEqual}},
	}}}
	p := mustCompile(t, cfg)
	u := nr(t, archX86_64, "unshare")
	eacces := retErrno | uint32(unix.EACCES)
	check(t, p, input{nr: u, arch: x86_64, args: [6]uint64{unix.CLONE_NEWUSER}}, eacces)
	check(t, p, input{nr: u, arch: x86_64, args: [6]uint64{unix.CLONE_NEWUSER | unix.CLONE_NEWNS}}, eacces)
	check(t, p, input{nr: u, arch: x86_64, args: [6]uint64{unix.CLONE_NEWUSER | 1<<40}}, retAllow)
	check(t, p, input{nr: u, arch: x86_64, args: [6]uint64{unix.CLONE_NEWNS}}, retAllow)
	// Default ALLOW: no ENOSYS stub.
	check(t, p, input{nr: 1000, arch: x86_64}, retAllow)
}

func TestRuleSemantics(t *testing.T) {
	w := nr(t, archX86_64, "write")
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Syscalls: []specs.LinuxSyscall{
		// Same index twice: ORed (runc's convention).
		{Names: []string{"write"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
			{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 0, Value: 2, Op: specs.OpEqualTo}}},
		// Distinct indexes: ANDed.
		{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
			{Index: 0, Value: 0, Op: specs.OpEqualTo}, {Index: 2, Value: 100, Op: specs.OpLessEqual}}},
		// Conflicting conditional rules: the stricter action wins.
		{Names: []string{"close"}, Action: specs.ActLog, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 10, Op: specs.OpGreaterThan}}},
		{Names: []string{"close"}, Action: specs.ActErrno, ErrnoRet: uintp(7), Args: []specs.LinuxSeccompArg{{Index: 0, Value: 20, Op: specs.OpGreaterThan}}},
		// An unconditional rule overrides conditional ones.
		{Names: []string{"dup"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 3, Op: specs.OpEqualTo}}},
		{Names: []string{"dup"}, Action: specs.ActTrap},
		{Names: []string{"dup"}, Action: specs.ActAllow},
		// A rule equal to the default is dropped.
		{Names: []string{"getpid"}, Action: specs.ActKillProcess},
		{Names: []string{"getpid"}, Action: specs.ActTrace},
	}}
	p := mustCompile(t, cfg)
	a := func(name string) uint32 { return nr(t, archX86_64, name) }
	check(t, p, input{nr: w, arch: x86_64, args: [6]uint64{1}}, retAllow)
	check(t, p, input{nr: w, arch: x86_64, args: [6]uint64{2}}, retAllow)
	check(t, p, input{nr: w, arch: x86_64, args: [6]uint64{3}}, retKillProcess)
	check(t, p, input{nr: a("read"), arch: x86_64, args: [6]uint64{0, 0, 100}}, retAllow)
	check(t, p, input{nr: a("read"), arch: x86_64, args: [6]uint64{0, 0, 101}}, retKillProcess)
	check(t, p, input{nr: a("read"), arch: x86_64, args: [6]uint64{1, 0, 100}}, retKillProcess)
	check(t, p, input{nr: a("close"), arch: x86_64, args: [6]uint64{5}}, retKillProcess)
	check(t, p, input{nr: a("close"), arch: x86_64, args: [6]uint64{15}}, retLog)
	check(t, p, input{nr: a("close"), arch: x86_64, args: [6]uint64{25}}, retErrno|7)
	check(t, p, input{nr: a("dup"), arch: x86_64, args: [6]uint64{3}}, retTrap)
	check(t, p, input{nr: a("getpid"), arch: x86_64}, retTrace|uint32(unix.EPERM))
	// Kill-type default: numbers past the highest named get ENOSYS.
	check(t, p, input{nr: a("getpid") + 1, arch: x86_64}, retENOSYS)
	// Only x86_64 listed (implicitly): x32 numbers are a bad arch.
	check(t, p, input{nr: x32Bit, arch: x86_64}, retBadArch)
}

func TestDefaultErrnoRet(t *testing.T) {
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(uint(unix.ENOSYS)),
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}}}
	p := mustCompile(t, cfg)
	check(t, p, input{nr: 1, arch: x86_64}, retENOSYS)
	check(t, p, input{nr: 0, arch: x86_64}, retAllow)
}

func TestX86Socketcall(t *testing.T) {
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"socket"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.AF_VSOCK, Op: specs.OpEqualTo}}}}}
	p := mustCompile(t, cfg)
	sc := nr(t, archX86, "socketcall")
	// Like libseccomp, the socketcall rule tests the call number in place
	// of the first argument (the real one sits behind a pointer).
	check(t, p, input{nr: sc, arch: i386, args: [6]uint64{1}}, retEPERM)
	check(t, p, input{nr: sc, arch: i386, args: [6]uint64{2}}, retAllow)
	check(t, p, input{nr: nr(t, archX86, "socket"), arch: i386, args: [6]uint64{unix.AF_VSOCK}}, retEPERM)
	check(t, p, input{nr: nr(t, archX86, "socket"), arch: i386, args: [6]uint64{unix.AF_INET}}, retAllow)
	// The native arch is always filtered too.
	check(t, p, input{nr: nr(t, archX86_64, "socket"), arch: x86_64, args: [6]uint64{unix.AF_VSOCK}}, retEPERM)
	check(t, p, input{nr: nr(t, archX86_64, "socket"), arch: x86_64, args: [6]uint64{unix.AF_INET}}, retAllow)
}

func TestLongFilterTrampolines(t *testing.T) {
	// Hundreds of conditional syscalls push jumps far past 255.
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}}
	var names []string
	for _, e := range sysTable {
		if e.nr[archX86_64] >= 0 && len(names) < 80 {
			names = append(names, e.name)
		}
	}
	for i, n := range names {
		cfg.Syscalls = append(cfg.Syscalls, specs.LinuxSyscall{Names: []string{n}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: uint(i % 6), Value: uint64(i), Op: specs.OpGreaterEqual},
				{Index: uint(i+1) % 6, Value: uint64(i) << 33, Op: specs.OpNotEqual}}})
	}
	p := mustCompile(t, cfg)
	long := 0
	for _, in := range p.Filter {
		if in.Code == opJa {
			long++
		}
	}
	t.Logf("%d instructions, %d trampolines", len(p.Filter), long)
	if long == 0 {
		t.Fatal("expected trampolines")
	}
	compareRef(t, cfg, p, 20000, 1)
}

// compareRef runs the program and refEval on n random inputs biased
// towards the profile's syscalls and argument values.
func compareRef(t *testing.T, cfg *specs.LinuxSeccomp, p *Program, n int, seed uint64) {
	t.Helper()
	compareRefNative(t, cfg, p, n, seed, archX86_64)
}

func compareRefNative(t *testing.T, cfg *specs.LinuxSeccomp, p *Program, n int, seed uint64, native int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var vals []uint64
	for _, s := range cfg.Syscalls {
		for _, a := range s.Args {
			vals = append(vals, a.Value, a.Value+1, a.Value-1, a.ValueTwo, a.ValueTwo|^a.Value)
		}
	}
	vals = append(vals, 0, 1, ^uint64(0), 1<<32, 0xffffffff)
	audits := []uint32{x86_64, i386, auditArchAARCH64, auditArchARM, 0}
	for range n {
		in := input{arch: audits[r.IntN(len(audits))]}
		switch r.IntN(4) {
		case 0:
			in.nr = r.Uint32()
		case 1:
			in.nr = uint32(r.IntN(480))
		default:
			in.nr = uint32(r.IntN(480)) | x32Bit*uint32(r.IntN(2))
		}
		for i := range in.args {
			if r.IntN(4) == 0 {
				in.args[i] = r.Uint64()
			} else if len(vals) > 0 {
				in.args[i] = vals[r.IntN(len(vals))]
			}
		}
		got, err := run(p.Filter, in)
		want := refEval(cfg, native, in)
		if err != nil || got != want {
			t.Fatalf("%v: got %#x %v, want %#x", in, got, err, want)
		}
	}
}

// An arm64 host: aarch64 native, arm listed, x86_64 not filtered at all.
func TestDockerDefaultOnARM64(t *testing.T) {
	cfg := dockerDefault(t)
	cfg.Architectures = []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	cfg.Syscalls = append(cfg.Syscalls, specs.LinuxSyscall{Names: []string{"set_tls", "cacheflush", "breakpoint"}, Action: specs.ActAllow})
	p, err := compile(cfg, archAARCH64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions", len(p.Filter))
	check(t, p, input{nr: nr(t, archAARCH64, "openat"), arch: auditArchAARCH64}, retAllow)
	check(t, p, input{nr: nr(t, archARM, "set_tls"), arch: auditArchARM}, retAllow)
	check(t, p, input{nr: nr(t, archARM, "set_tls") + 100, arch: auditArchARM}, retENOSYS)
	check(t, p, input{nr: 0, arch: x86_64}, retBadArch)
	compareRefNative(t, cfg, p, 10000, 9, archAARCH64)
}

func TestDockerDefaultMatchesRef(t *testing.T) {
	cfg := dockerDefault(t)
	compareRef(t, cfg, mustCompile(t, cfg), 10000, 2)
}

func TestValidation(t *testing.T) {
	ok := specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow}
	cases := []struct {
		cfg  specs.LinuxSeccomp
		want string
	}{
		{specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}, `defaultAction: unknown action "SCMP_ACT_BOGUS"`},
		{specs.LinuxSeccomp{}, "defaultAction: missing action"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/run/agent.sock"}, "SCMP_ACT_NOTIFY cannot be the default action"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uintp(5000)}, "errnoRet 5000 out of range"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}, `unknown architecture "SCMP_ARCH_Z80"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchS390X}}, `architecture "SCMP_ARCH_S390X" is not supported`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_BOGUS"}}, `unknown flag "SECCOMP_FILTER_FLAG_BOGUS"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}}, "needs SCMP_ACT_NOTIFY"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, ListenerPath: "/run/agent.sock"}, "listenerPath is set but no rule uses SCMP_ACT_NOTIFY"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, ListenerPath: "/run/agent.sock", Syscalls: []specs.LinuxSyscall{{Names: []string{"sendmsg"}, Action: specs.ActNotify}}}, "cannot be used for sendmsg"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, ListenerPath: "/run/agent.sock", Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActNotify}}}, "TSYNC cannot be combined"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{ok, {Action: specs.ActAllow}}}, "syscalls[1]: names is empty"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{""}, Action: specs.ActAllow}}}, "syscalls[0]: empty syscall name"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "raed"}, Action: specs.ActAllow}}}, `syscalls[0]: unknown syscall "raed"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: "ALLOW"}}}, `syscalls[0]: unknown action "ALLOW"`},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActNotify}}}, "SCMP_ACT_NOTIFY needs listenerPath"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "syscalls[0].args[0]: index 6 out of range"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo}, {Index: 1, Op: "SCMP_CMP_FOO"}}}}}, `syscalls[0].args[1]: unknown operator "SCMP_CMP_FOO"`},
	}
	for _, c := range cases {
		_, err := compile(&c.cfg, archX86_64)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want error containing %q", c.cfg, err, c.want)
		}
	}
	if _, err := compile(nil, archX86_64); err == nil {
		t.Error("nil config accepted")
	}
	// A syscall of another architecture is skipped, not an error.
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"s390_runtime_instr", "riscv_flush_icache"}, Action: specs.ActAllow}}}
	if _, err := compile(cfg, archX86_64); err != nil {
		t.Errorf("other-arch syscall: %v", err)
	}
}

func TestFlags(t *testing.T) {
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{
		"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}}
	p := mustCompile(t, cfg)
	if p.Flags != flagTSync|flagLog|flagSpecAllow {
		t.Errorf("flags %#x", p.Flags)
	}
}

func TestSyscallNumber(t *testing.T) {
	for _, c := range []struct {
		arch specs.Arch
		name string
		nr   uint32
	}{
		{specs.ArchX86_64, "clone3", 435}, {specs.ArchX86, "socketcall", 102},
		{specs.ArchX32, "read", x32Bit}, {specs.ArchX32, "rt_sigaction", x32Bit | 512},
		{specs.ArchAARCH64, "openat", 56}, {specs.ArchARM, "set_tls", 0xf0005},
	} {
		if got, ok := SyscallNumber(c.arch, c.name); !ok || got != c.nr {
			t.Errorf("%s/%s: %d %v, want %d", c.arch, c.name, got, ok, c.nr)
		}
	}
	if _, ok := SyscallNumber(specs.ArchAARCH64, "open"); ok {
		t.Error("aarch64 has no open(2)")
	}
}

// BenchmarkCompileDefault compiles Docker's default profile, as every
// container start does. cpu-ns/op (process CPU time, GC included) is
// reported too because wall time is noisy on a shared machine.
func BenchmarkCompileDefault(b *testing.B) {
	cfg := dockerDefault(b)
	var p *Program
	cpu := func() time.Duration {
		var ru unix.Rusage
		if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	for b.Loop() {
		var err error
		if p, err = Compile(cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(p.Filter)), "insns")
}

func TestCodeSize(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	ops := []specs.LinuxSeccompOperator{specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
		specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual}
	acts := []uint32{retAllow, retErrno | 1, retErrno | 2, retKillProcess, retLog}
	for range 2000 {
		narrow := r.IntN(2) == 0
		var l leaf
		for range 1 + r.IntN(8) {
			var conds []cond
			for arg := range maxArgs {
				if r.IntN(3) != 0 {
					continue
				}
				op := ops[r.IntN(len(ops))]
				if r.IntN(2) == 0 {
					op = specs.OpEqualTo
				}
				c := cond{arg: arg, op: op, val: uint64(r.IntN(3)) << (32 * r.IntN(2)), narrow: narrow}
				if op == specs.OpMaskedEqual {
					c.mask = uint64(r.IntN(3)+1) << (32 * r.IntN(2))
				}
				conds = append(conds, c)
			}
			if len(conds) > 0 {
				l.rules = append(l.rules, rule{acts[r.IntN(len(acts))], conds})
			}
		}
		var a asm
		emitLeaf(&a, l)
		if got, want := l.codeSize(), len(a.insns); got != want {
			t.Fatalf("codeSize %d, emitted %d for %+v", got, want, l.rules)
		}
	}
}

// TestNotify: NOTIFY rules compile to SECCOMP_RET_USER_NOTIF and ask for
// a listener (with WAIT_KILLABLE_RECV when the config says so).
func TestNotify(t *testing.T) {
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock",
		Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getppid", "mkdir"}, Action: specs.ActNotify},
			{Names: []string{"rmdir"}, Action: specs.ActErrno},
		},
	}
	p, err := compile(cfg, archX86_64)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Notifies() || p.Flags != flagNewListener|flagWaitKillableRecv {
		t.Fatalf("flags %#x, want NEW_LISTENER|WAIT_KILLABLE_RECV", p.Flags)
	}
	vm := func(nr uint32) uint32 {
		got, err := run(p.Filter, input{nr: nr, arch: archInfos[archX86_64].audit})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, nr := range []uint32{110, 83} { // getppid, mkdir
		if got := vm(nr); got != retUserNotif {
			t.Errorf("syscall %d: %#x, want USER_NOTIF", nr, got)
		}
	}
	if got := vm(84); got != retErrno|errnoEPERM { // rmdir
		t.Errorf("rmdir: %#x, want ERRNO(EPERM)", got)
	}
	if got := vm(0); got != retAllow { // read
		t.Errorf("read: %#x, want ALLOW", got)
	}
	plain, err := compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}, archX86_64)
	if err != nil || plain.Notifies() {
		t.Fatalf("a filter without NOTIFY rules asks for a listener: %v", err)
	}
}

func TestLoadRejectsBadPrograms(t *testing.T) {
	if _, err := Load(nil); err == nil {
		t.Error("nil program accepted")
	}
	if _, err := Load(&Program{Filter: make([]Instruction, maxInsns+1)}); err == nil || !strings.Contains(err.Error(), "4097") {
		t.Errorf("oversized program: %v", err)
	}
}

func TestBytesRoundTrip(t *testing.T) {
	p, err := Compile(dockerDefault(t))
	if err != nil {
		t.Fatal(err)
	}
	b := p.Bytes()
	if len(b) != 8*len(p.Filter) {
		t.Fatalf("%d bytes for %d instructions", len(b), len(p.Filter))
	}
	q, err := FromBytes(b, p.Flags)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatal("program changed on its way through Bytes and FromBytes")
	}
	for _, bad := range [][]byte{nil, b[:len(b)-3], b[:8]} {
		if _, err := FromBytes(bad, 0); err == nil {
			t.Errorf("FromBytes accepted %d bytes it should refuse", len(bad))
		}
	}
}
