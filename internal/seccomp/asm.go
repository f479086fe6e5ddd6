package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Instruction is a classic BPF instruction, laid out like the kernel's
// struct sock_filter.
type Instruction struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// Classic BPF opcodes used by the compiler (linux/bpf_common.h).
const (
	bpfJMP = 0x05
	bpfJA  = 0x00

	opLdAbsW = 0x20 // BPF_LD | BPF_W | BPF_ABS
	opAndK   = 0x54 // BPF_ALU | BPF_AND | BPF_K
	opJa     = bpfJMP | bpfJA
	opRetK   = 0x06 // BPF_RET | BPF_K

	jeq = bpfJMP | 0x10 // BPF_JEQ | BPF_K
	jgt = bpfJMP | 0x20 // BPF_JGT | BPF_K
	jge = bpfJMP | 0x30 // BPF_JGE | BPF_K
)

// next as a jump target means the following instruction.
const next = -1

// insn is an instruction whose jump targets are labels.
type insn struct {
	code   uint16
	k      uint32
	jt, jf int // labels (or next) for conditional jumps
}

// asm collects instructions with symbolic forward jumps and lays them out,
// turning conditional jumps that cannot reach their target in 255
// instructions into short jumps over `ja` trampolines.
type asm struct {
	insns  []insn
	labels []int // label → index of the instruction it marks
}

func (a *asm) newLabel() int {
	a.labels = append(a.labels, -1)
	return len(a.labels) - 1
}

// mark binds l to the next instruction emitted.
func (a *asm) mark(l int) { a.labels[l] = len(a.insns) }

func (a *asm) load(off uint32) { a.insns = append(a.insns, insn{code: opLdAbsW, k: off}) }
func (a *asm) and(k uint32)    { a.insns = append(a.insns, insn{code: opAndK, k: k}) }
func (a *asm) ret(k uint32)    { a.insns = append(a.insns, insn{code: opRetK, k: k}) }

func (a *asm) jump(code uint16, k uint32, jt, jf int) {
	a.insns = append(a.insns, insn{code: code, k: k, jt: jt, jf: jf})
}

func isCondJump(code uint16) bool {
	return code&0x07 == bpfJMP && code&0xf0 != bpfJA
}

// assemble resolves labels. Instruction i occupies size[i] slots: 1, or 2-3
// when its conditional jump needs `ja` trampolines. Sizes only grow, so the
// loop ends; each round is linear.
func (a *asm) assemble() ([]Instruction, error) {
	n := len(a.insns)
	size := make([]int, n)
	for i := range size {
		size[i] = 1
	}
	pos := make([]int, n+1)
	// target gives the slot of the instruction a label marks.
	target := func(l int, i int) int {
		if l == next {
			return pos[i] + size[i]
		}
		idx := a.labels[l]
		if idx < 0 || idx <= i {
			return -1
		}
		return pos[idx]
	}
	for {
		for i := range n {
			pos[i+1] = pos[i] + size[i]
		}
		if pos[n] > maxInsns {
			return nil, fmt.Errorf("seccomp: filter needs %d instructions, more than the kernel's limit of %d", pos[n], maxInsns)
		}
		grew := false
		for i, in := range a.insns {
			if !isCondJump(in.code) {
				continue
			}
			t, f := target(in.jt, i), target(in.jf, i)
			if t < 0 || f < 0 {
				return nil, errors.New("seccomp: internal error: jump to an unbound or backward label")
			}
			base := pos[i] + 1
			want := 1
			if t-base > 255 {
				want++
			}
			if f-base > 255 {
				want++
			}
			// Trampolines push the near target away too; recheck with
			// the grown size on the next round.
			if want > size[i] {
				size[i] = want
				grew = true
			}
		}
		if !grew {
			break
		}
	}

	out := make([]Instruction, 0, pos[n])
	for i, in := range a.insns {
		if !isCondJump(in.code) {
			out = append(out, Instruction{Code: in.code, K: in.k})
			continue
		}
		t, f := target(in.jt, i), target(in.jf, i)
		if in.jt == next {
			t = pos[i] + size[i]
		}
		if in.jf == next {
			f = pos[i] + size[i]
		}
		base := pos[i] + 1
		switch size[i] {
		case 1:
			out = append(out, Instruction{Code: in.code, Jt: uint8(t - base), Jf: uint8(f - base), K: in.k})
		case 2:
			// One trampoline right after the jump.
			tramp := base
			if t-base > 255 {
				out = append(out, Instruction{Code: in.code, Jt: 0, Jf: uint8(f - base), K: in.k})
				out = append(out, Instruction{Code: opJa, K: uint32(t - (tramp + 1))})
			} else {
				out = append(out, Instruction{Code: in.code, Jt: uint8(t - base), Jf: 0, K: in.k})
				out = append(out, Instruction{Code: opJa, K: uint32(f - (tramp + 1))})
			}
		case 3:
			out = append(out, Instruction{Code: in.code, Jt: 0, Jf: 1, K: in.k})
			out = append(out, Instruction{Code: opJa, K: uint32(t - (base + 1))})
			out = append(out, Instruction{Code: opJa, K: uint32(f - (base + 2))})
		}
	}
	return out, nil
}

