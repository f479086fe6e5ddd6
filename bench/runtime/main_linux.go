//go:build linux

// Command runtime-bench runs brig-runtime, runc and crun side by side on the
// same busybox bundle and checks issue 2's speed and memory targets:
//
//   - `run` of /bin/true: wall <= 0.8x crun and <= 0.4x runc, CPU <= crun;
//   - `create` <= crun's `create`;
//   - peak RSS <= 5 MB (runc about 10 MB, crun 3.3 MB);
//   - 200 containers 8 at a time, then 1000 in a row: 0 failures, 0 leaks.
//
// Runs are interleaved (A B C, B C A, ...), so neighbouring samples share
// the machine's load; medians and ratios are printed, and a PASS or MISS
// line per target. It needs root, runc and crun (Debian packages):
//
//	go build -o /tmp/runtime-bench ./bench/runtime && /tmp/runtime-bench -rounds 30
//
// Everything runs in one private mount namespace (see benchkit.Isolate):
// no runtime pays for a wrapper, and a mount left behind shows up here.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brigrt/brig/bench/internal/benchkit"
	"github.com/brigrt/brig/internal/testimage"
)

type options struct {
	brig, runc, crun   string
	rounds, warmup     int
	memRounds          int
	timeBin            string
	parTotal, par, seq int
	scale              string
	workBase           string
	timeout            time.Duration
	keep               bool
}

func main() {
	var o options
	flag.StringVar(&o.brig, "brig-runtime", "bin/brig-runtime", "brig-runtime binary")
	flag.StringVar(&o.runc, "runc", "runc", "runc binary")
	flag.StringVar(&o.crun, "crun", "crun", "crun binary")
	flag.IntVar(&o.rounds, "rounds", 30, "timed rounds per runtime (each: one run, one create/start/delete)")
	flag.IntVar(&o.warmup, "warmup", 3, "unmeasured rounds first")
	flag.IntVar(&o.memRounds, "mem-rounds", 5, "rounds measuring peak RSS through GNU time")
	flag.StringVar(&o.timeBin, "time", "/usr/bin/time", "GNU time, the small parent used for the RSS rounds")
	flag.IntVar(&o.parTotal, "par-total", 200, "scale: containers started in parallel")
	flag.IntVar(&o.par, "par", 8, "scale: how many at a time")
	flag.IntVar(&o.seq, "seq", 1000, "scale: containers run one after another")
	flag.StringVar(&o.scale, "scale", "brig-runtime", "runtimes to scale-test: brig-runtime, all or none")
	flag.StringVar(&o.workBase, "work", "/var/tmp", "where the bundle is written")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "limit per runtime command")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "runtime-bench: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if o.rounds < 1 || o.memRounds < 1 || o.warmup < 0 || o.par < 1 || o.parTotal < 0 || o.seq < 0 {
		fmt.Fprintln(os.Stderr, "runtime-bench: -rounds and -mem-rounds must be >= 1, -par >= 1, the other counts >= 0")
		os.Exit(2)
	}
	switch o.scale {
	case "brig-runtime", "all", "none":
	default:
		fmt.Fprintf(os.Stderr, "runtime-bench: -scale %q: want brig-runtime, all or none\n", o.scale)
		os.Exit(2)
	}
	if err := benchkit.Isolate(); err != nil {
		fmt.Fprintln(os.Stderr, "runtime-bench:", err)
		os.Exit(2)
	}
	rep, err := bench(o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runtime-bench:", err)
		os.Exit(2)
	}
	if rep.Missed() {
		os.Exit(1)
	}
}

// runtime is one OCI runtime under test.
type runtime struct {
	name, path, root string
	n                atomic.Int64 // container ids handed out
	prefix           string
}

func (r *runtime) id() string { return fmt.Sprintf("%s%s-%d", r.prefix, r.name[:4], r.n.Add(1)) }

func (r *runtime) cmd(timeout time.Duration, args ...string) benchkit.Cmd {
	return benchkit.Cmd{Args: append([]string{r.path, "--root", r.root}, args...), Timeout: timeout}
}

