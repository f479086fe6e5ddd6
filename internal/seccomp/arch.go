package seccomp

import (
	"sort"

	"github.com/opencontainers/runtime-spec/specs-go"
)

//go:generate go run mktables.go

// Architecture indexes; the order is the column order of sysTable.
const (
	archX86_64 = iota
	archX86
	archX32
	archAARCH64
	archARM
	numArches
)

// AUDIT_ARCH_* values (linux/audit.h): what seccomp_data.arch holds.
const (
	auditArchX86_64  = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAARCH64 = 0xc00000b7
	auditArchARM     = 0x40000028
)

// x32Bit marks x32 syscall numbers (__X32_SYSCALL_BIT).
const x32Bit = 0x40000000

type archInfo struct {
	spec  specs.Arch
	audit uint32
	// narrow archs compare only the low 32 bits of arguments, as
	// libseccomp does for its ARCH_SIZE_32 architectures (x86, x32, arm).
	narrow bool
}

var archInfos = [numArches]archInfo{
	archX86_64:  {specs.ArchX86_64, auditArchX86_64, false},
	archX86:     {specs.ArchX86, auditArchI386, true},
	archX32:     {specs.ArchX32, auditArchX86_64, true},
	archAARCH64: {specs.ArchAARCH64, auditArchAARCH64, false},
	archARM:     {specs.ArchARM, auditArchARM, true},
}

// knownArchs are the OCI architecture names, so an unsupported but real
// architecture gets a different error than a typo.
var knownArchs = []specs.Arch{
	specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
	specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL,
	specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64,
	specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC,
	specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64,
}

type sysEntry struct {
	name string
	nr   [numArches]int32
}

func archIndex(a specs.Arch) (int, bool) {
	for i, ai := range archInfos {
		if ai.spec == a {
			return i, true
		}
	}
	return 0, false
}

// findSys returns the table entry for a syscall name.
func findSys(name string) (*sysEntry, bool) {
	lo, hi := 0, len(sysTable)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sysTable[m].name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(sysTable) && sysTable[lo].name == name {
		return &sysTable[lo], true
	}
	return nil, false
}

// SyscallNumber resolves a syscall name for an OCI architecture, with the
// x32 bit set for SCMP_ARCH_X32. ok is false when the architecture is not
// supported or lacks the syscall.
func SyscallNumber(arch specs.Arch, name string) (nr uint32, ok bool) {
	a, ok := archIndex(arch)
	if !ok {
		return 0, false
	}
	return lookup(a, name)
}

func lookup(arch int, name string) (uint32, bool) {
	e, ok := findSys(name)
	if !ok || e.nr[arch] < 0 {
		return 0, false
	}
	nr := uint32(e.nr[arch])
	if arch == archX32 {
		nr |= x32Bit
	}
	return nr, true
}

// knownElsewhere reports whether name is a syscall on some Linux
// architecture this package has no table for.
func knownElsewhere(name string) bool {
	i := sort.SearchStrings(otherArchNames[:], name)
	return i < len(otherArchNames) && otherArchNames[i] == name
}
