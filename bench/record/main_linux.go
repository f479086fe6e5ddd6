// Command record-bench measures what recording costs against issue 7's
// budget: at most 10% on a syscall-heavy workload, under 50 ms to load and
// attach the BPF programs.
//
//	go build -o /tmp/record-bench ./bench/record && sudo /tmp/record-bench
//
// Each workload runs in a fresh cgroup v2 directory under
// /sys/fs/cgroup/unified, in rounds of three interleaved runs (the order
// rotating): unrecorded, recorded, and with an empty tp_btf/sys_exit
// program (the tracepoint's own cost, which no recorder can go below).
// Overheads are medians of the per-round ratios of CPU time. Workloads:
//   - busybox: busybox sh looping over [ -e FILE ] (stat) and
//     read <FILE (open/read/close): no forks, all syscalls.
//   - tight: this binary in a loop of stat/open/close, the worst case per
//     syscall.
//
// "+seccomp" runs them under Docker's default seccomp filter, compiled by
// brig: what a brig container runs with unless told otherwise, so that is
// the "same run unrecorded" the budget is judged on. Without a filter
// the attached tracepoint also moves every syscall onto the kernel's slow
// path, which seccomp already takes.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/brigrt/brig/bench/internal/benchkit"
	"github.com/brigrt/brig/internal/caps"
	"github.com/brigrt/brig/internal/record"
	"github.com/brigrt/brig/internal/seccomp"
	"github.com/brigrt/brig/internal/seccomp/profile"
)

func main() {
	if os.Getenv("RECORD_BENCH_SECCOMP") != "" {
		// As in a container: Docker's default filter is loaded before
		// the workload runs.
		if err := dockerFilter(); err != nil {
			fmt.Fprintln(os.Stderr, "seccomp:", err)
			os.Exit(2)
		}
	}
	if n := os.Getenv("RECORD_BENCH_TIGHT"); n != "" {
		tight(n)
		return
	}
	if os.Getenv("RECORD_BENCH_SECCOMP") != "" && len(os.Args) > 1 {
		args := os.Args[1:]
		err := unix.Exec(args[0], args, os.Environ())
		fmt.Fprintln(os.Stderr, "exec:", err)
		os.Exit(2)
	}
	if cg := os.Getenv("RECORD_BENCH_COLD"); cg != "" {
		// One Start in a fresh process, as brig run does it.
		c0, t0 := cpuTime(), time.Now()
		r, err := record.Start(record.Options{Cgroup: cg})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(int64(time.Since(t0)), int64(cpuTime()-c0))
		r.Stop()
		return
	}
	runs := flag.Int("runs", 11, "rounds per workload (cold starts: twice as many, plus one; warm starts: three times as many)")
	iters := flag.Int("iters", 20000, "loop iterations per run")
	flag.Parse()
	var rep benchkit.Report
	if err := bench(*runs, *iters, &rep); err != nil {
		fmt.Fprintln(os.Stderr, "record-bench:", err)
		os.Exit(1)
	}
	rep.Write(os.Stdout)
	if rep.Missed() {
		os.Exit(1)
	}
}

func dockerFilter() error {
	sc, err := profile.DefaultFor(profile.Options{Caps: caps.DockerDefault})
	if err != nil {
		return err
	}
	p, err := seccomp.Compile(sc)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, err = seccomp.Load(p)
	return err
}

func tight(n string) {
	count, _ := strconv.Atoi(n)
	var st unix.Stat_t
	for i := 0; i < count; i++ {
		if err := unix.Stat("/etc/passwd", &st); err != nil {
			os.Exit(2)
		}
		fd, err := unix.Open("/etc/passwd", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			os.Exit(3)
		}
		unix.Close(fd)
	}
}