// rssProbe measures peak RSS. wait4's ru_maxrss of a child starts at its
// parent's own peak (the kernel records the old mm's high-water mark at
// execve, and a vfork child shares its parent's mm), so as this harness's
// children all runtimes would show the harness's ~17 MB. GNU time is a
// small parent: it forks the command and writes its wait4 ru_maxrss (the
// largest of the command and every process it reaped) to a file;
// /bin/true under it shows about 1 MB, as in the anchors. The RSS rounds
// are separate from the timed ones, so time's fork costs no runtime.
type rssProbe struct {
	time string // GNU time
	dir  string
}

func (p rssProbe) wrap(c benchkit.Cmd, name string) (benchkit.Cmd, string) {
	f := filepath.Join(p.dir, name+".rss")
	c.Args = append([]string{p.time, "-f", "%M", "-o", f}, c.Args...)
	return c, f
}

func readRSS(path string) (float64, error) {
	b, err := os.ReadFile(path)
	os.Remove(path)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("%s: empty", path)
	}
	// On failure GNU time writes "Command exited with non-zero status N" first.
	n, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// stats are one runtime's samples.
type stats struct {
	s        benchkit.Series
	failures int
	errs     []string
}

func (st *stats) fail(err error) {
	st.failures++
	if len(st.errs) < 3 {
		st.errs = append(st.errs, err.Error())
	}
}

