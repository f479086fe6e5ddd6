package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
)

// Rootfs modes.
const (
	modeOverlay = "overlay"
	modeCopy    = "copy"
)

// MountOption tunes Mount.
type MountOption func(*mountOptions)

type mountOptions struct{ label string }

// WithMountLabel mounts an overlay rootfs with the SELinux context label
// (the container's file label, e.g. system_u:object_r:container_file_t:s0:c1,c2).
// A copied rootfs (no overlay) is not relabelled.
func WithMountLabel(label string) MountOption {
	return func(o *mountOptions) { o.label = label }
}

// containerRecord remembers which layers a container's rootfs is made of,
// so garbage collection keeps them even after its image is force-removed.
type containerRecord struct {
	Image  string   `json:"image"`
	Layers []string `json:"layers"`
	Mode   string   `json:"mode"`
}

// checkContainerID accepts what ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$ does.
// Not a regexp: compiling that one (the counted repetition unrolls into
// 127 nodes) cost every brig command 0.8 ms at start-up.
func checkContainerID(id string) error {
	ok := len(id) >= 1 && len(id) <= 128
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		ok = alnum || i > 0 && (c == '_' || c == '.' || c == '-')
	}
	if !ok {
		return fmt.Errorf("invalid container id %q", id)
	}
	return nil
}

func (s *Store) containerDir(id string) string { return s.path("containers", id) }

func (s *Store) readContainer(id string) (*containerRecord, error) {
	data, err := os.ReadFile(s.path("containers", id, "record.json"))
	if err != nil {
		return nil, err
	}
	rec := &containerRecord{}
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("container %s rootfs record: %w", id, err)
	}
	return rec, nil
}

func (s *Store) containerRecords() (map[string]*containerRecord, error) {
	ents, err := os.ReadDir(s.path("containers"))
	if err != nil {
		return nil, err
	}
	out := map[string]*containerRecord{}
	for _, e := range ents {
		rec, err := s.readContainer(e.Name())
		if errors.Is(err, os.ErrNotExist) {
			// Created by a Mount that crashed before its record: it holds
			// no layers, so it pins nothing.
			continue
		}
		if err != nil {
			return nil, err
		}
		out[e.Name()] = rec
	}
	return out, nil
}

// containersUsing lists the containers whose rootfs comes from image id.
func (s *Store) containersUsing(id string) ([]string, error) {
	recs, err := s.containerRecords()
	if err != nil {
		return nil, err
	}
	var out []string
	for cid, rec := range recs {
		if rec.Image == id {
			out = append(out, cid)
		}
	}
	sort.Strings(out)
	return out, nil
}
