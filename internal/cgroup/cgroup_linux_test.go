package cgroup

import (
	"reflect"
	"testing"
)

// TestParseMounts reads the cgroup hierarchies out of a hybrid host's
// mountinfo (this project's test machine, trimmed).
func TestParseMounts(t *testing.T) {
	info := `22 27 0:21 / /proc rw,relatime - proc proc rw
29 28 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
30 29 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
31 29 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
33 29 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
34 29 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory,release_agent=/x
35 1 0:32 / /mnt/cgroup/pids rw - cgroup cgroup rw,pids
bad line without separator
36 29 0:33 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw`
	want := []mount{
		{point: "/sys/fs/cgroup/unified", v2: true},
		{point: "/sys/fs/cgroup/systemd", subsystems: []string{"name=systemd"}},
		{point: "/sys/fs/cgroup/cpu,cpuacct", subsystems: []string{"cpu", "cpuacct"}},
		{point: "/sys/fs/cgroup/memory", subsystems: []string{"memory"}},
	}
	if got := parseMounts([]byte(info)); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestCacheRoundTrip(t *testing.T) {
	hier := "4:memory;3:cpu,cpuacct;9:name=systemd;0:"
	mounts := []mount{
		{point: Root + "/unified", v2: true},
		{point: Root + "/cpu,cpuacct", subsystems: []string{"cpu", "cpuacct"}},
		{point: Root + "/systemd", subsystems: []string{"name=systemd"}},
	}
	ids := []uint64{7, 1 << 40, 9}
	data := formatCache(hier, mounts, ids)
	gotM, gotI, ok := parseCache(data, hier)
	if !ok || !reflect.DeepEqual(gotM, mounts) || !reflect.DeepEqual(gotI, ids) {
		t.Fatalf("round trip: %v %+v %v", ok, gotM, gotI)
	}
	// Written for other hierarchies, cut short, or not ours: not used.
	bad := map[string][]byte{
		"other hierarchies": formatCache("4:memory", mounts, ids),
		"truncated":         data[:len(data)-3],
		"empty":             nil,
		"foreign":           []byte("hello\n" + hier + "\n"),
		"outside Root":      formatCache(hier, []mount{{point: "/tmp/x", v2: true}}, []uint64{1}),
		"bad id":            []byte(cacheMagic + "\n" + hier + "\nx " + Root + "/memory v1 memory\n"),
		"no controllers":    []byte(cacheMagic + "\n" + hier + "\n1 " + Root + "/memory v1 \n"),
		"unknown kind":      []byte(cacheMagic + "\n" + hier + "\n1 " + Root + "/memory v3\n"),
	}
	for name, b := range bad {
		if _, _, ok := parseCache(b, hier); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