func bench(o options, w io.Writer) (*benchkit.Report, error) {
	if err := benchkit.Subreaper(); err != nil {
		return nil, fmt.Errorf("become subreaper: %w", err)
	}
	rts := []*runtime{{name: "brig-runtime", path: o.brig}, {name: "runc", path: o.runc}, {name: "crun", path: o.crun}}
	pfx, err := prefix()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(o.workBase, "brig-bench-rt-")
	if err != nil {
		return nil, err
	}
	state, err := os.MkdirTemp("/run", "brig-bench-rt-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer os.RemoveAll(work)
		defer os.RemoveAll(state)
	}
	for _, rt := range rts {
		p, err := exec.LookPath(rt.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (runc and crun are Debian packages; brig-runtime comes from `make build`)", rt.name, err)
		}
		if rt.path, err = filepath.Abs(p); err != nil {
			return nil, err
		}
		rt.root = filepath.Join(state, rt.name)
		rt.prefix = pfx
		if err := os.Mkdir(rt.root, 0o700); err != nil {
			return nil, err
		}
	}
	bundle := filepath.Join(work, "bundle")
	if err := writeBundle(bundle); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	watch, err := benchkit.NewWatch()
	if err != nil {
		return nil, err
	}
	watch.Match = func(name string) bool { return strings.HasPrefix(name, pfx) }
	watch.Markers = []string{work, state}
	for _, rt := range rts {
		watch.StateDirs = append(watch.StateDirs, rt.root)
	}

	fmt.Fprintf(w, "runtime-bench: %s, %d measured rounds (+%d warm-up), load %s, %s\n",
		time.Now().UTC().Format(time.RFC3339), o.rounds, o.warmup, benchkit.LoadAvg(), versions(rts))
	fmt.Fprintf(w, "bundle: busybox-static rootfs, `runc spec` defaults without ambient capabilities, ociVersion 1.0.2, args [/bin/true], terminal false\n")

	all := map[string]*stats{}
	for _, rt := range rts {
		all[rt.name] = &stats{s: benchkit.Series{}}
	}
	// One container each first: a runtime that cannot run the bundle at
	// all is an error, not a benchmark result. A failure that goes away on
	// a second try still counts as one.
	for _, rt := range rts {
		for try := 1; ; try++ {
			r := benchkit.Run(rt.cmd(o.timeout, "run", "--bundle", bundle, rt.id()))
			if r.Err == nil {
				break
			}
			all[rt.name].fail(r.Err)
			cleanup(rt, o.timeout)
			if try == 3 {
				return nil, fmt.Errorf("%s cannot run the bundle: %w", rt.name, r.Err)
			}
		}
	}

	floor := benchkit.Series{}
	floorCmd := benchkit.Cmd{Args: []string{"unshare", "--pid", "--fork", "--mount", "--net", "--ipc", "--uts", "/bin/true"}, Timeout: o.timeout}
	for i := 0; i < o.warmup+o.rounds; i++ {
		keep := i >= o.warmup
		order := rotate(rts, i)
		for _, rt := range order {
			st := all[rt.name]
			r := benchkit.Run(rt.cmd(o.timeout, "run", "--bundle", bundle, rt.id()))
			if r.Err != nil {
				st.fail(r.Err)
				continue
			}
			if keep {
				st.s.Add("run.wall", benchkit.Ms(r.Wall))
				st.s.Add("run.cpu", benchkit.Ms(r.CPU()))
			}
		}
		// The floor: the namespaces alone, no runtime.
		if r := benchkit.Run(floorCmd); r.Err == nil && keep {
			floor.Add("run.wall", benchkit.Ms(r.Wall))
			floor.Add("run.cpu", benchkit.Ms(r.CPU()))
		}
		for _, rt := range order {
			phases(rt, bundle, o.timeout, all[rt.name], keep, nil)
		}
	}
	probe := &rssProbe{time: o.timeBin, dir: state}
	for i := 0; i < o.memRounds; i++ {
		order := rotate(rts, i)
		for _, rt := range order {
			st := all[rt.name]
			c, f := probe.wrap(rt.cmd(o.timeout, "run", "--bundle", bundle, rt.id()), rt.name)
			if r := benchkit.Run(c); r.Err != nil {
				st.fail(r.Err)
			} else if kb, err := readRSS(f); err != nil {
				st.fail(err)
			} else {
				st.s.Add("run.rss", kb)
			}
			phases(rt, bundle, o.timeout, st, true, probe)
		}
		c, f := probe.wrap(floorCmd, "floor")
		if r := benchkit.Run(c); r.Err == nil {
			if kb, err := readRSS(f); err == nil {
				floor.Add("run.rss", kb)
			}
		}
	}
	timedLeaks := watch.Check()
	for _, rt := range rts {
		cleanup(rt, o.timeout)
	}

	rep := &benchkit.Report{}
	speedTables(w, rts, all, floor, o, timedLeaks, rep)

	// Scale: many containers, each run to completion.
	scaleT := &benchkit.Table{
		Title: "scale: each container runs /bin/true to completion; leaks checked after each round",
		Head:  []string{"runtime", "round", "containers", "failures", "elapsed s", "ms/container", "leaks"},
	}
	for _, rt := range rts {
		if o.scale == "none" || (o.scale == "brig-runtime" && rt.name != "brig-runtime") {
			continue
		}
		for _, round := range []struct {
			name  string
			total int
			at    int
		}{{fmt.Sprintf("%d at a time", o.par), o.parTotal, o.par}, {"in a row", o.seq, 1}} {
			if round.total == 0 {
				continue
			}
			st := &stats{}
			start := time.Now()
			scale(rt, bundle, round.total, round.at, o.timeout, st)
			el := time.Since(start)
			lk := watch.Check()
			cleanup(rt, o.timeout)
			scaleT.Add(rt.name, round.name, strconv.Itoa(round.total), strconv.Itoa(st.failures),
				benchkit.F(el.Seconds(), 2), benchkit.F(benchkit.Ms(el)/float64(round.total), 1), lk.Summary())
			for _, e := range st.errs {
				scaleT.Note("%s %s failure: %s", rt.name, round.name, e)
			}
			for _, e := range lk.Examples(5) {
				scaleT.Note("%s %s leak: %s", rt.name, round.name, e)
			}
			if rt.name == "brig-runtime" {
				name := fmt.Sprintf("runtime: scale %d (%s)", round.total, round.name)
				rep.Zero(name+" failures", st.failures, "")
				rep.Zero(name+" leaks", lk.Count(), lk.Summary())
			}
		}
	}
	if len(scaleT.Rows) > 0 {
		scaleT.Write(w)
	}
	rep.Write(w)
	return rep, nil
}

