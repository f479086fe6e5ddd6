//go:build linux

package seccomp

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzCompile feeds arbitrary configs (as runtime-spec JSON) to the
// compiler: it must not panic, and every program it returns must pass
// verify, run without error and agree with refEval.
func FuzzCompile(f *testing.F) {
	docker, err := json.Marshal(dockerDefault(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(docker, uint64(1))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"],"syscalls":[{"names":["socket","ipc"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":0,"value":40,"op":"SCMP_CMP_EQ"},{"index":0,"value":41,"op":"SCMP_CMP_EQ"}]}]}`), uint64(2))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_KILL_PROCESS","architectures":["SCMP_ARCH_AARCH64","SCMP_ARCH_ARM"],"syscalls":[{"names":["openat","set_tls"],"action":"SCMP_ACT_TRACE","args":[{"index":5,"value":18446744073709551615,"valueTwo":3,"op":"SCMP_CMP_MASKED_EQ"},{"index":1,"value":4294967296,"op":"SCMP_CMP_LE"}]}]}`), uint64(3))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_LOG","flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_KILL","args":[{"index":7,"op":"SCMP_CMP_GT"}]}]}`), uint64(4))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var cfg specs.LinuxSeccomp
		if json.Unmarshal(data, &cfg) != nil {
			return
		}
		p, err := compile(&cfg, archX86_64)
		if err != nil {
			return
		}
		if err := verify(p.Filter); err != nil {
			t.Fatalf("invalid program: %v", err)
		}
		r := rand.New(rand.NewPCG(seed, 3))
		audits := []uint32{auditArchX86_64, auditArchI386, auditArchAARCH64, auditArchARM, 0}
		for range 200 {
			in := input{arch: audits[r.IntN(len(audits))], nr: uint32(r.IntN(500))}
			if r.IntN(3) == 0 {
				in.nr = r.Uint32()
			} else if r.IntN(2) == 0 {
				in.nr |= x32Bit
			}
			for i := range in.args {
				if len(cfg.Syscalls) > 0 && r.IntN(2) == 0 {
					s := cfg.Syscalls[r.IntN(len(cfg.Syscalls))]
					if len(s.Args) > 0 {
						a := s.Args[r.IntN(len(s.Args))]
						in.args[i] = a.Value + uint64(r.IntN(3)) - 1
						continue
					}
				}
				in.args[i] = r.Uint64() >> r.IntN(64)
			}
			got, err := run(p.Filter, in)
			if err != nil {
				t.Fatalf("%v: %v", in, err)
			}
			if want := refEval(&cfg, archX86_64, in); got != want {
				t.Fatalf("%v: program %#x, refEval %#x", in, got, want)
			}
		}
	})
}
