package label

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// MCS reservations live in dir/levels.json, a map from container id to
// level, guarded by an exclusive flock on dir/lock. The file is replaced by
// rename, so a crash leaves either the old or the new map, never a torn one;
// a crash between Reserve and the container's state being written leaves an
// entry that Prune removes.

const (
	stateFile = "levels.json"
	lockFile  = "lock"
	// categories is the MCS category range go-selinux uses (c0..c1023).
	categories = 1024
)

// entry is one reservation. Exact marks a level the user asked for; those may
// be shared (as Docker and podman allow for pods and --security-opt
// label=level:...), random ones never are.
type entry struct {
	Level string `json:"level"`
	Exact bool   `json:"exact,omitempty"`
}

type table map[string]entry

// ErrNoLevels means every category pair is taken.
var ErrNoLevels = errors.New("no free MCS category pair left")

func checkID(id string) error {
	if id == "" || strings.ContainsAny(id, "\x00\n") {
		return fmt.Errorf("invalid container id %q for an MCS reservation", id)
	}
	return nil
}

// Reserve returns a random s0:cX,cY (X<Y<1024) that no other id holds, and
// records it for id. If id already holds a level, that level is returned, so
// a retried command does not leak a pair.
func Reserve(dir, id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	var level string
	err := update(dir, func(t table) (bool, error) {
		if e, ok := t[id]; ok {
			level = e.Level
			return false, nil
		}
		used := usedPairs(t)
		l, err := pick(used)
		if err != nil {
			return false, err
		}
		level = l
		t[id] = entry{Level: l}
		return true, nil
	})
	return level, err
}

// usedPairs is every pair held, random or exact, plus the privileged pair.
func usedPairs(t table) pairSet {
	used := newPairSet()
	for _, e := range t {
		if a, b, ok := parsePair(e.Level); ok {
			used.add(a, b)
		}
	}
	a, b, _ := parsePair(PrivLevel)
	used.add(a, b)
	return used
}

// pairSet is a bitmap of category pairs (a<b), 128 KiB for 1024 categories.
type pairSet []uint64

func newPairSet() pairSet           { return make(pairSet, categories*categories/64) }
func (p pairSet) add(a, b int)      { i := a*categories + b; p[i/64] |= 1 << (i % 64) }
func (p pairSet) has(a, b int) bool { i := a*categories + b; return p[i/64]&(1<<(i%64)) != 0 }

// parsePair reads "s0:cA,cB" with A<B<1024. Other levels (ranges, other
// sensitivities) cannot collide with a random pair and are ignored.
func parsePair(l string) (int, int, bool) {
	rest, ok := strings.CutPrefix(l, "s0:c")
	if !ok {
		return 0, 0, false
	}
	x, y, ok := strings.Cut(rest, ",c")
	if !ok {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(x)
	b, err2 := strconv.Atoi(y)
	if err1 != nil || err2 != nil || a < 0 || a >= b || b >= categories {
		return 0, 0, false
	}
	return a, b, true
}

// pick tries random pairs first (cheap while the table is sparse) and falls
// back to a scan from a random start, so it always finds a free pair if any.
func pick(used pairSet) (string, error) {
	pair := func(a, b int) string { return fmt.Sprintf("s0:c%d,c%d", a, b) }
	for range 64 {
		a, b := rand.IntN(categories), rand.IntN(categories)
		if a == b {
			continue
		}
		if a > b {
			a, b = b, a
		}
		if !used.has(a, b) {
			return pair(a, b), nil
		}
	}
	start := rand.IntN(categories)
	for i := range categories {
		a := (start + i) % categories
		for b := a + 1; b < categories; b++ {
			if !used.has(a, b) {
				return pair(a, b), nil
			}
		}
	}
	return "", ErrNoLevels
}

// ReserveExact records a level the user chose (already translated to raw
// form). It may duplicate another container's level: Docker and podman let
// containers share a level on purpose (pods, label=level:...). Random
// reservations will never pick it while it is held.
func ReserveExact(dir, id, level string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if !IsRawLevel(level) {
		return fmt.Errorf("MCS level %q is not a raw level", level)
	}
	return update(dir, func(t table) (bool, error) {
		if e, ok := t[id]; ok && e.Level == level {
			return false, nil
		}
		t[id] = entry{Level: level, Exact: true}
		return true, nil
	})
}

// Release frees id's level. Releasing an id with no reservation is not an
// error, so rm can always call it.
func Release(dir, id string) error {
	return update(dir, func(t table) (bool, error) {
		if _, ok := t[id]; !ok {
			return false, nil
		}
		delete(t, id)
		return true, nil
	})
}

// Prune removes reservations whose container no longer exists (live returns
// false) and returns the removed ids, sorted.
func Prune(dir string, live func(id string) bool) ([]string, error) {
	var gone []string
	err := update(dir, func(t table) (bool, error) {
		for id := range t {
			if !live(id) {
				gone = append(gone, id)
				delete(t, id)
			}
		}
		return len(gone) > 0, nil
	})
	sort.Strings(gone)
	return gone, err
}

// List returns a copy of all reservations (id → level).
func List(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := update(dir, func(t table) (bool, error) {
		for id, e := range t {
			out[id] = e.Level
		}
		return false, nil
	})
	return out, err
}

// update runs fn on the table under the lock and writes the table back when
// fn reports a change.
func update(dir string, fn func(table) (bool, error)) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mcs: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, lockFile))
	if err != nil {
		return fmt.Errorf("mcs: lock %s: %w", dir, err)
	}
	defer unlock()
	t, err := load(filepath.Join(dir, stateFile))
	if err != nil {
		return err
	}
	changed, err := fn(t)
	if err != nil || !changed {
		return err
	}
	return save(dir, t)
}

func load(name string) (table, error) {
	t := table{}
	b, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mcs: %w", err)
	}
	if len(b) == 0 {
		return t, nil
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("mcs: %s is corrupt (%v); move it aside and run prune to rebuild", name, err)
	}
	return t, nil
}

func save(dir string, t table) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("mcs: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, stateFile))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mcs: write state: %w", err)
	}
	return nil
}
