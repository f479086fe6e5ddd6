package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultRoot is where brig-runtime keeps container state, like runc's /run/runc.
const DefaultRoot = "/run/brig-runtime"

// State is what the runtime persists per container. Status is never stored:
// it is derived from the kernel each time it is read (see Status).
type State struct {
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Pid         int               `json:"pid"`
	StartTime   uint64            `json:"startTime"` // /proc/PID/stat field 22, guards against pid reuse
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Cgroup      *CgroupState      `json:"cgroup,omitempty"`
	// NsPaths are the namespaces exec joins, in the order it joins them.
	NsPaths map[string]string `json:"nsPaths,omitempty"`
	// Phase is "creating" until create finished; a leftover "creating" state
	// is a create that was interrupted and only delete applies to it.
	Phase string `json:"phase"`
	// Spec is the validated spec; exec, delete and the hooks need it.
	Spec *specs.Spec `json:"spec"`
}

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
	data, err := os.ReadFile(filepath.Join(st.dir(id), "state.json"))
	if err != nil {
		if os.IsNotExist(err) {
			if _, derr := os.Stat(st.dir(id)); derr == nil {
				// A create killed before its first write: only delete applies.
				return &State{ID: id, Phase: Creating}, nil
			}
			return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
		}
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("container %q: corrupt state: %w", id, err)
	}
	return &s, nil
}

// Save writes the state atomically (temp file + rename), so a reader never
// sees a half-written file and a crash leaves the old or the new version.
func (st Store) Save(s *State) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(st.dir(s.ID), "state.json"), data, 0o600)
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

// WriteFileAtomic writes data to path through a temporary file and a rename.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

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
