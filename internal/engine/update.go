package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/brigrt/brig/internal/container"
	"github.com/brigrt/brig/internal/rawio"
	"github.com/brigrt/brig/internal/runtime"
	"github.com/brigrt/brig/internal/spec"
	"github.com/brigrt/brig/internal/units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// UpdateOptions are docker update's limits; what is left empty or zero
// stays as it is.
type UpdateOptions struct {
	Memory, MemorySwap, MemoryReservation string // sizes such as 512m; swap may be -1
	CPUs                                  string // e.g. 1.5
	CPUShares                             uint64
	CpusetCpus, CpusetMems                string
	PidsLimit                             int64 // -1: no limit
	BlkioWeight                           uint16
}

// Resources is what o changes, as a LinuxResources for the runtime.
func (o UpdateOptions) Resources() (*specs.LinuxResources, error) {
	var r specs.LinuxResources
	size := func(flag, v string, minusOne bool) (*int64, error) {
		if v == "" {
			return nil, nil
		}
		if minusOne && v == "-1" {
			n := int64(-1)
			return &n, nil
		}
		n, err := units.ParseBytes(v)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return &n, nil
	}
	var mem specs.LinuxMemory
	var err error
	if mem.Limit, err = size("memory", o.Memory, false); err != nil {
		return nil, err
	}
	if mem.Swap, err = size("memory-swap", o.MemorySwap, true); err != nil {
		return nil, err
	}
	if mem.Reservation, err = size("memory-reservation", o.MemoryReservation, false); err != nil {
		return nil, err
	}
	if mem != (specs.LinuxMemory{}) {
		r.Memory = &mem
	}
	var cpu specs.LinuxCPU
	if o.CPUs != "" {
		q, p, err := spec.ParseCPUs(o.CPUs)
		if err != nil {
			return nil, fmt.Errorf("--cpus %s: %w", o.CPUs, err)
		}
		cpu.Quota, cpu.Period = &q, &p
	}
	if o.CPUShares != 0 {
		s := o.CPUShares
		cpu.Shares = &s
	}
	cpu.Cpus, cpu.Mems = o.CpusetCpus, o.CpusetMems
	if cpu != (specs.LinuxCPU{}) {
		r.CPU = &cpu
	}
	if o.PidsLimit != 0 {
		if o.PidsLimit < -1 {
			return nil, fmt.Errorf("--pids-limit %d: use a positive number, or -1 for no limit", o.PidsLimit)
		}
		n := o.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &n}
	}
	if o.BlkioWeight != 0 {
		if o.BlkioWeight < 10 || o.BlkioWeight > 1000 {
			return nil, fmt.Errorf("--blkio-weight %d: want 10 to 1000", o.BlkioWeight)
		}
		w := o.BlkioWeight
		r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	}
	if r.Memory == nil && r.CPU == nil && r.Pids == nil && r.BlockIO == nil {
		return nil, errors.New("nothing to update: give a limit such as --memory, --cpus or --pids-limit")
	}
	return &r, nil
}

// Update changes a container's limits as docker update does: in its
// cgroups when it has them (created, running or paused), and in its
// config for every later start. A refused update changes neither.
func (e *Engine) Update(r *container.Record, o UpdateOptions) error {
	res, err := o.Resources()
	if err != nil {
		return err
	}
	path := filepath.Join(r.Bundle, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("container %s: bad config.json: %w", r.Name, err)
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	merged, err := runtime.MergeResources(s.Linux.Resources, res)
	if err != nil {
		return err
	}
	switch status, _ := e.Status(r); status {
	case runtime.Running, runtime.Paused, runtime.Created:
		if err := e.Runtime.Update(r.ID, res); err != nil && !errors.Is(err, runtime.ErrNotExist) {
			return err
		}
	}
	s.Linux.Resources = merged
	if b, err = json.MarshalIndent(&s, "", "  "); err != nil {
		return err
	}
	if err := rawio.WriteFileAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("the new limits are in force but not saved for the next start: %w", err)
	}
	// The user's intent, as inspect shows it.
	var opts spec.Options
	if len(r.Options) > 0 && json.Unmarshal(r.Options, &opts) == nil {
		if o.Memory != "" {
			opts.Memory = o.Memory
		}
		if o.CPUs != "" {
			opts.CPUs = o.CPUs
		}
		if o.PidsLimit != 0 {
			opts.PidsLimit = o.PidsLimit
		}
		if r.Options, err = json.Marshal(&opts); err == nil {
			return e.Containers.Save(r)
		}
	}
	return nil
}
