package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/brigrt/brig/internal/cgroup"
	"github.com/brigrt/brig/internal/runtime/wire"
	"github.com/brigrt/brig/internal/specjson"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultRoot is where brig-runtime keeps container state, like runc's /run/runc.
const DefaultRoot = "/run/brig-runtime"

// State is what the runtime persists per container (its fields are
// wire.State's). Status is never stored: it is derived from the kernel
// each time it is read (see Status).
type State wire.State

// MarshalJSON writes state.json through specjson: the same bytes as
// encoding/json, without building its codecs for the ~60 spec types at
// every save (half a millisecond for a fresh process, on the way to
// every container's init).
func (s *State) MarshalJSON() ([]byte, error) {
	return specjson.EncodeState((*wire.State)(s))
}

// UnmarshalJSON reads what MarshalJSON (or encoding/json) wrote.
func (s *State) UnmarshalJSON(data []byte) error {
	return specjson.DecodeState(data, (*wire.State)(s))
}

// CgroupState records where the container's cgroups are, so delete can
// remove them even if create was interrupted.
type CgroupState = cgroup.Manager

// Container status values, as in the runtime spec.
const (
	Creating = "creating"
	Created  = "created"
	Running  = "running"
	Paused   = "paused"
	Stopped  = "stopped"
)

// ErrNotExist is returned for an unknown container id.
var ErrNotExist = errors.New("container does not exist")

// Store is a directory of container states.
type Store struct{ Root string }

func (st Store) dir(id string) string { return filepath.Join(st.Root, id) }

// Load reads a container's state.
func (st Store) Load(id string) (*State, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	dir := st.dir(id)
	data, err := readFile(filepath.Join(dir, stateFile))
	if os.IsNotExist(err) {
		data, err = readFile(filepath.Join(dir, creatingFile))
	}
	if err != nil {
		if os.IsNotExist(err) {
			if _, derr := os.Stat(dir); derr == nil {
				// A create killed before its first write: only delete applies.
				return &State{ID: id, Phase: Creating}, nil
			}
			return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
		}
		return nil, err
	}
	var s State
	if err := specjson.DecodeState(data, (*wire.State)(&s)); err != nil {
		return nil, fmt.Errorf("container %q: corrupt state: %w", id, err)
	}
	return &s, nil
}

// A container's state is state.json once created; while create runs it
// is creating.json, which Load reads when there is no state.json. Both
// are written once, never replaced: on ext4 (this project's /run), a
// rename over an existing file makes the kernel allocate and start
// writing the new file's blocks at once (auto_da_alloc), and deleting it
// afterwards frees them; about 0.6 ms per container that lives a few
// milliseconds, against a few microseconds for files never written back.
const (
	stateFile    = "state.json"
	creatingFile = "creating.json"
)

// Save writes the state atomically (temp file + rename), so a reader never
// sees a half-written file and a crash leaves the old or the new version.
func (st Store) Save(s *State) error {
	data, err := specjson.EncodeState((*wire.State)(s))
	if err != nil {
		return err
	}
	name := stateFile
	if s.Phase == Creating {
		name = creatingFile
	}
	return WriteFileAtomic(filepath.Join(st.dir(s.ID), name), data, 0o600)
}

// List returns the ids of all containers, sorted.
func (st Store) List() ([]string, error) {
	ents, err := os.ReadDir(st.Root)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && ValidID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// WriteFileAtomic writes data to path through a temporary file and a
// rename. It uses the system calls directly: os.File would register the
// file with the netpoller first, tripling the syscalls of a state save
// on the path of every container start.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	var tmp string
	fd := -1
	var err error
	// O_EXCL|O_NOFOLLOW: a name planted in the directory is never followed
	// or reused; a stale one from a dead process of the same pid is skipped.
	for i := 0; i < 1000; i++ {
		tmp = filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp"+strconv.Itoa(os.Getpid())+"."+strconv.Itoa(int(tmpSeq.Add(1))))
		fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != unix.EEXIST {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "create", Path: tmp, Err: err}
	}
	for len(data) > 0 && err == nil {
		var n int
		n, err = unix.Write(fd, data)
		if err == unix.EINTR {
			err = nil
		}
		if n > 0 {
			data = data[n:]
		}
	}
	if err == nil {
		err = unix.Fchmod(fd, uint32(mode.Perm()))
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Rename(tmp, path)
	}
	if err != nil {
		_ = unix.Unlink(tmp)
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

var tmpSeq atomic.Int64

// OCIState is the runtime-spec state document, as `state` prints it and
// as hooks receive it on stdin.
func (s *State) OCIState(status string) specs.State {
	pid := s.Pid
	if status == Stopped {
		pid = 0
	}
	return specs.State{
		Version:     specs.Version,
		ID:          s.ID,
		Status:      specs.ContainerState(status),
		Pid:         pid,
		Bundle:      s.Bundle,
		Annotations: s.Annotations,
	}
}
