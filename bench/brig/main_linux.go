//go:build linux

// Command brig-bench checks issue 3's speed targets:
//
//   - `brig run --rm IMG true` end to end, at most 0.35x `podman run --rm
//     localhost/bb true` on the same image, with podman on runc and on crun;
//   - 500 detached `brig run -d IMG sleep 1000`: 0 failures, each
//     brig-monitor at most 3 MB of RSS; then all removed, and no leaks.
//
// Runs are interleaved (brig, podman+runc, podman+crun, rotating), in one
// private mount namespace for all (see benchkit.Isolate), with a throw-away
// BRIG_ROOT and podman's private root from hack/podman-env.sh. Needs root,
// podman, runc, crun and busybox-static:
//
//	make build && go build -o /tmp/brig-bench ./bench/brig && /tmp/brig-bench
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/brigrt/brig/bench/internal/benchkit"
	"github.com/brigrt/brig/internal/testimage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// settle is how long leak checks wait for cleanup that engines finish
// after their command returned.
const settle = 10 * time.Second

type options struct {
	brig, podman, podmanEnv string
	rounds, warmup          int
	detached, batch         int
	workBase                string
	timeout                 time.Duration
	keep                    bool
}

func main() {
	var o options
	flag.StringVar(&o.brig, "brig", "bin/brig", "brig binary (brig-runtime and brig-monitor next to it)")
	flag.StringVar(&o.podman, "podman", "podman", "podman binary; empty skips the comparison")
	flag.StringVar(&o.podmanEnv, "podman-env", "hack/podman-env.sh", "the private podman setup script")
	flag.IntVar(&o.rounds, "rounds", 15, "timed rounds per command")
	flag.IntVar(&o.warmup, "warmup", 2, "unmeasured rounds first")
	flag.IntVar(&o.detached, "detached", 500, "detached sleep containers to start")
	flag.IntVar(&o.batch, "rm-batch", 50, "containers per `brig rm -f` call")
	flag.StringVar(&o.workBase, "work", "/var/tmp", "where BRIG_ROOT and podman's root go")
	flag.DurationVar(&o.timeout, "timeout", 120*time.Second, "limit per command")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "brig-bench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if o.rounds < 1 || o.warmup < 0 || o.detached < 0 || o.batch < 1 {
		fmt.Fprintln(os.Stderr, "brig-bench: -rounds and -rm-batch must be >= 1, -warmup and -detached >= 0")
		os.Exit(2)
	}
	if err := benchkit.Isolate(); err != nil {
		fmt.Fprintln(os.Stderr, "brig-bench:", err)
		os.Exit(2)
	}
	if err := benchkit.Reap(); err != nil {
		fmt.Fprintln(os.Stderr, "brig-bench: reaper:", err)
		os.Exit(2)
	}
	rep, err := bench(o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brig-bench:", err)
		os.Exit(2)
	}
	if rep.Missed() {
		os.Exit(1)
	}
}

// contender is one end-to-end command measured.
type contender struct {
	name string
	args []string
	env  []string
	s    benchkit.Series
	fail int
	errs []string
}

