package runtime

import (
	"errors"
	"fmt"
	"maps"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MergeResources returns the resources a running container has after
// `update` with upd: each field upd sets replaces the current one, the
// rest stay. What changes is memory, CPU, pids, the block I/O weight and
// unified (cgroup v2) keys. Device rules, hugepage, network and rdma
// limits stay as the container was created, whatever upd says, as with
// runc: engines send the container's whole resources back with every
// update (containerd does for Kubernetes), and rewriting device rules
// under running processes would briefly deny them.
func MergeResources(cur, upd *specs.LinuxResources) (*specs.LinuxResources, error) {
	if upd == nil {
		return nil, errors.New("no resources to update")
	}
	out := specs.LinuxResources{}
	if cur != nil {
		out = *cur
	}
	if m := upd.Memory; m != nil {
		nm := valueOf(out.Memory)
		set(&nm.Limit, m.Limit)
		set(&nm.Reservation, m.Reservation)
		set(&nm.Swap, m.Swap)
		set(&nm.Swappiness, m.Swappiness)
		set(&nm.DisableOOMKiller, m.DisableOOMKiller)
		nm.CheckBeforeUpdate = nil // about one update, not kept
		// kernel and kernelTCP are ignored, as the spec allows: the
		// kernel stopped supporting them in 5.4.
		for _, v := range []struct {
			name string
			v    *int64
		}{{"memory limit", nm.Limit}, {"memory+swap limit", nm.Swap}, {"memory reservation", nm.Reservation}} {
			if v.v != nil && (*v.v < -1 || (*v.v == 0 && v.name != "memory reservation")) {
				return nil, fmt.Errorf("%s %d: want a number of bytes, or -1 for no limit", v.name, *v.v)
			}
		}
		if nm.Swap != nil && *nm.Swap > 0 && (nm.Limit == nil || *nm.Limit == -1) {
			return nil, errors.New("a memory+swap limit needs a memory limit")
		}
		if nm.Limit != nil && nm.Swap != nil && *nm.Limit > 0 && *nm.Swap != -1 && *nm.Swap < *nm.Limit {
			return nil, fmt.Errorf("memory+swap limit %d is below the memory limit %d: set the swap limit too", *nm.Swap, *nm.Limit)
		}
		if nm.Swappiness != nil && *nm.Swappiness > 100 {
			return nil, fmt.Errorf("swappiness %d: want 0 to 100", *nm.Swappiness)
		}
		out.Memory = &nm
	}
	if c := upd.CPU; c != nil {
		if c.Burst != nil {
			return nil, errors.New("cpu burst is not supported")
		}
		nc := valueOf(out.CPU)
		set(&nc.Shares, c.Shares)
		set(&nc.Quota, c.Quota)
		set(&nc.Period, c.Period)
		set(&nc.RealtimeRuntime, c.RealtimeRuntime)
		set(&nc.RealtimePeriod, c.RealtimePeriod)
		set(&nc.Idle, c.Idle)
		if c.Cpus != "" {
			nc.Cpus = c.Cpus
		}
		if c.Mems != "" {
			nc.Mems = c.Mems
		}
		out.CPU = &nc
	}
	if p := upd.Pids; p != nil {
		np := *p
		out.Pids = &np
	}
	if b := upd.BlockIO; b != nil {
		if b.LeafWeight != nil || len(b.WeightDevice) > 0 || len(b.ThrottleReadBpsDevice) > 0 ||
			len(b.ThrottleWriteBpsDevice) > 0 || len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0 {
			return nil, errors.New("only the block I/O weight can be updated")
		}
		nb := valueOf(out.BlockIO)
		set(&nb.Weight, b.Weight)
		out.BlockIO = &nb
	}
	if len(upd.Unified) > 0 {
		u := make(map[string]string, len(out.Unified)+len(upd.Unified))
		maps.Copy(u, out.Unified)
		maps.Copy(u, upd.Unified)
		out.Unified = u
	}
	return &out, nil
}

// changed is what Set has to write for an update: the fields upd gives,
// with the pairs that are written together taken whole from the merged
// result: memory's limit and swap (written in an order that depends on
// both) and the CPU quota and period (one file, cpu.max, on cgroup v2).
func changed(merged, upd *specs.LinuxResources) *specs.LinuxResources {
	c := *upd
	c.Devices, c.HugepageLimits, c.Network, c.Rdma = nil, nil, nil, nil
	if upd.Memory != nil {
		m := *upd.Memory
		if m.Limit != nil || m.Swap != nil {
			m.Limit, m.Swap = merged.Memory.Limit, merged.Memory.Swap
		}
		c.Memory = &m
	}
	if upd.CPU != nil {
		cpu := *upd.CPU
		if cpu.Quota != nil || cpu.Period != nil {
			cpu.Quota, cpu.Period = merged.CPU.Quota, merged.CPU.Period
		}
		c.CPU = &cpu
	}
	return &c
}

// valueOf is *p, or T's zero value for nil: the current settings a merge
// starts from.
func valueOf[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

func set[T any](dst **T, v *T) {
	if v != nil {
		x := *v
		*dst = &x
	}
}
