// Command vminit is PID 1 of brig's SELinux test VM, and two small host
// helpers for building it (vm/build.sh).
//
//	vminit extract-vmlinux BZIMAGE OUT   unpack the ELF kernel from a bzImage
//	vminit dump-labels DIR               print "path<TAB>label" for every file
//
// As PID 1 it runs in two stages. Stage 1 (kernel_t, on the initramfs)
// loads the policy, copies the tree into a tmpfs, labels it from the
// lists dump-labels wrote on the host (the initramfs rootfs cannot be
// relabelled), and switches root to it, executing itself as /usr/sbin/init so
// that the kernel enters init_t. Stage 2 mounts cgroup2 and the rest,
// runs the payload as unconfined_t with its output on the serial console,
// prints "VMTEST-EXIT=<status>" and powers off.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] != "stage2" {
		if err := host(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "vminit:", err)
			os.Exit(1)
		}
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "vminit: not PID 1; host use: vminit extract-vmlinux|dump-labels ...")
		os.Exit(2)
	}
	guest(len(os.Args) > 1 && os.Args[1] == "stage2")
}

func host(args []string) error {
	switch args[0] {
	case "extract-vmlinux":
		if len(args) != 3 {
			return fmt.Errorf("usage: extract-vmlinux BZIMAGE OUT")
		}
		return extractVmlinux(args[1], args[2])
	case "dump-labels":
		if len(args) != 2 {
			return fmt.Errorf("usage: dump-labels DIR")
		}
		return dumpLabels(args[1], os.Stdout)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
