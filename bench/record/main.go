// Command record-bench measures what recording costs (issue 7's budget: at
// most 10% on a syscall-heavy workload, under 50 ms to load and attach).
//
//	go build -o /tmp/record-bench ./bench/record && sudo /tmp/record-bench
//
// It runs each workload in a fresh cgroup v2 directory under
// /sys/fs/cgroup/unified, alternately unrecorded and recorded, and prints
// medians. Workloads:
//   - busybox: busybox sh looping over [ -e FILE ] (stat) and
//     read <FILE (open/read/close): no forks, all syscalls.
//   - tight: this binary in a loop of stat/open/close, the worst case per
//     syscall.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/brigrt/brig/internal/record"
)

func main() {
	if n := os.Getenv("RECORD_BENCH_TIGHT"); n != "" {
		tight(n)
		return
	}
	runs := flag.Int("runs", 7, "runs per variant")
	iters := flag.Int("iters", 20000, "loop iterations per run")
	flag.Parse()
	if err := bench(*runs, *iters); err != nil {
		fmt.Fprintln(os.Stderr, "record-bench:", err)
		os.Exit(1)
	}
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

func bench(runs, iters int) error {
	cg := filepath.Join("/sys/fs/cgroup/unified", fmt.Sprintf("brig-record-bench-%d", os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		return err
	}
	defer os.Remove(cg)
	self, err := os.Executable()
	if err != nil {
		return err
	}

	// Load and attach time (includes reading /proc/kallsyms).
	var starts, stops, cpus []time.Duration
	for i := 0; i < runs*3; i++ {
		c0 := cpuTime()
		t0 := time.Now()
		r, err := record.Start(record.Options{Cgroup: cg})
		if err != nil {
			return err
		}
		t1 := time.Now()
		cpus = append(cpus, cpuTime()-c0)
		if _, err := r.Stop(); err != nil {
			return err
		}
		starts = append(starts, t1.Sub(t0))
		stops = append(stops, time.Since(t1))
	}
	fmt.Printf("Start (load+attach): wall median %v, min %v, max %v; CPU median %v (%d runs)\n",
		median(starts), min(starts), max(starts), median(cpus), len(starts))
	fmt.Printf("Stop (detach+drain+collect): median %v\n", median(stops))

	workloads := []struct {
		name string
		cmd  func() *exec.Cmd
	}{
		{"busybox", func() *exec.Cmd {
			script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do [ -e /etc/passwd ]; read x </etc/passwd; i=$((i+1)); done`, iters)
			return exec.Command("/bin/busybox", "sh", "-c", script)
		}},
		{"tight", func() *exec.Cmd {
			c := exec.Command(self)
			c.Env = append(os.Environ(), "RECORD_BENCH_TIGHT="+strconv.Itoa(iters*10))
			return c
		}},
	}
	for _, w := range workloads {
		var plain, rec []time.Duration
		for i := 0; i < runs; i++ {
			d, err := runIn(cg, w.cmd(), false)
			if err != nil {
				return err
			}
			plain = append(plain, d)
			d, err = runIn(cg, w.cmd(), true)
			if err != nil {
				return err
			}
			rec = append(rec, d)
		}
		mp, mr := median(plain), median(rec)
		fmt.Printf("%-8s unrecorded %v, recorded %v: overhead %+.1f%% (medians of %d)\n",
			w.name, mp, mr, 100*(float64(mr)/float64(mp)-1), runs)
	}
	return nil
}

// runIn runs cmd in the cgroup and returns the CPU time it used, recorder
// attached beforehand when rec is set (its set-up is not counted).
func runIn(cg string, cmd *exec.Cmd, rec bool) (time.Duration, error) {
	var r *record.Recorder
	if rec {
		var err error
		if r, err = record.Start(record.Options{Cgroup: cg}); err != nil {
			return 0, err
		}
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

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func min(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		if x < m {
			m = x
		}
	}
	return m
}

func max(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		if x > m {
			m = x
		}
	}
	return m
}
