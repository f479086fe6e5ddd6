package label

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var pairRE = regexp.MustCompile(`^s0:c([0-9]+),c([0-9]+)$`)

func checkPair(t *testing.T, l string) {
	t.Helper()
	m := pairRE.FindStringSubmatch(l)
	if m == nil {
		t.Fatalf("level %q is not s0:cX,cY", l)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	if !(a < b && b < categories) || l == PrivLevel {
		t.Fatalf("bad pair %q", l)
	}
}

func TestReserveRelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mcs")
	l1, err := Reserve(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	checkPair(t, l1)
	again, err := Reserve(dir, "a")
	if err != nil || again != l1 {
		t.Fatalf("second Reserve for same id = %q, %v; want %q", again, err, l1)
	}
	l2, _ := Reserve(dir, "b")
	if l2 == l1 {
		t.Fatal("duplicate level")
	}
	if err := Release(dir, "a"); err != nil {
		t.Fatal(err)
	}
	if err := Release(dir, "a"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	got, _ := List(dir)
	if len(got) != 1 || got["b"] != l2 {
		t.Fatalf("List = %v", got)
	}
	if _, err := Reserve(dir, ""); err == nil {
		t.Fatal("empty id accepted")
	}
}

func TestReserveExact(t *testing.T) {
	dir := t.TempDir()
	if err := ReserveExact(dir, "x", "s0:c1,c2"); err != nil {
		t.Fatal(err)
	}
	// A shared explicit level is allowed, as in Docker and podman.
	if err := ReserveExact(dir, "y", "s0:c1,c2"); err != nil {
		t.Fatal(err)
	}
	if err := ReserveExact(dir, "z", "TopSecret"); err == nil {
		t.Fatal("untranslated level accepted")
	}
	got, _ := List(dir)
	if got["x"] != "s0:c1,c2" || got["y"] != "s0:c1,c2" {
		t.Fatalf("List = %v", got)
	}
}

// With all pairs but one taken, Reserve must find the last one, then fail.
func TestPickExhaustive(t *testing.T) {
	used := newPairSet()
	for a := 0; a < categories; a++ {
		for b := a + 1; b < categories; b++ {
			if a != 500 || b != 900 {
				used.add(a, b)
			}
		}
	}
	if l, err := pick(used); err != nil || l != "s0:c500,c900" {
		t.Fatalf("pick = %q, %v", l, err)
	}
	used.add(500, 900)
	if _, err := pick(used); err != ErrNoLevels {
		t.Fatalf("want ErrNoLevels, got %v", err)
	}
}

func TestParsePair(t *testing.T) {
	for in, ok := range map[string]bool{"s0:c1,c2": true, "s0:c0,c1023": true, "s0:c2,c1": false, "s0:c1,c1": false,
		"s0:c1,c1024": false, "s15": false, "s0:c1.c2": false, "s0:c-1,c2": false, "s0:c1,c2,c3": false} {
		if _, _, got := parsePair(in); got != ok {
			t.Errorf("parsePair(%q) ok = %v", in, got)
		}
	}
}

// An explicit level held by one container is never handed out at random.
func TestReserveAvoidsExact(t *testing.T) {
	dir := t.TempDir()
	if err := ReserveExact(dir, "x", "s0:c1,c2"); err != nil {
		t.Fatal(err)
	}
	tbl, err := load(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	used := usedPairs(tbl)
	if !used.has(1, 2) || !used.has(1022, 1023) || used.has(2, 3) {
		t.Fatal("exact or privileged level not counted as used")
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"live1", "dead1", "live2", "dead2"} {
		if _, err := Reserve(dir, id); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := Prune(dir, func(id string) bool { return strings.HasPrefix(id, "live") })
	if err != nil || strings.Join(gone, ",") != "dead1,dead2" {
		t.Fatalf("Prune = %v, %v", gone, err)
	}
	got, _ := List(dir)
	if len(got) != 2 || got["live1"] == "" || got["live2"] == "" {
		t.Fatalf("left %v", got)
	}
}

func TestCorruptState(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, stateFile), []byte("{not json"), 0o600)
	if _, err := Reserve(dir, "a"); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("want corrupt error, got %v", err)
	}
}

func TestReserveConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	const n = 100
	levels := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			levels[i], errs[i] = Reserve(dir, fmt.Sprintf("g%d", i))
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i, l := range levels {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		checkPair(t, l)
		if j, dup := seen[l]; dup {
			t.Fatalf("g%d and g%d both got %s", i, j, l)
		}
		seen[l] = i
	}
	all, _ := List(dir)
	if len(all) != n {
		t.Fatalf("state holds %d entries, want %d", len(all), n)
	}
}

// childEnv makes the test binary act as a separate brig process.
const childEnv = "BRIG_TEST_MCS_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		// dir|prefix|count
		p := strings.SplitN(spec, "|", 3)
		n, _ := strconv.Atoi(p[2])
		for i := range n {
			l, err := Reserve(p[0], fmt.Sprintf("%s-%d", p[1], i))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println(l)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestReserveConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	const procs, each = 8, 25
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|p%d|%d", childEnv, dir, p, each))
			outs[p], errs[p] = cmd.Output()
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for p := range procs {
		if errs[p] != nil {
			t.Fatalf("child %d: %v", p, errs[p])
		}
		lines := strings.Fields(string(outs[p]))
		if len(lines) != each {
			t.Fatalf("child %d printed %d levels", p, len(lines))
		}
		for _, l := range lines {
			checkPair(t, l)
			if seen[l] {
				t.Fatalf("level %s handed out twice across processes", l)
			}
			seen[l] = true
		}
	}
	all, _ := List(dir)
	if len(all) != procs*each {
		t.Fatalf("state holds %d entries, want %d", len(all), procs*each)
	}
}

// BenchmarkReserveRelease measures one run's allocator cost with 500
// containers already holding levels.
func BenchmarkReserveRelease(b *testing.B) {
	dir := b.TempDir()
	for i := range 500 {
		if _, err := Reserve(dir, fmt.Sprintf("c%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Reserve(dir, "new"); err != nil {
			b.Fatal(err)
		}
		if err := Release(dir, "new"); err != nil {
			b.Fatal(err)
		}
	}
}