// verify checks what the kernel's checker would reject, so a compiler bug
// surfaces as an error naming the instruction rather than EINVAL at load.
func verify(p []Instruction) error {
	if len(p) == 0 || len(p) > maxInsns {
		return fmt.Errorf("program length %d out of range 1..%d", len(p), maxInsns)
	}
	for i, in := range p {
		switch {
		case in.Code == opLdAbsW:
			if in.K%4 != 0 || in.K >= 64 {
				return fmt.Errorf("insn %d: load offset %d outside seccomp_data", i, in.K)
			}
		case in.Code == opAndK, in.Code == opRetK:
		case in.Code == opJa:
			if uint64(i)+1+uint64(in.K) >= uint64(len(p)) {
				return fmt.Errorf("insn %d: ja %d out of range", i, in.K)
			}
		case in.Code == jeq, in.Code == jgt, in.Code == jge:
			if i+1+int(in.Jt) >= len(p) || i+1+int(in.Jf) >= len(p) {
				return fmt.Errorf("insn %d: jump out of range", i)
			}
		default:
			return fmt.Errorf("insn %d: unexpected opcode %#x", i, in.Code)
		}
	}
	if p[len(p)-1].Code != opRetK {
		return errors.New("program does not end in ret")
	}
	return nil
}

// Bytes returns the filter as an array of struct sock_filter in this
// machine's byte order, the form the kernel loads: compact enough to hand
// a compiled program to another process (brig-runtime compiles, the
// container's init loads).
func (p *Program) Bytes() []byte {
	b := make([]byte, 0, 8*len(p.Filter))
	for _, in := range p.Filter {
		b = binary.NativeEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.NativeEndian.AppendUint32(b, in.K)
	}
	return b
}

// FromBytes is the inverse of Bytes. The instructions are verified again:
// a program that went through a pipe is not trusted blindly.
func FromBytes(b []byte, flags uint) (*Program, error) {
	if len(b) == 0 || len(b)%8 != 0 {
		return nil, fmt.Errorf("seccomp: %d bytes is not a whole number of instructions", len(b))
	}
	p := &Program{Filter: make([]Instruction, 0, len(b)/8), Flags: flags}
	for i := 0; i < len(b); i += 8 {
		p.Filter = append(p.Filter, Instruction{
			Code: binary.NativeEndian.Uint16(b[i:]), Jt: b[i+2], Jf: b[i+3],
			K: binary.NativeEndian.Uint32(b[i+4:]),
		})
	}
	if err := verify(p.Filter); err != nil {
		return nil, err
	}
	return p, nil
}
