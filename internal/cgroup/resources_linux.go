package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Set applies the spec's resource limits.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if m.V1 != nil {
		return m.setV1(r)
	}
	return m.setV2(r)
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

func (m *Manager) setV1(r *specs.LinuxResources) error {
	var ws []kv
	if mem := r.Memory; mem != nil {
		d := m.V1["memory"]
		if mem.Reservation != nil {
			ws = append(ws, kv{d, "memory.soft_limit_in_bytes", i64(*mem.Reservation)})
		}
		if mem.Limit != nil || mem.Swap != nil {
			if err := setMemoryV1(d, mem); err != nil {
				return err
			}
		}
		if mem.Swappiness != nil && *mem.Swappiness <= 100 {
			ws = append(ws, kv{d, "memory.swappiness", u64(*mem.Swappiness)})
		}
		if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
			ws = append(ws, kv{d, "memory.oom_control", "1"})
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		v := "max"
		if *p.Limit > 0 {
			v = i64(*p.Limit)
		}
		ws = append(ws, kv{m.V1["pids"], "pids.max", v})
	}
	if c := r.CPU; c != nil {
		d := m.V1["cpu"]
		if c.Shares != nil && *c.Shares != 0 {
			ws = append(ws, kv{d, "cpu.shares", u64(*c.Shares)})
		}
		if c.Period != nil && *c.Period != 0 {
			ws = append(ws, kv{d, "cpu.cfs_period_us", u64(*c.Period)})
		}
		if c.Quota != nil && *c.Quota != 0 {
			ws = append(ws, kv{d, "cpu.cfs_quota_us", i64(*c.Quota)})
		}
		if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
			ws = append(ws, kv{d, "cpu.rt_period_us", u64(*c.RealtimePeriod)})
		}
		if c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0 {
			ws = append(ws, kv{d, "cpu.rt_runtime_us", i64(*c.RealtimeRuntime)})
		}
		if c.Cpus != "" {
			ws = append(ws, kv{m.V1["cpuset"], "cpuset.cpus", c.Cpus})
		}
		if c.Mems != "" {
			ws = append(ws, kv{m.V1["cpuset"], "cpuset.mems", c.Mems})
		}
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		ws = append(ws, kv{m.V1["blkio"], "blkio.weight", strconv.Itoa(int(*b.Weight))})
	}
	if len(r.Unified) > 0 {
		return errors.New("linux.resources.unified needs a cgroup v2 host")
	}
	if err := apply(ws); err != nil {
		return err
	}
	return setDevicesV1(m.V1["devices"], r.Devices)
}

// setMemoryV1 orders the memory and memory+swap limits so that the limit
// never exceeds memsw while both change.
func setMemoryV1(d string, mem *specs.LinuxMemory) error {
	var limit, swap string
	if mem.Limit != nil {
		limit = i64(*mem.Limit)
	}
	if mem.Swap != nil {
		swap = i64(*mem.Swap)
	} else if mem.Limit != nil && *mem.Limit > 0 {
		// Docker's rule: without --memory-swap, swap may equal memory.
		swap = i64(2 * *mem.Limit)
	}
	_, memswErr := os.Stat(filepath.Join(d, "memory.memsw.limit_in_bytes"))
	if memswErr != nil {
		swap = "" // swap accounting is off on this kernel
	}
	order := []kv{{d, "memory.limit_in_bytes", limit}, {d, "memory.memsw.limit_in_bytes", swap}}
	if swap != "" && limit != "" {
		cur, _ := read(d, "memory.memsw.limit_in_bytes")
		if c, err := strconv.ParseInt(cur, 10, 64); err == nil && *mem.Limit > c {
			order[0], order[1] = order[1], order[0]
		}
	}
	var ws []kv
	for _, w := range order {
		if w.v != "" {
			ws = append(ws, w)
		}
	}
	return apply(ws)
}

