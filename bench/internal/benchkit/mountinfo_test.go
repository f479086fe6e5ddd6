package benchkit

import (
	"strings"
	"testing"
)

const sample = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 22 0:40 /a\040b /mnt/with\040space rw - tmpfs tmpfs rw
`

func TestParseMountinfo(t *testing.T) {
	ms, err := ParseMountinfo(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 {
		t.Fatalf("got %d mounts, want 4", len(ms))
	}
	if m := ms[2]; m.Point != "/sys/fs/cgroup/unified" || m.FSType != "cgroup2" || m.Source != "cgroup2" {
		t.Errorf("cgroup2 line parsed as %+v", m)
	}
	if m := ms[3]; m.Point != "/mnt/with space" || m.Root != "/a b" {
		t.Errorf("escapes not undone: %+v", m)
	}
	if ms[0].Key() == ms[1].Key() {
		t.Error("different mounts share a key")
	}
}

func TestParseMountinfoErrors(t *testing.T) {
	for _, in := range []string{
		"22 1 254:0 / / rw\n",                      // no separator
		"ok\n22 1 254:0 / - ext4 /dev/vda rw\n",    // too few fields before it
		"22 1 254:0 / / rw,relatime shared:1 - \n", // nothing after it
	} {
		_, err := ParseMountinfo(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("ParseMountinfo(%q): err %v, want one naming the line", in, err)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:       "plain",
		`a\040b`:      "a b",
		`tab\011x`:    "tab\tx",
		`back\134sl`:  `back\sl`,
		`trailing\04`: `trailing\04`,
		`bad\089`:     `bad\089`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add(sample)
	f.Add("1 2 3 4 5 6 - a b c\n")
	f.Add(`\\\\ - \0`)
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMountinfo(strings.NewReader(s))
		if err == nil {
			for _, m := range ms {
				_ = m.Key()
			}
		}
	})
}