func bench(o options, w io.Writer) (*benchkit.Report, error) {
	brig, err := filepath.Abs(o.brig)
	if err != nil {
		return nil, err
	}
	for _, b := range []string{brig, filepath.Join(filepath.Dir(brig), "brig-runtime"), filepath.Join(filepath.Dir(brig), "brig-monitor")} {
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("%w (run `make build`)", err)
		}
	}
	work, err := os.MkdirTemp(o.workBase, "brig-bench-")
	if err != nil {
		return nil, err
	}
	root := filepath.Join(work, "brig")
	brigEnv := append(os.Environ(), "BRIG_ROOT="+root)
	var podEnv []string
	defer func() {
		if o.keep {
			return
		}
		if podEnv != nil {
			cleanupPodman(o, work)
		}
		os.RemoveAll(work)
	}()

	fmt.Fprintf(w, "brig-bench: %s, %d measured rounds (+%d warm-up), load %s\n",
		time.Now().UTC().Format(time.RFC3339), o.rounds, o.warmup, benchkit.LoadAvg())
	if err := loadImage(brig, brigEnv, work, o.timeout); err != nil {
		return nil, err
	}
	cs := []*contender{{name: "brig", s: benchkit.Series{}, args: []string{brig, "run", "--rm", testimage.Name, "true"}, env: brigEnv}}
	if o.podman != "" {
		podEnv, err = setupPodman(o, work)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "%s\n", firstLine(benchkit.Run(benchkit.Cmd{Args: []string{o.podman, "--version"}, Env: podEnv, Timeout: o.timeout}).Out))
		// runc by its registered name; crun by path: this harness's
		// namespace already hides the hybrid cgroup2 controllers, so the
		// crun-hybrid wrapper of podman-env.sh (an unshare per call) is
		// not needed and would make podman look slower than it is.
		for _, rt := range []struct{ name, runtime string }{{"podman+runc", "runc"}, {"podman+crun", "crun"}} {
			path := rt.runtime
			if rt.runtime == "crun" {
				if path, err = exec.LookPath("crun"); err != nil {
					return nil, err
				}
			}
			cs = append(cs, &contender{name: rt.name, env: podEnv, s: benchkit.Series{},
				args: []string{o.podman, "--runtime", path, "run", "--rm", "localhost/bb", "true"}})
		}
	}
	fmt.Fprintf(w, "image: busybox-static (internal/testimage): %s for brig, localhost/bb for podman\n", testimage.Name)

	rep := &benchkit.Report{}
	var watch *benchkit.Watch
	for i := 0; i < o.warmup+o.rounds; i++ {
		if i == o.warmup || (o.warmup == 0 && i == 0) {
			// After the warm-up: podman's first run bind-mounts its
			// storage, which stays by design.
			if watch, err = newWatch(root, work); err != nil {
				return nil, err
			}
		}
		n := len(cs)
		for k := range n {
			c := cs[(i+k)%n]
			r := benchkit.Run(benchkit.Cmd{Args: c.args, Env: c.env, Timeout: o.timeout})
			if r.Err != nil {
				c.fail++
				if len(c.errs) < 3 {
					c.errs = append(c.errs, r.Err.Error())
				}
				continue
			}
			if i >= o.warmup {
				c.s.Add("wall", benchkit.Ms(r.Wall))
				c.s.Add("cpu", benchkit.Ms(r.CPU()))
			}
		}
	}
	rmLeaks := watch.Settle(settle)
	if podEnv != nil {
		if r := benchkit.Run(benchkit.Cmd{Args: []string{o.podman, "ps", "-aq"}, Env: podEnv, Timeout: o.timeout}); r.Out != "" {
			rmLeaks.State = append(rmLeaks.State, "podman containers left: "+strings.ReplaceAll(r.Out, "\n", " "))
		}
	}
	endToEnd(w, cs, o, rmLeaks, rep)

	if o.detached > 0 {
		if err := detached(w, brig, brigEnv, root, o, watch, rep); err != nil {
			return nil, err
		}
	}
	rep.Write(w)
	return rep, nil
}

func newWatch(root, work string) (*benchkit.Watch, error) {
	w, err := benchkit.NewWatch()
	if err != nil {
		return nil, err
	}
	// brig puts each container in the cgroup /brig/<id>; another user's
	// running brig containers are never empty, so only empty new ones count.
	w.Parents = []string{"brig"}
	w.StateDirs = []string{filepath.Join(root, "containers"), filepath.Join(root, "images", "containers"), filepath.Join(root, "run", "runtime")}
	w.Markers = []string{work}
	return w, nil
}

func endToEnd(w io.Writer, cs []*contender, o options, leaks benchkit.Leaks, rep *benchkit.Report) {
	t := &benchkit.Table{
		Title: fmt.Sprintf("end to end, `run --rm IMAGE true`: medians of %d interleaved rounds (ms)", o.rounds),
		Head:  []string{"command", "wall", "p90 wall", "cpu", "brig/this", "failures"},
	}
	b := cs[0].s
	for _, c := range cs {
		t.Add(c.name, benchkit.F(c.s.Median("wall"), 1), benchkit.F(benchkit.Quantile(c.s["wall"], 0.9), 1),
			benchkit.F(c.s.Median("cpu"), 1), benchkit.F(b.Median("wall")/c.s.Median("wall"), 3), strconv.Itoa(c.fail))
	}
	t.Note("cpu: user+sys of the command and what it reaped (wait4); podman's conmon and brig's monitor detach, so their share is not in it")
	t.Note("orphans (monitors, conmon) are reaped at once by this harness, as systemd would; this VM's pid 1 reaps them seconds late")
	for _, c := range cs[1:] {
		t.Note("paired ratio brig/%s: %s", c.name, benchkit.F(benchkit.PairedRatio(b["wall"], c.s["wall"]), 3))
	}
	for _, c := range cs {
		for _, e := range c.errs {
			t.Note("%s failure: %s", c.name, e)
		}
	}
	t.Note("leaks after the rounds (allowing %v for cleanup to finish): %s", settle, leaks.Summary())
	for _, e := range leaks.Examples(5) {
		t.Note("leak: %s", e)
	}
	t.Write(w)
	for _, c := range cs[1:] {
		rep.AtMost("brig: run --rm wall brig/"+c.name, b.Median("wall")/c.s.Median("wall"), 0.35, "x", 3)
	}
	rep.Zero("brig: run --rm failures", cs[0].fail, "")
	rep.Zero("brig: leaks after the run --rm rounds (brig and podman)", leaks.Count(), leaks.Summary())
}