// Devices v1: the rules go to devices.allow / devices.deny in order.
func setDevicesV1(d string, rules []specs.LinuxDeviceCgroup) error {
	if len(rules) == 0 {
		return nil
	}
	if d == "" {
		return errors.New("device rules given but no devices cgroup on this host")
	}
	// Each rule is one write; the two files are opened once for all of
	// them (a container's defaults are a dozen rules, and every open of a
	// cgroupfs file costs a lookup of its own).
	fds := map[string]int{}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, r := range append(rules, DefaultAllows...) {
		s, err := ruleString(r)
		if err != nil {
			return err
		}
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		fd, ok := fds[file]
		if !ok {
			if fd, err = unix.Open(d+"/"+file, unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
				return fmt.Errorf("open %s/%s: %w", d, file, err)
			}
			fds[file] = fd
		}
		if err := writeFd(fd, s); err != nil {
			return fmt.Errorf("write %q to %s/%s: %w", s, d, file, err)
		}
	}
	return nil
}

func (m *Manager) setV2(r *specs.LinuxResources) error {
	d := m.V2
	var ws []kv
	if mem := r.Memory; mem != nil {
		if mem.Limit != nil {
			ws = append(ws, kv{d, "memory.max", max2(*mem.Limit)})
		}
		if mem.Reservation != nil {
			ws = append(ws, kv{d, "memory.low", max2(*mem.Reservation)})
		}
		if mem.Swap != nil {
			// OCI's swap is memory+swap; v2's swap.max is swap alone.
			switch {
			case *mem.Swap == -1:
				ws = append(ws, kv{d, "memory.swap.max", "max"})
			case mem.Limit != nil && *mem.Limit > 0:
				if *mem.Swap < *mem.Limit {
					return fmt.Errorf("memory+swap limit %d is below the memory limit %d", *mem.Swap, *mem.Limit)
				}
				ws = append(ws, kv{d, "memory.swap.max", i64(*mem.Swap - *mem.Limit)})
			}
		}
		if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
			return errors.New("disableOOMKiller is not supported on cgroup v2")
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		ws = append(ws, kv{d, "pids.max", max2(*p.Limit)})
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			// runc's conversion of shares [2, 262144] to weight [1, 10000].
			ws = append(ws, kv{d, "cpu.weight", u64(1 + ((*c.Shares-2)*9999)/262142)})
		}
		if (c.Quota != nil && *c.Quota != 0) || (c.Period != nil && *c.Period != 0) {
			quota, period := "max", uint64(100000)
			if c.Quota != nil && *c.Quota > 0 {
				quota = i64(*c.Quota)
			}
			if c.Period != nil && *c.Period != 0 {
				period = *c.Period
			}
			ws = append(ws, kv{d, "cpu.max", quota + " " + u64(period)})
		}
		if c.Cpus != "" {
			ws = append(ws, kv{d, "cpuset.cpus", c.Cpus})
		}
		if c.Mems != "" {
			ws = append(ws, kv{d, "cpuset.mems", c.Mems})
		}
		if c.Idle != nil {
			ws = append(ws, kv{d, "cpu.idle", i64(*c.Idle)})
		}
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		ws = append(ws, kv{d, "io.weight", u64(1 + (uint64(*b.Weight)-10)*9999/990)})
	}
	for k, v := range r.Unified {
		if strings.Contains(k, "/") || strings.HasPrefix(k, "cgroup.") {
			return fmt.Errorf("linux.resources.unified: %q is not a controller file", k)
		}
		ws = append(ws, kv{d, k, v})
	}
	if err := apply(ws); err != nil {
		return err
	}
	return setDevicesV2(d, r.Devices)
}

func max2(v int64) string {
	if v <= 0 {
		return "max"
	}
	return i64(v)
}

type kv struct{ dir, file, v string }

func apply(ws []kv) error {
	for _, w := range ws {
		if w.dir == "" {
			return fmt.Errorf("%s: that controller is not available on this host", w.file)
		}
		if err := write(w.dir, w.file, w.v); err != nil {
			return err
		}
	}
	return nil
}
