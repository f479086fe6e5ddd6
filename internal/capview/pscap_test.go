package capview

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/procscan"
)

// pscapCase is one row of testdata/pscap_cases.tsv, captured from real
// processes and the real pscap 0.8.3 (see /work/shared/fixtures/selinux).
type pscapCase struct {
	label, comm, want       string
	pid, ppid               int
	uids                    [4]int
	inh, prm, eff, bnd, amb string
}

func loadCases(t *testing.T) []pscapCase {
	t.Helper()
	b, err := os.ReadFile("testdata/pscap_cases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out []pscapCase
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 11 {
			t.Fatalf("line %d: %d fields", i+1, len(f))
		}
		c := pscapCase{label: f[0], comm: f[4], inh: f[5], prm: f[6], eff: f[7], bnd: f[8], amb: f[9], want: f[10]}
		c.pid, _ = strconv.Atoi(f[1])
		c.ppid, _ = strconv.Atoi(f[2])
		for j, u := range strings.Split(f[3], ",") {
			c.uids[j], _ = strconv.Atoi(u)
		}
		out = append(out, c)
	}
	if len(out) < 18 {
		t.Fatalf("only %d cases", len(out))
	}
	return out
}

// status renders the /proc/PID/status lines pscap's inputs come from.
func (c pscapCase) status() string {
	return fmt.Sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\n"+
		"Uid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\nCapInh:\t%s\nCapPrm:\t%s\nCapEff:\t%s\nCapBnd:\t%s\nCapAmb:\t%s\n"+
		"NoNewPrivs:\t0\nSeccomp:\t0\n",
		c.comm, c.pid, c.pid, c.ppid, c.uids[0], c.uids[1], c.uids[2], c.uids[3], c.inh, c.prm, c.eff, c.bnd, c.amb)
}

// The TSV has no namespace column; this row's process ran in a child user
// namespace (its label says so, and pscap marked it " *").
var childUserNS = map[string]bool{"userns": true}

// passwd of the capture host, for the rows with non-root users.
func testUsers(uid int) (string, bool) {
	n, ok := map[int]string{1: "daemon", 998: "systemd-network", 65534: "nobody"}[uid]
	return n, ok
}

func TestPscapRowsMatchPscap083(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.label, func(t *testing.T) {
			p := procscan.Proc{PID: c.pid}
			if err := procscan.ParseStatus([]byte(c.status()), &p); err != nil {
				t.Fatal(err)
			}
			p.ChildUserNS = childUserNS[c.label]
			got, ok := PscapLine(&p, true, 40, testUsers)
			if c.want == "(not listed)" {
				if ok {
					t.Fatalf("listed %q; pscap leaves it out", got)
				}
				return
			}
			if !ok {
				t.Fatalf("not listed; pscap prints %q", c.want)
			}
			if got != c.want+"\n" {
				t.Fatalf("\ngot  %q\nwant %q", got, c.want)
			}
		})
	}
}

