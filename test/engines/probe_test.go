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