// detached starts o.detached `brig run -d IMG sleep 1000`, measures every
// monitor and container process, removes them all and checks for leaks.
func detached(w io.Writer, brig string, env []string, root string, o options, watch *benchkit.Watch, rep *benchkit.Report) error {
	availBefore := benchkit.MemAvailable()
	var ids, errs []string
	fails := 0
	var starts []float64
	t0 := time.Now()
	for range o.detached {
		r := benchkit.Run(benchkit.Cmd{Args: []string{brig, "run", "-d", testimage.Name, "sleep", "1000"}, Env: env, Timeout: o.timeout})
		id := lastLine(r.Out)
		if r.Err != nil || len(id) != 64 {
			fails++
			if r.Err == nil {
				r.Err = fmt.Errorf("brig run -d printed %q, not a container id", r.Out)
			}
			if len(errs) < 3 {
				errs = append(errs, r.Err.Error())
			}
			if len(id) == 64 {
				ids = append(ids, id) // started but failed: still to remove
			}
			continue
		}
		ids = append(ids, id)
		starts = append(starts, benchkit.Ms(r.Wall))
	}
	startAll := time.Since(t0)
	// Let the just-started monitors settle before reading their memory.
	time.Sleep(time.Second)
	mem := measure(root, ids)
	availAfter := benchkit.MemAvailable()

	t1 := time.Now()
	var rmFails int
	for i := 0; i < len(ids); i += o.batch {
		batch := ids[i:min(i+o.batch, len(ids))]
		r := benchkit.Run(benchkit.Cmd{Args: append([]string{brig, "rm", "-f"}, batch...), Env: env, Timeout: o.timeout})
		if r.Err != nil {
			rmFails++
			if len(errs) < 6 {
				errs = append(errs, r.Err.Error())
			}
		}
	}
	rmAll := time.Since(t1)
	mine := map[string]bool{}
	for _, id := range ids {
		mine[id] = true
	}
	watch.Match = func(name string) bool { return mine[name] }
	leaks := watch.Settle(settle)
	watch.Match = nil

	t := &benchkit.Table{
		Title: fmt.Sprintf("%d detached `brig run -d %s sleep 1000`", o.detached, testimage.Name),
		Head:  []string{"measure", "value"},
	}
	t.Add("started / failed", fmt.Sprintf("%d / %d", len(starts), fails))
	t.Add("start, all (s)", benchkit.F(startAll.Seconds(), 1))
	t.Add("start, median per container (ms)", benchkit.F(benchkit.Median(starts), 1))
	t.Add("brig-monitor processes found", strconv.Itoa(len(mem.monRSS)))
	t.Add("brig-monitor VmRSS median / max (KiB)", benchkit.F(benchkit.Median(mem.monRSS), 0)+" / "+benchkit.F(benchkit.Max(mem.monRSS), 0))
	t.Add("brig-monitor Pss median (KiB)", benchkit.F(benchkit.Median(mem.monPss), 0))
	t.Add("brig-monitor VmRSS sum / Pss sum (MiB)", benchkit.F(sum(mem.monRSS)/1024, 1)+" / "+benchkit.F(sum(mem.monPss)/1024, 1))
	t.Add("container processes found", strconv.Itoa(len(mem.ctrRSS)))
	t.Add("container VmRSS sum / Pss sum (MiB)", benchkit.F(sum(mem.ctrRSS)/1024, 1)+" / "+benchkit.F(sum(mem.ctrPss)/1024, 1))
	t.Add("total Pss, monitors + containers (MiB)", benchkit.F((sum(mem.monPss)+sum(mem.ctrPss))/1024, 1))
	t.Add("MemAvailable drop (MiB, whole machine)", benchkit.F(float64(availBefore-availAfter)/1024, 1))
	t.Add("rm -f, all (s)", benchkit.F(rmAll.Seconds(), 1))
	t.Add(fmt.Sprintf("leaks after rm (%v to settle)", settle), leaks.Summary())
	t.Note("VmRSS counts shared pages (the brig-monitor binary) in every process; Pss splits them between sharers")
	t.Note("MemAvailable is the whole machine's and moves with other users; the Pss sums are this benchmark's own")
	for _, e := range errs {
		t.Note("failure: %s", e)
	}
	for _, e := range leaks.Examples(5) {
		t.Note("leak: %s", e)
	}
	t.Write(w)

	rep.Zero(fmt.Sprintf("brig: %d detached containers failures", o.detached), fails, "")
	rep.AtMost("brig: brig-monitor VmRSS, largest", benchkit.Max(mem.monRSS), 3072, " KiB", 0)
	if len(mem.monRSS) != len(ids) {
		rep.Zero("brig: detached containers without a monitor process", len(ids)-len(mem.monRSS), fmt.Sprintf("%d monitors for %d containers", len(mem.monRSS), len(ids)))
	}
	rep.Zero("brig: rm -f failures", rmFails, "")
	rep.Zero("brig: leaks after removing the detached containers", leaks.Count(), leaks.Summary())
	return nil
}

