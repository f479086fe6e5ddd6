//go:build linux

package seccomp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// input is a struct seccomp_data.
type input struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

func (in input) bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], in.nr)
	binary.LittleEndian.PutUint32(b[4:], in.arch)
	binary.LittleEndian.PutUint64(b[8:], 0x7fff12345678) // instruction pointer
	for i, a := range in.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

func (in input) String() string {
	return fmt.Sprintf("arch=%#x nr=%#x args=%#x", in.arch, in.nr, in.args)
}

// run interprets a classic BPF program over seccomp_data the way the
// kernel's seccomp BPF does. It supports the instructions the kernel allows
// for seccomp (libseccomp uses some this compiler does not) and reports
// anything else, including jumps out of the program, as an error.
func run(p []Instruction, in input) (uint32, error) {
	data := in.bytes()
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(p); pc++ {
		ins := p[pc]
		k := ins.K
		class := ins.Code & 0x07
		switch class {
		case unix.BPF_LD, unix.BPF_LDX:
			var v uint32
			switch ins.Code & 0xe0 {
			case unix.BPF_ABS:
				if ins.Code&0x18 != unix.BPF_W || k%4 != 0 || k+4 > 64 {
					return 0, fmt.Errorf("pc %d: bad load %#x k=%d", pc, ins.Code, k)
				}
				v = binary.LittleEndian.Uint32(data[k:])
			case unix.BPF_IMM:
				v = k
			case unix.BPF_MEM:
				if k >= 16 {
					return 0, fmt.Errorf("pc %d: bad mem %d", pc, k)
				}
				v = mem[k]
			case unix.BPF_LEN:
				v = 64
			default:
				return 0, fmt.Errorf("pc %d: bad load mode %#x", pc, ins.Code)
			}
			if class == unix.BPF_LD {
				a = v
			} else {
				x = v
			}
		case unix.BPF_ST:
			mem[k%16] = a
		case unix.BPF_STX:
			mem[k%16] = x
		case unix.BPF_ALU:
			src := k
			if ins.Code&0x08 == unix.BPF_X {
				src = x
			}
			switch ins.Code & 0xf0 {
			case unix.BPF_ADD:
				a += src
			case unix.BPF_SUB:
				a -= src
			case unix.BPF_MUL:
				a *= src
			case unix.BPF_DIV:
				if src == 0 {
					return 0, nil
				}
				a /= src
			case unix.BPF_AND:
				a &= src
			case unix.BPF_OR:
				a |= src
			case unix.BPF_XOR:
				a ^= src
			case unix.BPF_LSH:
				a <<= src
			case unix.BPF_RSH:
				a >>= src
			case unix.BPF_NEG:
				a = -a
			default:
				return 0, fmt.Errorf("pc %d: bad alu %#x", pc, ins.Code)
			}
		case unix.BPF_JMP:
			if ins.Code&0xf0 == unix.BPF_JA {
				pc += int(k)
			} else {
				src := k
				if ins.Code&0x08 == unix.BPF_X {
					src = x
				}
				var c bool
				switch ins.Code & 0xf0 {
				case unix.BPF_JEQ:
					c = a == src
				case unix.BPF_JGT:
					c = a > src
				case unix.BPF_JGE:
					c = a >= src
				case unix.BPF_JSET:
					c = a&src != 0
				default:
					return 0, fmt.Errorf("pc %d: bad jump %#x", pc, ins.Code)
				}
				if c {
					pc += int(ins.Jt)
				} else {
					pc += int(ins.Jf)
				}
			}
			if pc+1 >= len(p) {
				return 0, fmt.Errorf("pc %d: jump past the end", pc)
			}
		case unix.BPF_RET:
			switch ins.Code & 0x18 {
			case unix.BPF_K:
				return k, nil
			case unix.BPF_A:
				return a, nil
			}
			return 0, fmt.Errorf("pc %d: bad ret %#x", pc, ins.Code)
		case unix.BPF_MISC:
			if ins.Code&0xf8 == unix.BPF_TAX {
				x = a
			} else {
				a = x
			}
		default:
			return 0, fmt.Errorf("pc %d: bad class %#x", pc, ins.Code)
		}
	}
	return 0, fmt.Errorf("fell off the end")
}
