//go:build libseccomp && cgo && linux

package seccomp

// Glue to libseccomp for the differential test (libseccomp_test.go). The
// build tag keeps cgo out of every normal build.

/*
#cgo LDFLAGS: -lseccomp
#include <errno.h>
#include <stdlib.h>
#include <seccomp.h>

static int arch_x86_64(void)  { return SCMP_ARCH_X86_64; }
static int arch_x86(void)     { return SCMP_ARCH_X86; }
static int arch_x32(void)     { return SCMP_ARCH_X32; }
static int arch_aarch64(void) { return SCMP_ARCH_AARCH64; }
static int arch_arm(void)     { return SCMP_ARCH_ARM; }

static int rule_add(scmp_filter_ctx ctx, uint32_t act, int nr, unsigned int n,
		    unsigned int *idx, int *op, uint64_t *a, uint64_t *b) {
	struct scmp_arg_cmp c[6];
	for (unsigned int i = 0; i < n && i < 6; i++) {
		c[i].arg = idx[i];
		c[i].op = op[i];
		c[i].datum_a = a[i];
		c[i].datum_b = b[i];
	}
	return seccomp_rule_add_array(ctx, act, nr, n, c);
}
*/
import "C"

import (
	"fmt"
	"io"
	"os"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func scmpArch(a specs.Arch) C.uint32_t {
	switch a {
	case specs.ArchX86_64:
		return C.uint32_t(C.arch_x86_64())
	case specs.ArchX86:
		return C.uint32_t(C.arch_x86())
	case specs.ArchX32:
		return C.uint32_t(C.arch_x32())
	case specs.ArchAARCH64:
		return C.uint32_t(C.arch_aarch64())
	case specs.ArchARM:
		return C.uint32_t(C.arch_arm())
	}
	panic("arch " + a)
}

var scmpOps = map[specs.LinuxSeccompOperator]C.int{
	specs.OpNotEqual: C.SCMP_CMP_NE, specs.OpLessThan: C.SCMP_CMP_LT, specs.OpLessEqual: C.SCMP_CMP_LE,
	specs.OpEqualTo: C.SCMP_CMP_EQ, specs.OpGreaterEqual: C.SCMP_CMP_GE, specs.OpGreaterThan: C.SCMP_CMP_GT,
	specs.OpMaskedEqual: C.SCMP_CMP_MASKED_EQ,
}

// libResolve is seccomp_syscall_resolve_name_arch: a number, a negative
// pseudo number, or -1 (__NR_SCMP_ERROR).
func libResolve(a specs.Arch, name string) int {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return int(C.seccomp_syscall_resolve_name_arch(scmpArch(a), cs))
}

type libRule struct {
	name string
	act  uint32
	args []specs.LinuxSeccompArg
}

// libExport builds a filter the way runc does: native syscall numbers
// (libseccomp translates them per arch by name), unknown names ignored.
func libExport(def uint32, arches []specs.Arch, rules []libRule) ([]Instruction, error) {
	ctx := C.seccomp_init(C.uint32_t(def))
	if ctx == nil {
		return nil, fmt.Errorf("seccomp_init failed")
	}
	defer C.seccomp_release(ctx)
	for _, a := range arches {
		if rc := C.seccomp_arch_add(ctx, scmpArch(a)); rc != 0 && rc != -C.EEXIST {
			return nil, fmt.Errorf("seccomp_arch_add %s: %d", a, rc)
		}
	}
	for _, r := range rules {
		cs := C.CString(r.name)
		nr := C.seccomp_syscall_resolve_name(cs)
		C.free(unsafe.Pointer(cs))
		if nr == C.__NR_SCMP_ERROR {
			continue
		}
		var idx [6]C.uint
		var op [6]C.int
		var va, vb [6]C.uint64_t
		for i, a := range r.args {
			idx[i], op[i], va[i], vb[i] = C.uint(a.Index), scmpOps[a.Op], C.uint64_t(a.Value), C.uint64_t(a.ValueTwo)
		}
		if rc := C.rule_add(ctx, C.uint32_t(r.act), nr, C.uint(len(r.args)), &idx[0], &op[0], &va[0], &vb[0]); rc != 0 {
			return nil, fmt.Errorf("seccomp_rule_add %s %v: %d", r.name, r.args, rc)
		}
	}
	fd, err := unix.MemfdCreate("bpf", 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "bpf")
	defer f.Close()
	if rc := C.seccomp_export_bpf(ctx, C.int(fd)); rc != 0 {
		return nil, fmt.Errorf("seccomp_export_bpf: %d", rc)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	out := make([]Instruction, len(raw)/8)
	copy(out, unsafe.Slice((*Instruction)(unsafe.Pointer(&raw[0])), len(raw)/8))
	return out, nil
}
