//go:build linux

package seccomp

import (
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// refEval decides a call directly from the config, following the package
// documentation step by step, without building BPF. The tests compare it
// with the compiled program on many inputs. cfg must be valid.
func refEval(cfg *specs.LinuxSeccomp, native int, in input) uint32 {
	def, _ := parseAction(cfg.DefaultAction, cfg.DefaultErrnoRet)
	arches := []int{native}
	for _, a := range cfg.Architectures {
		i, _ := archIndex(a)
		if !slices.Contains(arches, i) {
			arches = append(arches, i)
		}
	}
	listed := func(a int) bool { return slices.Contains(arches, a) }
	// runc's ENOSYS stub: on AUDIT_ARCH_X86_64, bit 30 picks x32.
	switch def & retActionMask {
	case retAllow, retLog, retTrace:
	default:
		stubArch := -1
		for _, a := range arches {
			if archInfos[a].audit == in.arch && (in.arch != auditArchX86_64 || (a == archX32) == (in.nr&x32Bit != 0)) {
				stubArch = a
			}
		}
		if stubArch >= 0 {
			_, names, _ := parseRules(cfg.Syscalls, def)
			if max := highestNamed(names, stubArch); max != 0 && in.nr > max {
				return retENOSYS
			}
		}
	}
	// libseccomp: x86_64 and x32 split at 0x40000000; nr -1 is x86_64.
	arch := -1
	for _, a := range arches {
		if archInfos[a].audit == in.arch {
			arch = a
		}
	}
	if in.arch == auditArchX86_64 {
		arch = archX86_64
		if in.nr >= x32Bit && in.nr != 0xffffffff || !listed(archX86_64) {
			arch = archX32
		}
		if in.nr >= x32Bit && in.nr != 0xffffffff && !listed(archX32) {
			return retBadArch
		}
		if in.nr < x32Bit && !listed(archX86_64) {
			return retBadArch
		}
		if in.nr == 0xffffffff && !listed(archX86_64) {
			arch = archX32
		}
	}
	if arch < 0 {
		return retBadArch
	}

	type rrule struct {
		act  uint32
		args []specs.LinuxSeccompArg
	}
	var rules []rrule
	for _, c := range cfg.Syscalls {
		act, _ := parseAction(c.Action, c.ErrnoRet)
		if act == def {
			continue
		}
		var split []([]specs.LinuxSeccompArg)
		seen := map[uint]bool{}
		dup := false
		for _, a := range c.Args {
			dup = dup || seen[a.Index]
			seen[a.Index] = true
		}
		if dup {
			for _, a := range c.Args {
				split = append(split, []specs.LinuxSeccompArg{a})
			}
		} else {
			split = append(split, c.Args)
		}
		for _, n := range c.Names {
			for _, args := range split {
				if arch == archX86 {
					if mux, call, ok := x86Mux(n); ok {
						if nr, _ := lookup(arch, mux); nr == in.nr {
							m := []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: uint64(call)}}
							for _, a := range args {
								if a.Index != 0 {
									m = append(m, a)
								}
							}
							rules = append(rules, rrule{act, m})
						}
					}
				}
				if nr, ok := lookup(arch, n); ok && nr == in.nr {
					rules = append(rules, rrule{act, args})
				}
			}
		}
	}
	narrow := archInfos[arch].narrow
	uncond := func(args []specs.LinuxSeccompArg) bool {
		for _, a := range args {
			if a.Op != specs.OpMaskedEqual {
				return false
			}
			if m := a.Value; m != 0 && !(narrow && uint32(m) == 0) {
				return false
			}
		}
		return true
	}
	for _, r := range rules {
		if uncond(r.args) {
			return r.act
		}
	}
	best, found := def, false
	for _, r := range rules {
		ok := true
		for _, a := range r.args {
			ok = ok && refCmp(a, in.args[a.Index], narrow)
		}
		if ok && (!found || int32(r.act&retActionMask) < int32(best&retActionMask)) {
			best, found = r.act, true
		}
	}
	return best
}

func refCmp(a specs.LinuxSeccompArg, v uint64, narrow bool) bool {
	d := a.Value
	if narrow {
		v, d = uint64(uint32(v)), uint64(uint32(d))
	}
	switch a.Op {
	case specs.OpEqualTo:
		return v == d
	case specs.OpNotEqual:
		return v != d
	case specs.OpLessThan:
		return v < d
	case specs.OpLessEqual:
		return v <= d
	case specs.OpGreaterThan:
		return v > d
	case specs.OpGreaterEqual:
		return v >= d
	case specs.OpMaskedEqual:
		return v&d == a.ValueTwo&d
	}
	panic("bad op " + a.Op)
}