// phases times `create` alone, then start, reaps the init (it is our
// child: we are the subreaper) and times delete. With a probe, it measures
// the peak RSS of `create` and of the init instead of times.
func phases(rt *runtime, bundle string, timeout time.Duration, st *stats, keep bool, probe *rssProbe) {
	id := rt.id()
	pidFile := filepath.Join(rt.root, "..", id+".pid")
	defer os.Remove(pidFile)
	cc, rssFile := rt.cmd(timeout, "create", "--bundle", bundle, "--pid-file", pidFile, id), ""
	if probe != nil {
		cc, rssFile = probe.wrap(cc, rt.name)
	}
	c := benchkit.Run(cc)
	if c.Err != nil {
		st.fail(c.Err)
		return
	}
	pid, err := readPid(pidFile)
	if err != nil {
		st.fail(fmt.Errorf("%s create: pid file: %w", rt.name, err))
		return
	}
	s := benchkit.Run(rt.cmd(timeout, "start", id))
	if s.Err != nil {
		st.fail(s.Err)
		return
	}
	ru, reaped, err := benchkit.WaitExit(pid, timeout)
	if err != nil {
		st.fail(fmt.Errorf("%s: container init: %w", rt.name, err))
		return
	}
	d := benchkit.Run(rt.cmd(timeout, "delete", id))
	if d.Err != nil {
		st.fail(d.Err)
		return
	}
	switch {
	case !keep:
	case probe != nil:
		kb, err := readRSS(rssFile)
		if err != nil {
			st.fail(err)
			return
		}
		st.s.Add("create.rss", kb)
		if reaped {
			// The init's ru_maxrss starts at the runtime's peak when it
			// forked the init: a runtime-tree figure, as wanted.
			st.s.Add("init.rss", float64(ru.Maxrss))
		}
	default:
		st.s.Add("create.wall", benchkit.Ms(c.Wall))
		st.s.Add("create.cpu", benchkit.Ms(c.CPU()))
		st.s.Add("start.wall", benchkit.Ms(s.Wall))
		st.s.Add("delete.wall", benchkit.Ms(d.Wall))
	}
}

