package runtime

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64p(v int64) *int64   { return &v }
func u64p(v uint64) *uint64 { return &v }
func u16p(v uint16) *uint16 { return &v }

func TestMergeResources(t *testing.T) {
	cur := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: i64p(100 << 20), Swap: i64p(200 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64p(512), Cpus: "0"},
		Pids:    &specs.LinuxPids{Limit: i64p(100)},
	}
	got, err := MergeResources(cur, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Swap: i64p(400 << 20)},
		CPU:    &specs.LinuxCPU{Quota: i64p(50000), Period: u64p(100000)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Memory.Limit != 100<<20 || *got.Memory.Swap != 400<<20 {
		t.Errorf("memory = %d/%d, want the old limit and the new swap", *got.Memory.Limit, *got.Memory.Swap)
	}
	if *got.CPU.Shares != 512 || got.CPU.Cpus != "0" || *got.CPU.Quota != 50000 || *got.CPU.Period != 100000 {
		t.Errorf("cpu = %+v, want shares and cpus kept, quota and period set", *got.CPU)
	}
	if *got.Pids.Limit != 100 || len(got.Devices) != 1 {
		t.Errorf("untouched fields changed: pids %d, devices %v", *got.Pids.Limit, got.Devices)
	}
	// The current resources are not modified in place.
	if *cur.Memory.Swap != 200<<20 || cur.CPU.Quota != nil {
		t.Errorf("merge changed the current resources: %+v %+v", *cur.Memory, *cur.CPU)
	}
	// What Set writes: the fields given, memory's limit and swap together.
	c := changed(got, &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64p(400 << 20)}})
	if c.Memory.Limit == nil || *c.Memory.Limit != 100<<20 || c.CPU != nil || c.Pids != nil {
		t.Errorf("changed = %+v", c)
	}
	// A new quota goes with the period in force (cpu.max holds both).
	p, err := MergeResources(&specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64p(200000)}}, &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64p(50000)}})
	if err != nil {
		t.Fatal(err)
	}
	if c := changed(p, &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64p(50000)}}); c.CPU.Period == nil || *c.CPU.Period != 200000 {
		t.Errorf("quota changed without its period: %+v", c.CPU)
	}

	// Engines send the whole resources back: device rules and hugepage
	// limits in them are ignored, the container's own stay.
	d, err := MergeResources(cur, &specs.LinuxResources{
		Devices:        []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}},
		Pids:           &specs.LinuxPids{Limit: i64p(7)},
	})
	if err != nil || len(d.Devices) != 1 || d.Devices[0].Allow || d.HugepageLimits != nil || *d.Pids.Limit != 7 {
		t.Errorf("an update carrying device rules: %+v, %v", d, err)
	}
	if c := changed(d, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true}}}); c.Devices != nil {
		t.Errorf("changed passes device rules on to Set: %+v", c.Devices)
	}

	u, err := MergeResources(nil, &specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}, BlockIO: &specs.LinuxBlockIO{Weight: u16p(300)}})
	if err != nil || u.Unified["memory.high"] != "1G" || *u.BlockIO.Weight != 300 {
		t.Errorf("merge into nothing = %+v, %v", u, err)
	}
}

func TestMergeResourcesRefuses(t *testing.T) {
	cur := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64p(100 << 20), Swap: i64p(200 << 20)}}
	for name, c := range map[string]struct {
		upd  *specs.LinuxResources
		want string
	}{
		"nothing":          {nil, "no resources"},
		"limit above swap": {&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64p(300 << 20)}}, "set the swap limit too"},
		"zero limit":       {&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64p(0)}}, "-1 for no limit"},
		"negative":         {&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64p(-5)}}, "-1 for no limit"},
		"swappiness":       {&specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64p(101)}}, "0 to 100"},
		"burst":            {&specs.LinuxResources{CPU: &specs.LinuxCPU{Burst: u64p(1)}}, "burst"},
		"blkio device":     {&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{}}}}, "weight"},
	} {
		_, err := MergeResources(cur, c.upd)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, c.want)
		}
	}
	if _, err := MergeResources(nil, &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64p(1 << 30)}}); err == nil || !strings.Contains(err.Error(), "needs a memory limit") {
		t.Errorf("swap without a limit: %v", err)
	}
}
