package engines

import (
	"strings"
	"testing"
)

func TestParseReport(t *testing.T) {
	r, err := ParseReport("CapEff:\t00000000a80425fb\r\n\nns_pid: pid:[4026531836]\nwrite_root: yes\n")
	if err != nil {
		t.Fatal(err)
	}
	if r["ns_pid"] != "pid:[4026531836]" || r["write_root"] != "yes" {
		t.Fatalf("parsed %v", r)
	}
	m, err := r.Mask("CapEff")
	if err != nil || m != 0xa80425fb {
		t.Fatalf("Mask = %x, %v", m, err)
	}
	if _, err := r.Mask("CapBnd"); err == nil {
		t.Fatal("missing key gave no error")
	}
}

func TestParseReportErrors(t *testing.T) {
	for in, want := range map[string]string{
		"CapEff: 1\nbusybox usage text\n": "line 2",
		"CapEff: 1\nCapEff: 2\n":          "line 2: CapEff repeated",
		": x\n":                           "line 1",
		"Cap Eff: 1\n":                    "line 1",
	} {
		_, err := ParseReport(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseReport(%q) = %v, want error with %q", in, err, want)
		}
	}
	r := Report{"CapEff": "xyz"}
	if _, err := r.Mask("CapEff"); err == nil {
		t.Error("bad hex gave no error")
	}
}

func TestDiff(t *testing.T) {
	a := Report{"CapEff": "1", "ns_mnt": "mnt:[1]", "Seccomp": "2"}
	b := Report{"CapEff": "1", "ns_mnt": "mnt:[2]", "NoNewPrivs": "0"}
	got := strings.Join(Diff(a, b, "ns_mnt"), "; ")
	want := `NoNewPrivs: "" != "0"; Seccomp: "2" != ""`
	if got != want {
		t.Fatalf("Diff = %s, want %s", got, want)
	}
}

const mountinfoA = `741 740 0:75 / / rw,relatime - overlay overlay rw,lowerdir=/l
742 741 0:78 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
743 741 0:79 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
744 743 0:37 /libpod_parent/x /sys/fs/cgroup/pids ro,nosuid shared:5 master:1 - cgroup cgroup rw,pids`

func TestParseMountinfo(t *testing.T) {
	ms, err := ParseMountinfo(mountinfoA)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 || ms[3].Point != "/sys/fs/cgroup/pids" || ms[3].FSType != "cgroup" || !ms[2].Options["ro"] {
		t.Fatalf("parsed %+v", ms)
	}
	if _, err := ParseMountinfo("741 740 0:75 / /\n"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("short line: %v", err)
	}
	if _, err := ParseMountinfo(mountinfoA + "\n1 2 3 / /x rw no separator here"); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("no separator: %v", err)
	}
}

func TestMountDiff(t *testing.T) {
	ref, _ := ParseMountinfo(mountinfoA)
	if d := MountDiff(ref, ref); len(d) != 0 {
		t.Fatalf("same tables differ: %v", d)
	}
	got, _ := ParseMountinfo(strings.Replace(mountinfoA, "/sys ro,", "/sys rw,", 1) +
		"\n745 743 0:27 / /sys/fs/cgroup/unified ro - cgroup2 cgroup2 rw")
	want := "extra mount /sys/fs/cgroup/unified cgroup2; writable mount /sys (read-only in the reference)"
	if d := strings.Join(MountDiff(got, ref), "; "); d != want {
		t.Fatalf("MountDiff = %s, want %s", d, want)
	}
	if d := strings.Join(MountDiff(ref[:3], ref), "; "); d != "missing mount /sys/fs/cgroup/pids cgroup" {
		t.Fatalf("MountDiff = %s", d)
	}
}
