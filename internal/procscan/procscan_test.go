package procscan

import (
	"strings"
	"testing"
)

const sample = "Name:\tmy\\\\proc\\nx\nUmask:\t0022\nState:\tS (sleeping)\nPPid:\t7\n" +
	"Uid:\t1\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n" +
	"CapEff:\t00000000a80425fb\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000400\nNoNewPrivs:\t1\nSeccomp:\t2\n"

func TestParseStatus(t *testing.T) {
	p := Proc{PID: 9}
	if err := ParseStatus([]byte(sample), &p); err != nil {
		t.Fatal(err)
	}
	want := Proc{PID: 9, PPID: 7, Comm: "my\\proc\nx", UID: 1, EUID: 0, Prm: 0xa80425fb, Eff: 0xa80425fb,
		Bnd: 0x1fffeffffff, Amb: 0x400, NoNewPrivs: true, Seccomp: 2}
	if p != want {
		t.Fatalf("got %+v\nwant %+v", p, want)
	}
	if !(&Proc{PID: 2}).kthread() || !(&Proc{PID: 5, PPID: 2}).kthread() {
		t.Fatal("kthread rule")
	}
}

func (p *Proc) kthread() bool {
	q := *p
	s := strings.Replace(sample, "PPid:\t7", "PPid:\t"+itoa(q.PPID), 1)
	if err := ParseStatus([]byte(s), &q); err != nil {
		panic(err)
	}
	return q.Kthread
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestParseStatusErrors(t *testing.T) {
	for name, s := range map[string]string{
		"empty":       "",
		"no caps":     "Name:\tx\nPPid:\t1\nUid:\t0\t0\t0\t0\n",
		"bad mask":    strings.Replace(sample, "00000000a80425fb", "xyz", 1),
		"long mask":   strings.Replace(sample, "00000000a80425fb", "100000000a80425fb", 1),
		"bad ppid":    strings.Replace(sample, "PPid:\t7", "PPid:\tseven", 1),
		"short uid":   strings.Replace(sample, "Uid:\t1\t0\t0\t0", "Uid:\t1", 1),
		"cut short":   sample[:len(sample)/2],
		"minus alone": strings.Replace(sample, "PPid:\t7", "PPid:\t-", 1),
	} {
		var p Proc
		if err := ParseStatus([]byte(s), &p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A line error names the line.
	var p Proc
	err := ParseStatus([]byte(strings.Replace(sample, "PPid:\t7", "PPid:\tseven", 1)), &p)
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("%v", err)
	}
}

func TestParsePIDList(t *testing.T) {
	got := parsePIDList([]byte("1\n22\n333\n\n0\n"))
	if len(got) != 3 || got[0] != 1 || got[1] != 22 || got[2] != 333 {
		t.Fatalf("%v", got)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("Name:\t\\\nCapEff:\tffffffffffffffff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Proc
		if ParseStatus(b, &p) == nil && p.Eff.Count() > 64 {
			t.Fatal("impossible set")
		}
		parsePIDList(b)
	})
}
