//go:build linux

// Command caps-bench checks issue 4's speed target: with 2,000 processes
// running, "brig caps -a" takes at most 0.3x the time of "pscap -a"
// (libcap-ng-utils 0.8.3). It starts -n sleeping children, runs pscap -a,
// brig caps -a and brig caps -a --format pscap interleaved (A B C, B C A,
// ...) so neighbouring samples share the machine's load, prints medians of
// wall and CPU time with the paired ratios, a PASS or MISS line, and kills
// every child it started before it exits.
//
//	go build -o /tmp/brig ./cmd/brig && go run ./bench/caps -brig /tmp/brig -rounds 21
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/brigrt/brig/bench/internal/benchkit"
)

func main() {
	n := flag.Int("n", 2000, "sleeping processes to start")
	rounds := flag.Int("rounds", 21, "timed rounds (each runs every command once)")
	warmup := flag.Int("warmup", 2, "unmeasured rounds first")
	brig := flag.String("brig", "", "brig binary (default: go build ./cmd/brig into a temp dir)")
	pscap := flag.String("pscap", "pscap", "pscap binary")
	limit := flag.Float64("max-ratio", 0.3, "target: brig caps -a wall time / pscap -a wall time")
	flag.Parse()
	os.Exit(run(*n, *rounds, *warmup, *brig, *pscap, *limit))
}

func run(n, rounds, warmup int, brig, pscap string, limit float64) int {
	if _, err := exec.LookPath(pscap); err != nil {
		fmt.Fprintln(os.Stderr, "caps-bench: pscap not found (Debian: apt-get install libcap-ng-utils):", err)
		return 2
	}
	if brig == "" {
		dir, err := os.MkdirTemp("", "caps-bench")
		if err != nil {
			fmt.Fprintln(os.Stderr, "caps-bench:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		brig = filepath.Join(dir, "brig")
		b := exec.Command("go", "build", "-o", brig, "./cmd/brig")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "caps-bench: building brig (run from the module root):", err)
			return 2
		}
	}

	kids := spawn(n)
	cleanup := sync.OnceFunc(func() { reap(kids) })
	defer cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cleanup()
		os.Exit(130)
	}()
	if len(kids) < n {
		fmt.Fprintf(os.Stderr, "caps-bench: only %d of %d processes started\n", len(kids), n)
		return 2
	}
	fmt.Printf("started %d sleeping processes; load average %s", len(kids), loadavg())

	cmds := []struct{ key, name string }{
		{"pscap", "pscap -a"},
		{"brig", "brig caps -a"},
		{"brigp", "brig caps -a --format pscap"},
	}
	argv := map[string][]string{
		"pscap": {pscap, "-a"},
		"brig":  {brig, "caps", "-a"},
		"brigp": {brig, "caps", "-a", "--format", "pscap"},
	}
	s := benchkit.Series{}
	for i := -warmup; i < rounds; i++ {
		for j := range cmds {
			c := cmds[(j+max(i, 0))%len(cmds)] // rotate the order each round
			r := benchkit.Run(benchkit.Cmd{Args: argv[c.key]})
			if r.Err != nil {
				fmt.Fprintln(os.Stderr, "caps-bench:", r.Err)
				return 2
			}
			if i >= 0 {
				s.Add(c.key+".wall", benchkit.Ms(r.Wall))
				s.Add(c.key+".cpu", benchkit.Ms(r.CPU()))
			}
		}
	}

	t := &benchkit.Table{
		Title: fmt.Sprintf("%d processes, %d rounds", len(kids), rounds),
		Head:  []string{"command", "wall ms", "cpu ms", "wall/pscap", "cpu/pscap"},
	}
	for _, c := range cmds {
		t.Add(c.name, benchkit.F(s.Median(c.key+".wall"), 1), benchkit.F(s.Median(c.key+".cpu"), 1),
			benchkit.F(benchkit.PairedRatio(s[c.key+".wall"], s["pscap.wall"]), 3),
			benchkit.F(benchkit.PairedRatio(s[c.key+".cpu"], s["pscap.cpu"]), 3))
	}
	t.Note("ratios are medians of per-round ratios; load average after: %s", loadavg())
	t.Write(os.Stdout)

	rep := &benchkit.Report{}
	rep.AtMost("caps: brig caps -a wall vs pscap -a", benchkit.PairedRatio(s["brig.wall"], s["pscap.wall"]), limit, "x", 3)
	cleanup()
	rep.Zero("caps: sleeping processes left behind", alive(kids), "")
	rep.Write(os.Stdout)
	if rep.Missed() {
		return 1
	}
	return 0
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?\n"
	}
	return string(b)
}

// spawn starts n sleepers; Pdeathsig kills them even if we are killed.
func spawn(n int) []*exec.Cmd {
	var kids []*exec.Cmd
	for i := 0; i < n; i++ {
		c := exec.Command("sleep", "3600")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "caps-bench: start:", err)
			break
		}
		kids = append(kids, c)
	}
	return kids
}

// reap kills and waits for every child we started, by pid.
func reap(kids []*exec.Cmd) {
	for _, c := range kids {
		c.Process.Kill()
	}
	for _, c := range kids {
		c.Wait()
	}
}

// alive counts the pids we started that still exist as our children (a
// reused pid has another parent).
func alive(kids []*exec.Cmd) int {
	n := 0
	for _, c := range kids {
		st := benchkit.Status(c.Process.Pid, "PPid")
		if pp, ok := st["PPid"]; ok && int(pp) == os.Getpid() {
			n++
		}
	}
	return n
}
