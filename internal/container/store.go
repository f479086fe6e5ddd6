// Package container keeps brig's container records: names, the user's
// options, the image, and each container's exit. The runtime keeps the
// kernel-facing state (internal/runtime); this package keeps what people
// refer to, so `brig ps`, `inspect` and name lookups work across processes.
package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/brigrt/brig/internal/conmon"
	"github.com/brigrt/brig/internal/rawio"
)

// Record is one container as the user created it.
type Record struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Image    string    `json:"image"`   // as the user typed it
	ImageID  string    `json:"imageId"` // resolved digest
	Created  time.Time `json:"created"`
	Command  []string  `json:"command"`
	Bundle   string    `json:"bundle"`
	Rootfs   string    `json:"rootfs"`
	LogPath  string    `json:"logPath"`
	TTY      bool      `json:"tty,omitempty"`
	Rm       bool      `json:"autoRemove,omitempty"`
	MCS      string    `json:"mcsLevel,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
	// Options is the user's intent (spec.Options), kept as JSON so this
	// package does not depend on the flag parser.
	Options json.RawMessage `json:"options,omitempty"`
	// Privileged is recorded for container:NAME checks and lint.
	Privileged bool `json:"privileged,omitempty"`
}

// Exit is written by the monitor when the container's main process ends.
type Exit = conmon.Exit

// Store is the directory of records: ROOT/containers/ID/{container.json,exit.json,...}.
type Store struct{ Dir string }

// Open creates the store directory if needed.
func Open(root string) (*Store, error) {
	dir := filepath.Join(root, "containers")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Store{Dir: dir}, nil
}

// NewID returns a random 64-hex id, like Docker's.
func NewID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ValidName checks a --name the way Docker does.
func ValidName(n string) error {
	if !nameRE.MatchString(n) || len(n) > 128 {
		return fmt.Errorf("invalid container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", n)
	}
	return nil
}

// Path is the container's own directory.
func (s *Store) Path(id string, elem ...string) string {
	return filepath.Join(append([]string{s.Dir, id}, elem...)...)
}

// lock serialises record creation, so two brig processes cannot take the
// same name.
func (s *Store) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, ".lock"), os.O_CREATE|os.O_RDWR|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// Create stores a new record; a name already in use is an error naming
// the container that holds it.
func (s *Store) Create(r *Record) error {
	if err := ValidName(r.Name); err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.indexNames(); err != nil {
		return err
	}
	link := s.nameLink(r.Name)
	if id, err := os.Readlink(link); err == nil {
		if o, err := s.Load(id); err == nil && o.Name == r.Name {
			return fmt.Errorf("%w: the container name %q is already in use by container %s; remove it (brig rm %s) or choose another name", ErrNameInUse, r.Name, short(o.ID), r.Name)
		}
		// Its container is gone (a create killed before its record was
		// written, or a remove before the link went): the name is free.
		if err := os.Remove(link); err != nil {
			return err
		}
	}
	// The name is taken before the record exists, so a create killed in
	// between leaves a stale link (freed above), never a second holder.
	if err := os.Symlink(r.ID, link); err != nil {
		return err
	}
	if err := os.Mkdir(s.Path(r.ID), 0o700); err != nil {
		os.Remove(link)
		return err
	}
	if err := s.Save(r); err != nil {
		os.Remove(link)
		return err
	}
	return nil
}

// The name index: one symlink name -> id per container in .names, so
// finding a container by name and checking a new name is free cost the
// same with 500 containers as with one, instead of reading every record.
func (s *Store) namesDir() string            { return filepath.Join(s.Dir, ".names") }
func (s *Store) nameLink(name string) string { return filepath.Join(s.namesDir(), name) }

// indexNames builds the index of a store that predates it, from the
// records, and puts it in place in one rename. Called with the lock held.
func (s *Store) indexNames() error {
	if _, err := os.Stat(s.namesDir()); err == nil {
		return nil
	}
	all, err := s.List()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(s.Dir, ".names-")
	if err != nil {
		return err
	}
	for _, r := range all {
		if ValidName(r.Name) == nil {
			_ = os.Symlink(r.ID, filepath.Join(tmp, r.Name))
		}
	}
	if err := os.Rename(tmp, s.namesDir()); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Save rewrites a record atomically.
func (s *Store) Save(r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return rawio.WriteFileAtomic(s.Path(r.ID, "container.json"), b, 0o600)
}

// Load reads one record by exact id.
func (s *Store) Load(id string) (*Record, error) {
	b, err := os.ReadFile(s.Path(id, "container.json"))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("container %s: corrupt record: %w", id, err)
	}
	return &r, nil
}

// List returns every record, oldest first. A directory without a record
// (a create interrupted before its first write) is skipped; Prune removes it.
func (s *Store) List() ([]*Record, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue // .names and its build directories are not records
		}
		r, err := s.Load(e.Name())
		if err != nil {
			s.repair(e.Name())
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// repair removes a directory a crashed create left without a record (it
// dies between mkdir and the record's first write). A fresh one may be a
// create in progress, so only one older than a minute goes.
func (s *Store) repair(id string) {
	st, err := os.Stat(s.Path(id))
	if err != nil || time.Since(st.ModTime()) < time.Minute {
		return
	}
	if _, err := os.Stat(s.Path(id, "container.json")); os.IsNotExist(err) {
		_ = os.RemoveAll(s.Path(id))
	}
}

// ErrNameInUse is returned by Create when another container has the name.
var ErrNameInUse = errors.New("name in use")

// ErrNotFound is returned by Get for an unknown name or id.
var ErrNotFound = errors.New("no such container")

// Get finds a container by name, full id or unique id prefix.
func (s *Store) Get(ref string) (*Record, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty name", ErrNotFound)
	}
	if _, err := os.Stat(s.namesDir()); err != nil {
		return s.scan(ref) // a store from before the index, not written since
	}
	if ValidName(ref) == nil {
		if id, err := os.Readlink(s.nameLink(ref)); err == nil {
			if r, err := s.Load(id); err == nil && r.Name == ref {
				return r, nil
			}
		}
	}
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		// Records only, as in List: .names and its build directories are not.
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && strings.HasPrefix(e.Name(), ref) {
			if e.Name() == ref {
				ids = []string{ref}
				break
			}
			ids = append(ids, e.Name())
		}
	}
	switch len(ids) {
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	case 1:
		r, err := s.Load(ids[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
		}
		return r, nil
	}
	return nil, fmt.Errorf("id prefix %q matches %d containers; use more characters", ref, len(ids))
}

// scan is Get by reading every record.
func (s *Store) scan(ref string) (*Record, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var matches []*Record
	for _, r := range all {
		if r.Name == ref || r.ID == ref {
			return r, nil
		}
		if strings.HasPrefix(r.ID, ref) {
			matches = append(matches, r)
		}
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	case 1:
		return matches[0], nil
	}
	return nil, fmt.Errorf("id prefix %q matches %d containers; use more characters", ref, len(matches))
}

// Remove deletes the record and everything in its directory, and frees
// its name.
func (s *Store) Remove(id string) error {
	if r, err := s.Load(id); err == nil && ValidName(r.Name) == nil {
		link := s.nameLink(r.Name)
		if target, err := os.Readlink(link); err == nil && target == id {
			_ = os.Remove(link)
		}
	}
	return os.RemoveAll(s.Path(id))
}

// SaveExit records how the container's main process ended.
func (s *Store) SaveExit(id string, e Exit) error {
	b, _ := json.Marshal(e)
	return rawio.WriteFileAtomic(s.Path(id, "exit.json"), b, 0o600)
}

// LoadExit returns the recorded exit, or nil if the container has not exited.
func (s *Store) LoadExit(id string) *Exit {
	b, err := os.ReadFile(s.Path(id, "exit.json"))
	if err != nil {
		return nil
	}
	var e Exit
	if json.Unmarshal(b, &e) != nil {
		return nil
	}
	return &e
}

// ClearExit forgets a previous exit (before a restart with `brig start`).
func (s *Store) ClearExit(id string) { os.Remove(s.Path(id, "exit.json")) }

// RandomName makes a Docker-style adjective_noun name.
func RandomName() string {
	adj := []string{"brave", "calm", "eager", "fair", "gentle", "keen", "lucid", "merry", "nimble", "proud", "quiet", "sharp", "stoic", "tidy", "wise", "zen"}
	noun := []string{"anchor", "beacon", "cabin", "dock", "harbor", "keel", "mast", "oar", "pier", "quay", "reef", "rudder", "sail", "stern", "tide", "wharf"}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s_%s_%d", adj[int(b[0])%len(adj)], noun[int(b[1])%len(noun)], int(b[2])<<8|int(b[3]))
}