// scale runs total containers to completion, at a time in parallel.
func scale(rt *runtime, bundle string, total, at int, timeout time.Duration, st *stats) {
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range at {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				r := benchkit.Run(rt.cmd(timeout, "run", "--bundle", bundle, rt.id()))
				if r.Err != nil {
					mu.Lock()
					st.fail(r.Err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
}

// cleanup force-deletes whatever a failed run left in rt's state, so one
// round's leak is not counted again in the next.
func cleanup(rt *runtime, timeout time.Duration) {
	ents, _ := os.ReadDir(rt.root)
	for _, e := range ents {
		benchkit.Run(rt.cmd(timeout, "delete", "--force", e.Name()))
	}
}

func speedTables(w io.Writer, rts []*runtime, all map[string]*stats, floor benchkit.Series, o options, leaks benchkit.Leaks, rep *benchkit.Report) {
	b, runc, crun := all["brig-runtime"].s, all["runc"].s, all["crun"].s
	ratio := func(a, b benchkit.Series, key string) float64 { return a.Median(key) / b.Median(key) }

	t := &benchkit.Table{
		Title: fmt.Sprintf("`run` of /bin/true: medians of %d interleaved rounds (ms, KiB)", o.rounds),
		Head:  []string{"runtime", "wall", "p90 wall", "cpu", "peak RSS", "wall/crun", "wall/runc", "cpu/crun", "failures"},
	}
	for _, rt := range rts {
		st := all[rt.name]
		t.Add(rt.name, benchkit.F(st.s.Median("run.wall"), 2), benchkit.F(benchkit.Quantile(st.s["run.wall"], 0.9), 2),
			benchkit.F(st.s.Median("run.cpu"), 2), benchkit.F(benchkit.Max(st.s["run.rss"]), 0),
			benchkit.F(ratio(st.s, crun, "run.wall"), 2), benchkit.F(ratio(st.s, runc, "run.wall"), 2),
			benchkit.F(ratio(st.s, crun, "run.cpu"), 2), strconv.Itoa(st.failures))
	}
	t.Add("floor: unshare -pmniu --fork /bin/true", benchkit.F(floor.Median("run.wall"), 2), benchkit.F(benchkit.Quantile(floor["run.wall"], 0.9), 2),
		benchkit.F(floor.Median("run.cpu"), 2), benchkit.F(benchkit.Max(floor["run.rss"]), 0), "", "", "", "")
	t.Note("cpu = user+sys of the runtime and every process it reaped (wait4 rusage)")
	t.Note("peak RSS = the largest wait4 ru_maxrss of the runtime and what it reaped, over %d RSS rounds run under GNU time (a small parent;", o.memRounds)
	t.Note("as a child of this harness a process would start at the harness's own peak)")
	t.Note("paired ratios (median of per-round ratios): brig/crun wall %s, brig/runc wall %s, brig/crun cpu %s",
		benchkit.F(benchkit.PairedRatio(b["run.wall"], crun["run.wall"]), 2),
		benchkit.F(benchkit.PairedRatio(b["run.wall"], runc["run.wall"]), 2),
		benchkit.F(benchkit.PairedRatio(b["run.cpu"], crun["run.cpu"]), 2))
	for _, rt := range rts {
		for _, e := range all[rt.name].errs {
			t.Note("%s failure: %s", rt.name, e)
		}
	}
	t.Write(w)

	p := &benchkit.Table{
		Title: "phases: create timed alone, then start, the init reaped, delete (medians, ms and KiB)",
		Head:  []string{"runtime", "create", "create cpu", "start", "delete", "create/crun", "create RSS", "init RSS"},
	}
	for _, rt := range rts {
		s := all[rt.name].s
		p.Add(rt.name, benchkit.F(s.Median("create.wall"), 2), benchkit.F(s.Median("create.cpu"), 2),
			benchkit.F(s.Median("start.wall"), 2), benchkit.F(s.Median("delete.wall"), 2),
			benchkit.F(ratio(s, crun, "create.wall"), 2),
			benchkit.F(benchkit.Max(s["create.rss"]), 0), benchkit.F(benchkit.Max(s["init.rss"]), 0))
	}
	p.Note("create RSS: ru_maxrss of `create` and the helpers it reaped; init RSS: ru_maxrss of the container init, reaped by this")
	p.Note("harness as subreaper (it starts at the runtime's peak when it forked the init, and covers the init before its execve)")
	p.Note("leaks after the measured rounds: %s", leaks.Summary())
	for _, e := range leaks.Examples(5) {
		p.Note("leak: %s", e)
	}
	p.Write(w)

	rep.AtMost("runtime: run wall brig-runtime/crun", ratio(b, crun, "run.wall"), 0.8, "x", 2)
	rep.AtMost("runtime: run wall brig-runtime/runc", ratio(b, runc, "run.wall"), 0.4, "x", 2)
	rep.AtMost("runtime: run cpu brig-runtime/crun", ratio(b, crun, "run.cpu"), 1.0, "x", 2)
	rep.AtMost("runtime: create wall brig-runtime/crun", ratio(b, crun, "create.wall"), 1.0, "x", 2)
	rep.AtMost("runtime: peak RSS of `run` (runtime and init)", benchkit.Max(b["run.rss"]), 5120, " KiB", 0)
	rep.AtMost("runtime: peak RSS of `create`", benchkit.Max(b["create.rss"]), 5120, " KiB", 0)
	rep.AtMost("runtime: peak RSS of the container init", benchkit.Max(b["init.rss"]), 5120, " KiB", 0)
	rep.Zero("runtime: brig-runtime failures in the timed and RSS rounds", all["brig-runtime"].failures, "")
	rep.Zero("runtime: leaks after the measured rounds (all runtimes)", leaks.Count(), leaks.Summary())
}

func rotate(rts []*runtime, i int) []*runtime {
	k := i % len(rts)
	return append(append([]*runtime(nil), rts[k:]...), rts[:k]...)
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: not a pid: %q", path, b)
	}
	return pid, nil
}

func prefix() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "bb" + hex.EncodeToString(b) + "-", nil
}

func versions(rts []*runtime) string {
	var vs []string
	for _, rt := range rts {
		r := benchkit.Run(benchkit.Cmd{Args: []string{rt.path, "--version"}, Timeout: 10 * time.Second})
		v, _, _ := strings.Cut(r.Out, "\n")
		vs = append(vs, v)
	}
	return strings.Join(vs, "; ")
}

// writeBundle writes the busybox bundle: `runc spec`'s defaults, with
// /bin/true, no terminal, and ociVersion 1.0.2 (crun 1.8.1 refuses 1.3.0).
// The spec's ambient set is left out: brig-runtime refuses to raise
// ambient capabilities that are not inheritable (the kernel's rule), where
// runc and crun skip them quietly, so `runc spec`'s default fails there.
func writeBundle(dir string) error {
	if err := testimage.Rootfs(filepath.Join(dir, "rootfs")); err != nil {
		return err
	}
	if !json.Valid([]byte(config)) {
		return errors.New("built-in config.json is not valid JSON")
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644)
}