func bench(runs, iters int, rep *benchkit.Report) error {
	cg := filepath.Join("/sys/fs/cgroup/unified", fmt.Sprintf("brig-record-bench-%d", os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		return err
	}
	defer func() {
		// An exited task leaves its cgroup a moment later: retry.
		for i := 0; i < 50 && os.Remove(cg) != nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := os.Stat(cg); err == nil {
			fmt.Fprintln(os.Stderr, "record-bench: could not remove", cg)
		}
	}()
	self, err := os.Executable()
	if err != nil {
		return err
	}

	// Cold: a fresh process per Start, which parses the kernel's BTF.
	var cold, coldCPU []float64 // ms
	// An odd count: the median is then one measured start, not a mean of two.
	for i := 0; i < runs*2+1; i++ {
		c := exec.Command(self)
		c.Env = append(os.Environ(), "RECORD_BENCH_COLD="+cg)
		out, err := c.Output()
		if err != nil {
			return fmt.Errorf("cold start: %w", err)
		}
		var w, u int64
		if _, err := fmt.Sscan(string(out), &w, &u); err != nil {
			return fmt.Errorf("cold start output %q: %w", out, err)
		}
		cold = append(cold, benchkit.Ms(time.Duration(w)))
		coldCPU = append(coldCPU, benchkit.Ms(time.Duration(u)))
	}
	fmt.Printf("Start, cold process: wall median %.1f ms, min %.1f ms; CPU median %.1f ms (%d runs)\n",
		benchkit.Median(cold), benchkit.Quantile(cold, 0), benchkit.Median(coldCPU), len(cold))
	rep.AtMost("record: load and attach, cold process (median)", benchkit.Median(cold), 50, " ms", 1)

	// Warm: kernel BTF already parsed (record.Warm, or an earlier Start).
	record.Warm()
	var starts, stops, cpus []float64 // ms
	for i := 0; i < runs*3; i++ {
		c0 := cpuTime()
		t0 := time.Now()
		r, err := record.Start(record.Options{Cgroup: cg})
		if err != nil {
			return err
		}
		t1 := time.Now()
		cpus = append(cpus, benchkit.Ms(cpuTime()-c0))
		if _, err := r.Stop(); err != nil {
			return err
		}
		starts = append(starts, benchkit.Ms(t1.Sub(t0)))
		stops = append(stops, benchkit.Ms(time.Since(t1)))
	}
	fmt.Printf("Start, warm (load+verify+attach): wall median %.1f ms, min %.1f ms, max %.1f ms; CPU median %.1f ms (%d runs)\n",
		benchkit.Median(starts), benchkit.Quantile(starts, 0), benchkit.Max(starts), benchkit.Median(cpus), len(starts))
	fmt.Printf("Stop (detach+drain+collect): median %.1f ms\n", benchkit.Median(stops))

	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do [ -e /etc/passwd ]; read x </etc/passwd; i=$((i+1)); done`, iters)
	busybox := func(seccomp bool) func() *exec.Cmd {
		return func() *exec.Cmd {
			if !seccomp {
				return exec.Command("/bin/busybox", "sh", "-c", script)
			}
			c := exec.Command(self, "/bin/busybox", "sh", "-c", script)
			c.Env = append(os.Environ(), "RECORD_BENCH_SECCOMP=1")
			return c
		}
	}
	tightCmd := func(seccomp bool) func() *exec.Cmd {
		return func() *exec.Cmd {
			c := exec.Command(self)
			c.Env = append(os.Environ(), "RECORD_BENCH_TIGHT="+strconv.Itoa(iters*10))
			if seccomp {
				c.Env = append(c.Env, "RECORD_BENCH_SECCOMP=1")
			}
			return c
		}
	}
	workloads := []struct {
		name string
		cmd  func() *exec.Cmd
	}{
		{"busybox", busybox(false)},
		{"busybox+seccomp", busybox(true)},
		{"tight", tightCmd(false)},
		{"tight+seccomp", tightCmd(true)},
	}
	for _, w := range workloads {
		var cpu [3][]float64 // unrecorded, recorded, empty program
		for i := 0; i < runs; i++ {
			for j := 0; j < 3; j++ {
				mode := (i + j) % 3
				d, err := runIn(cg, w.cmd(), mode)
				if err != nil {
					return err
				}
				cpu[mode] = append(cpu[mode], benchkit.Ms(d))
			}
		}
		rec := 100 * (benchkit.PairedRatio(cpu[1], cpu[0]) - 1)
		empty := 100 * (benchkit.PairedRatio(cpu[2], cpu[0]) - 1)
		fmt.Printf("%-16s CPU unrecorded %.0f ms, recorded %.0f ms: %+.1f%%; empty sys_exit program %.0f ms: %+.1f%% (medians of %d rounds, paired ratios)\n",
			w.name, benchkit.Median(cpu[0]), benchkit.Median(cpu[1]), rec, benchkit.Median(cpu[2]), empty, runs)
		if w.name == "busybox+seccomp" {
			rep.AtMost("record: overhead on the busybox stat/open/close loop in a container (Docker's seccomp filter)", rec, 10, "%", 1)
		}
	}
	return nil
}

// emptyExit attaches a do-nothing tp_btf/sys_exit program: the cost of the
// tracepoint itself, which no recorder body can go below.
func emptyExit() (func(), error) {
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sys_exit",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}, License: "GPL",
	})
	if err != nil {
		return nil, err
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: p, AttachType: ebpf.AttachTraceRawTp})
	if err != nil {
		p.Close()
		return nil, err
	}
	return func() { l.Close(); p.Close() }, nil
}

// runIn runs cmd in the cgroup and returns the CPU time it used; mode 1
// attaches the recorder beforehand, mode 2 an empty sys_exit program
// (set-up is not counted).
func runIn(cg string, cmd *exec.Cmd, mode int) (time.Duration, error) {
	var r *record.Recorder
	switch mode {
	case 1:
		var err error
		if r, err = record.Start(record.Options{Cgroup: cg}); err != nil {
			return 0, err
		}
	case 2:
		stop, err := emptyExit()
		if err != nil {
			return 0, err
		}
		defer stop()
	}
	fd, err := unix.Open(cg, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	var d time.Duration
	if cmd.ProcessState != nil {
		// CPU time, not wall time: the machine is shared, and the BPF
		// programs run in the workload's syscalls, so their cost lands
		// in its system time.
		d = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if r != nil {
		p, serr := r.Stop()
		if serr != nil {
			return 0, serr
		}
		if len(p.Syscalls) == 0 {
			return 0, fmt.Errorf("the recording saw no syscalls: the benchmark would measure nothing")
		}
	}
	return d, err
}

// cpuTime is this process's user+system time (all threads: the kernel's
// verifier runs in ours).
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