type memory struct {
	monRSS, monPss, ctrRSS, ctrPss []float64
}

// measure reads VmRSS and Pss of every brig-monitor serving root and of
// every process in the cgroups of ids.
func measure(root string, ids []string) memory {
	var m memory
	mine := map[string]bool{}
	for _, id := range ids {
		mine[id] = true
	}
	for _, pid := range benchkit.Pids() {
		cmd := benchkit.Cmdline(pid)
		if strings.Contains(cmd, "brig-monitor") && strings.Contains(cmd, root) {
			if st := benchkit.Status(pid, "VmRSS"); st != nil {
				m.monRSS = append(m.monRSS, float64(st["VmRSS"]))
				m.monPss = append(m.monPss, float64(benchkit.Pss(pid)))
			}
			continue
		}
		if id := brigCgroup(pid); mine[id] {
			if st := benchkit.Status(pid, "VmRSS"); st != nil {
				m.ctrRSS = append(m.ctrRSS, float64(st["VmRSS"]))
				m.ctrPss = append(m.ctrPss, float64(benchkit.Pss(pid)))
			}
		}
	}
	return m
}

// brigCgroup returns the container id of pid's /brig/<id> cgroup, if any.
func brigCgroup(pid int) string {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		_, path, _ := strings.Cut(sc.Text(), ":")
		_, path, _ = strings.Cut(path, ":")
		if rest, ok := strings.CutPrefix(path, "/brig/"); ok {
			return rest
		}
	}
	return ""
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// loadImage writes the busybox demo image as a docker archive and loads it.
func loadImage(brig string, env []string, work string, timeout time.Duration) error {
	tag, err := name.NewTag(testimage.Name)
	if err != nil {
		return err
	}
	img, err := testimage.Image()
	if err != nil {
		return fmt.Errorf("demo image: %w", err)
	}
	archive := filepath.Join(work, "demo.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		return err
	}
	defer os.Remove(archive)
	if r := benchkit.Run(benchkit.Cmd{Args: []string{brig, "load", "-i", archive}, Env: env, Timeout: timeout}); r.Err != nil {
		return r.Err
	}
	return nil
}

// setupPodman sources hack/podman-env.sh for a private podman root in
// work/podman, imports localhost/bb and returns the environment to run
// podman in.
func setupPodman(o options, work string) ([]string, error) {
	if _, err := exec.LookPath(o.podman); err != nil {
		return nil, fmt.Errorf("%w (Debian: apt-get install podman, or -podman '' to skip)", err)
	}
	script, err := filepath.Abs(o.podmanEnv)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("podman setup: %w", err)
	}
	dir := filepath.Join(work, "podman")
	r := benchkit.Run(benchkit.Cmd{Args: []string{"bash", "-c", `source "$1" "$2" >&2 && env -0`, "brig-bench", script, dir}, Timeout: o.timeout})
	if r.Err != nil {
		return nil, fmt.Errorf("podman setup: %w", r.Err)
	}
	env := strings.Split(strings.Trim(r.Out, "\x00"), "\x00")
	var ok bool
	for _, kv := range env {
		ok = ok || strings.HasPrefix(kv, "CONTAINERS_CONF=")
	}
	if !ok {
		return nil, errors.New("podman setup: hack/podman-env.sh exported no CONTAINERS_CONF")
	}
	if r := benchkit.Run(benchkit.Cmd{Args: []string{"bash", script, dir, "import-bb"}, Timeout: o.timeout}); r.Err != nil {
		return nil, fmt.Errorf("podman import: %w", r.Err)
	}
	return env, nil
}

func cleanupPodman(o options, work string) {
	script, _ := filepath.Abs(o.podmanEnv)
	benchkit.Run(benchkit.Cmd{Args: []string{"bash", script, filepath.Join(work, "podman"), "cleanup"}, Timeout: o.timeout})
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
