package engine

import (
	"strings"
	"testing"
)

func TestUpdateResources(t *testing.T) {
	r, err := UpdateOptions{Memory: "128m", MemorySwap: "-1", CPUs: "0.5", CPUShares: 512, CpusetCpus: "0", PidsLimit: -1, BlkioWeight: 300}.Resources()
	if err != nil {
		t.Fatal(err)
	}
	if *r.Memory.Limit != 128<<20 || *r.Memory.Swap != -1 || r.Memory.Reservation != nil {
		t.Errorf("memory = %+v", *r.Memory)
	}
	if *r.CPU.Quota != 50000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 512 || r.CPU.Cpus != "0" || r.CPU.Mems != "" {
		t.Errorf("cpu = %+v", *r.CPU)
	}
	if *r.Pids.Limit != -1 || *r.BlockIO.Weight != 300 {
		t.Errorf("pids %d, blkio weight %d", *r.Pids.Limit, *r.BlockIO.Weight)
	}
	// Only what is given is changed.
	r, err = UpdateOptions{PidsLimit: 20}.Resources()
	if err != nil || r.Memory != nil || r.CPU != nil || r.BlockIO != nil || *r.Pids.Limit != 20 {
		t.Errorf("pids only: %+v, %v", r, err)
	}
	for _, c := range []struct {
		o    UpdateOptions
		want string
	}{
		{UpdateOptions{}, "nothing to update"},
		{UpdateOptions{Memory: "lots"}, "--memory"},
		{UpdateOptions{Memory: "-1"}, "--memory"},
		{UpdateOptions{CPUs: "0"}, "--cpus"},
		{UpdateOptions{PidsLimit: -2}, "--pids-limit"},
		{UpdateOptions{BlkioWeight: 5}, "--blkio-weight"},
	} {
		if _, err := c.o.Resources(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want one about %s", c.o, err, c.want)
		}
	}
}