// fakeProc writes a proc tree: PID/status, PID/ns/user and, when given,
// PID/cgroup, plus self/ns/user and sys/kernel/cap_last_cap.
func fakeProc(t *testing.T, procs map[int]string, userns map[int]bool, cgroups map[int]string) string {
	t.Helper()
	root := t.TempDir()
	mk := func(dir string, nsTarget string) {
		if err := os.MkdirAll(filepath.Join(dir, "ns"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(nsTarget, filepath.Join(dir, "ns", "user")); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(root, "self"), "user:[4026531837]")
	for pid, st := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		ns := "user:[4026531837]"
		if userns[pid] {
			ns = "user:[4026532415]"
		}
		mk(dir, ns)
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(st), 0o644); err != nil {
			t.Fatal(err)
		}
		if cg, ok := cgroups[pid]; ok {
			if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cg), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.MkdirAll(filepath.Join(root, "sys", "kernel"), 0o755)
	os.WriteFile(filepath.Join(root, "sys", "kernel", "cap_last_cap"), []byte("40\n"), 0o644)
	return root
}

// TestPscapListingMatchesSample runs the whole listing over a proc tree
// built from the captured values and compares it byte for byte with the
// captured "pscap -a" output.
func TestPscapListingMatchesSample(t *testing.T) {
	procs := map[int]string{}
	userns := map[int]bool{}
	for _, c := range loadCases(t) {
		// The sample was captured before the later rows' processes
		// (pid > 21058) were started.
		if c.pid > 21058 {
			continue
		}
		procs[c.pid] = c.status()
		userns[c.pid] = childUserNS[c.label]
	}
	// pid 1 of the capture host ("process_api", full caps); and a kernel
	// thread and a process without a status file, which must be skipped.
	procs[1] = pscapCase{comm: "process_api", pid: 1, inh: "0000000000000000", prm: "000001ffffffffff",
		eff: "000001ffffffffff", bnd: "000001ffffffffff", amb: "0000000000000000"}.status()
	procs[2] = pscapCase{comm: "kthreadd", pid: 2, inh: "0000000000000000", prm: "000001ffffffffff",
		eff: "000001ffffffffff", bnd: "000001ffffffffff", amb: "0000000000000000"}.status()
	procs[3] = pscapCase{comm: "kworker/0:0", pid: 3, ppid: 2, inh: "0000000000000000", prm: "000001ffffffffff",
		eff: "000001ffffffffff", bnd: "000001ffffffffff", amb: "0000000000000000"}.status()
	root := fakeProc(t, procs, userns, nil)
	os.MkdirAll(filepath.Join(root, "77777"), 0o755) // exited: no status

	want, err := os.ReadFile("testdata/pscap_a_sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	v := &Viewer{Proc: root, LookupUser: testUsers}
	var got bytes.Buffer
	if err := v.List(&got, true, FormatPscap); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("listing differs from pscap -a\ngot:\n%s\nwant:\n%s", got.String(), want)
	}

	// Without -a pid 1 goes; the rest stays.
	got.Reset()
	if err := v.List(&got, false, FormatPscap); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.String(), "process_api") || !strings.Contains(got.String(), "17905") {
		t.Fatalf("without -a:\n%s", got.String())
	}
}

func TestPscapEmptyListingHasNoHeader(t *testing.T) {
	root := fakeProc(t, map[int]string{
		5: pscapCase{comm: "x", pid: 5, ppid: 1, inh: "0", prm: "0", eff: "0", bnd: "0", amb: "0"}.status(),
	}, nil, nil)
	var out bytes.Buffer
	if err := (&Viewer{Proc: root}).List(&out, true, FormatPscap); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("want no output, got %q", out.String())
	}
}

func TestPadCountsBytes(t *testing.T) {
	// C's printf pads by bytes; a rune-counting pad would add one more space.
	if got := string(pad(nil, "é", 4)); got != "é  " {
		t.Fatalf("%q", got)
	}
}

func TestDecodeLikeCapsh(t *testing.T) {
	for in, want := range map[string]string{
		"00000000a80425fb": "0x00000000a80425fb=cap_chown,cap_dac_override,cap_fowner,cap_fsetid,cap_kill,cap_setgid,cap_setuid,cap_setpcap,cap_net_bind_service,cap_net_raw,cap_sys_chroot,cap_mknod,cap_audit_write,cap_setfcap",
		"0x2000000":        "0x0000000002000000=cap_sys_time",
		"0":                "0x0000000000000000=",
		"3000":             "0x0000000000003000=cap_net_admin,cap_net_raw",
		"ffffffffffffffff": "0xffffffffffffffff=cap_chown,cap_dac_override,cap_dac_read_search,cap_fowner,cap_fsetid,cap_kill,cap_setgid,cap_setuid,cap_setpcap,cap_linux_immutable,cap_net_bind_service,cap_net_broadcast,cap_net_admin,cap_net_raw,cap_ipc_lock,cap_ipc_owner,cap_sys_module,cap_sys_rawio,cap_sys_chroot,cap_sys_ptrace,cap_sys_pacct,cap_sys_admin,cap_sys_boot,cap_sys_nice,cap_sys_resource,cap_sys_time,cap_sys_tty_config,cap_mknod,cap_lease,cap_audit_write,cap_audit_control,cap_setfcap,cap_mac_override,cap_mac_admin,cap_syslog,cap_wake_alarm,cap_block_suspend,cap_audit_read,cap_perfmon,cap_bpf,cap_checkpoint_restore,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63",
	} {
		got, err := Decode(in)
		if err != nil || got != want {
			t.Errorf("Decode(%q) = %q, %v\nwant %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "zz", "1ffffffffffffffff0"} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}
