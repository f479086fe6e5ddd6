package cgroup

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// On cgroup v2 device access is decided by an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. The program is tiny
// and fixed in shape, so it is assembled here by hand rather than through
// cilium/ebpf (which would weigh on every runtime start).

// insn is struct bpf_insn.
type insn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high one
	off  int16
	imm  int32
}

const (
	ldxW    = 0x61 // BPF_LDX|BPF_MEM|BPF_W
	and64K  = 0x57
	rsh64K  = 0x77
	mov64X  = 0xbf
	mov64K  = 0xb7
	jneK    = 0x55
	exitOp  = 0x95
	devBlk  = 1 // BPF_DEVCG_DEV_BLOCK
	devChr  = 2 // BPF_DEVCG_DEV_CHAR
	accMk   = 1 // BPF_DEVCG_ACC_MKNOD
	accRead = 2
	accWrt  = 4
)

func regs(dst, src uint8) uint8 { return dst | src<<4 }

// deviceProgram compiles rules (last match wins, as with the v1 files)
// into a program that returns 1 to allow and 0 to deny; no match denies.
func deviceProgram(rules []specs.LinuxDeviceCgroup) ([]insn, error) {
	// r1 = ctx: u32 access_type (access<<16 | type), u32 major, u32 minor.
	p := []insn{
		{ldxW, regs(2, 1), 0, 0}, {and64K, regs(2, 0), 0, 0xffff}, // r2 = type
		{ldxW, regs(3, 1), 0, 0}, {rsh64K, regs(3, 0), 0, 16}, // r3 = access
		{ldxW, regs(4, 1), 4, 0}, // r4 = major
		{ldxW, regs(5, 1), 8, 0}, // r5 = minor
	}
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		var block []insn
		switch r.Type {
		case "", "a":
		case "c":
			block = append(block, insn{jneK, regs(2, 0), 0, devChr})
		case "b":
			block = append(block, insn{jneK, regs(2, 0), 0, devBlk})
		default:
			return nil, fmt.Errorf("device rule: unknown type %q", r.Type)
		}
		acc := int32(0)
		access := r.Access
		if access == "" {
			access = "rwm"
		}
		for _, c := range access {
			switch c {
			case 'r':
				acc |= accRead
			case 'w':
				acc |= accWrt
			case 'm':
				acc |= accMk
			default:
				return nil, fmt.Errorf("device rule: bad access %q", r.Access)
			}
		}
		if acc != accRead|accWrt|accMk {
			// The requested access must be a subset of the rule's.
			block = append(block, insn{mov64X, regs(6, 3), 0, 0}, insn{and64K, regs(6, 0), 0, ^acc & 7}, insn{jneK, regs(6, 0), 0, 0})
		}
		if r.Major != nil && *r.Major >= 0 {
			block = append(block, insn{jneK, regs(4, 0), 0, int32(*r.Major)})
		}
		if r.Minor != nil && *r.Minor >= 0 {
			block = append(block, insn{jneK, regs(5, 0), 0, int32(*r.Minor)})
		}
		allow := int32(0)
		if r.Allow {
			allow = 1
		}
		block = append(block, insn{mov64K, regs(0, 0), 0, allow}, insn{exitOp, 0, 0, 0})
		// Every conditional jump skips to the end of this block.
		for j := range block {
			if block[j].code == jneK {
				block[j].off = int16(len(block) - j - 1)
			}
		}
		p = append(p, block...)
		if len(block) == 2 {
			// An unconditional rule decides everything: the verifier
			// refuses code after it as unreachable.
			return p, nil
		}
	}
	return append(p, insn{mov64K, regs(0, 0), 0, 0}, insn{exitOp, 0, 0, 0}), nil
}

func setDevicesV2(dir string, rules []specs.LinuxDeviceCgroup) error {
	if len(rules) == 0 {
		return nil
	}
	prog, err := deviceProgram(append(append([]specs.LinuxDeviceCgroup(nil), rules...), DefaultAllows...))
	if err != nil {
		return err
	}
	return attachDeviceFilter(dir, prog)
}

// attachDeviceFilter loads prog and attaches it to the cgroup directory.
func attachDeviceFilter(dir string, prog []insn) error {
	code := make([]byte, 8*len(prog))
	for i, in := range prog {
		b := code[8*i:]
		b[0], b[1] = in.code, in.regs
		binary.LittleEndian.PutUint16(b[2:], uint16(in.off))
		binary.LittleEndian.PutUint32(b[4:], uint32(in.imm))
	}
	license := []byte("Apache-2.0\x00")
	logBuf := make([]byte, 4096)
	var attr [128]byte
	binary.LittleEndian.PutUint32(attr[0:], unix.BPF_PROG_TYPE_CGROUP_DEVICE)
	binary.LittleEndian.PutUint32(attr[4:], uint32(len(prog)))
	binary.LittleEndian.PutUint64(attr[8:], uint64(uintptr(unsafe.Pointer(&code[0]))))
	binary.LittleEndian.PutUint64(attr[16:], uint64(uintptr(unsafe.Pointer(&license[0]))))
	binary.LittleEndian.PutUint32(attr[24:], 1) // log_level
	binary.LittleEndian.PutUint32(attr[28:], uint32(len(logBuf)))
	binary.LittleEndian.PutUint64(attr[32:], uint64(uintptr(unsafe.Pointer(&logBuf[0]))))
	copy(attr[48:], "brig_devices")
	// The verifier gives up with EAGAIN when a signal is pending (Go's
	// preemption signal, often under slow CPUs such as QEMU's TCG);
	// retry as libbpf and cilium/ebpf do.
	var fd uintptr
	var errno unix.Errno
	for range 10 {
		fd, _, errno = unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
		if errno != unix.EAGAIN {
			break
		}
	}
	runtime.KeepAlive(code)
	runtime.KeepAlive(license)
	runtime.KeepAlive(logBuf)
	if errno != 0 {
		log := string(logBuf[:cstrlen(logBuf)])
		return fmt.Errorf("load device cgroup program: %w: %s", errno, log)
	}
	defer unix.Close(int(fd))
	cg, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer cg.Close()
	var at [16]byte
	binary.LittleEndian.PutUint32(at[0:], uint32(cg.Fd()))
	binary.LittleEndian.PutUint32(at[4:], uint32(fd))
	binary.LittleEndian.PutUint32(at[8:], unix.BPF_CGROUP_DEVICE)
	binary.LittleEndian.PutUint32(at[12:], unix.BPF_F_ALLOW_MULTI)
	if _, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&at[0])), unsafe.Sizeof(at)); errno != 0 {
		return fmt.Errorf("attach device cgroup program to %s: %w", dir, errno)
	}
	return nil
}

func cstrlen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
