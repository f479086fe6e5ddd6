package avc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseAll(t testing.TB, in string) ([]Record, []*LineError) {
	t.Helper()
	var recs []Record
	p := &Parser{File: "in.log", Details: true}
	probs, err := p.Parse(strings.NewReader(in), func(r *Record) error {
		c := *r
		c.Perms = append([]string(nil), r.Perms...)
		c.Ioctl = append([]uint16(nil), r.Ioctl...)
		recs = append(recs, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, probs
}

func TestSample(t *testing.T) {
	data, _ := os.ReadFile("testdata/avc_sample.log")
	recs, probs := parseAll(t, string(data))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	// 20 AVC and USER_AVC lines (grep -c avc:), one of them "granted".
	if len(recs) != 20 {
		t.Fatalf("%d records, want 20", len(recs))
	}
	r := recs[0]
	if r.Line != 1 || r.Source.Type != "docker_apache_t" || r.Source.Level != "s0:c1,c2" || r.Target.Type != "smtp_port_t" ||
		r.Class != "tcp_socket" || r.Perms[0] != "name_connect" || r.Permissive != 0 || r.Serial != 4101 ||
		!r.Time.Equal(time.Unix(1732660801, 101e6)) || r.Comm != "httpd" {
		t.Errorf("first record: %+v", r)
	}
	var granted, user, ioctl, permissive int
	for _, r := range recs {
		if r.Granted {
			granted++
			if r.Permissive != -1 {
				t.Errorf("granted record without permissive= got %d", r.Permissive)
			}
		}
		if r.User {
			user++
			if r.Target.Type != "container_engine_unit_t" || r.Class != "service" || r.Source.Level != "s0-s0:c0.c1023" {
				t.Errorf("USER_AVC: %+v", r)
			}
		}
		if len(r.Ioctl) > 0 {
			ioctl++
			if r.Ioctl[0] != 0x8933 {
				t.Errorf("ioctl = %#x", r.Ioctl[0])
			}
		}
		if r.Permissive == 1 {
			permissive++
		}
	}
	if granted != 1 || user != 1 || ioctl != 1 || permissive != 2 {
		t.Errorf("granted %d user %d ioctl %d permissive %d", granted, user, ioctl, permissive)
	}
}

// TestFormats: the dmesg/journal and ausearch renderings parse to the same
// denials as audit.log.
func TestFormats(t *testing.T) {
	key := func(r Record) string {
		return r.Source.String() + " " + r.Target.String() + " " + r.Class + " " + strings.Join(r.Perms, ",")
	}
	data, _ := os.ReadFile("testdata/avc_sample.log")
	ref, _ := parseAll(t, string(data))
	for _, f := range []string{"ausearch_raw.txt", "ausearch_i.txt"} {
		data, _ := os.ReadFile("testdata/" + f)
		got, probs := parseAll(t, string(data))
		for _, p := range probs {
			if !p.Warn {
				t.Errorf("%s: %v", f, p)
			}
		}
		if len(got) != len(ref) {
			t.Fatalf("%s: %d records, want %d", f, len(got), len(ref))
		}
		seen := map[string]int{}
		for _, r := range ref {
			seen[key(r)]++
		}
		for _, r := range got {
			seen[key(r)]--
			if r.Time.IsZero() || r.Serial < 4101 {
				t.Errorf("%s: line %d lost its stamp", f, r.Line)
			}
		}
		for k, n := range seen {
			if n != 0 {
				t.Errorf("%s: %q count off by %d", f, k, n)
			}
		}
	}
	data, _ = os.ReadFile("testdata/avc_dmesg.log")
	got, probs := parseAll(t, string(data))
	if len(got) != 2 || len(probs) != 0 || got[1].Perms[0] != "setgid" || got[1].Serial != 4102 {
		t.Errorf("dmesg: %+v %v", got, probs)
	}
}

func TestBadLines(t *testing.T) {
	good := `type=AVC msg=audit(1.5:7): avc:  denied  { read } for  pid=1 comm="x" scontext=u:r:a_t:s0 tcontext=u:r:b_t:s0 tclass=file permissive=0`
	cases := map[string]string{
		`type=AVC msg=audit(1.5:7): something else`:                            "no \"avc:\"",
		`type=AVC msg=audit(1.5:7): avc:  frobbed  { read }`:                   "denied\" or \"granted",
		`type=AVC msg=audit(1.5:7): avc:  denied  read } for`:                  "permissions }",
		`type=AVC msg=audit(1.5:7): avc:  denied  { read for scontext=u:r:a_t`: "not closed",
		`type=AVC msg=audit(1.5:7): avc:  denied  { } for scontext=u:r:a_t:s0`: "empty permission",
		strings.Replace(good, "scontext=u:r:a_t:s0 ", "", 1):                   "no scontext",
		strings.Replace(good, "tclass=file", "", 1):                            "no tclass",
		strings.Replace(good, "a_t", "9bad", 1):                                "invalid type name",
		strings.Replace(good, "u:r:b_t:s0", "u:r", 1):                          "invalid context",
		strings.Replace(good, "permissive=0", "permissive=2", 1):               "permissive",
		strings.Replace(good, "audit(1.5:7)", "audit(1.5)", 1):                 "serial",
		strings.Replace(good, "tclass=file", "tclass=fi$le", 1):                "class name",
		strings.Replace(good, "{ read }", "{ re;ad }", 1):                      "permission name",
		good[:len(good)-40]: "truncated",
	}
	for line, want := range cases {
		in := "type=SYSCALL msg=audit(1.5:7): arch=c000003e\n" + good + "\n" + line
		if !strings.Contains(want, "truncated") {
			in += "\n"
		}
		recs, probs := parseAll(t, in)
		if len(recs) != 1 {
			t.Errorf("%q: %d good records, want 1", line, len(recs))
		}
		if len(probs) != 1 || probs[0].Line != 3 || probs[0].Warn || !strings.Contains(probs[0].Error(), want) ||
			!strings.HasPrefix(probs[0].Error(), "in.log:3: error:") {
			t.Errorf("%q: problems %v, want one error at line 3 with %q", line, probs, want)
		}
	}
	// Unknown classes and permissions are warnings: newer kernels add
	// classes, and the denial is still worth a rule.
	recs, probs := parseAll(t, strings.Replace(good, "tclass=file", "tclass=io_future", 1)+"\n"+strings.Replace(good, "{ read }", "{ fly }", 1)+"\n")
	if len(recs) != 2 || len(probs) != 2 || !probs[0].Warn || !strings.Contains(probs[0].Msg, "unknown class") ||
		!strings.Contains(probs[1].Msg, "unknown permission \"fly\"") || probs[1].Line != 2 {
		t.Errorf("unknown names: %d records, %v", len(recs), probs)
	}
	// Lines that are not AVC records are skipped without noise.
	recs, probs = parseAll(t, "hello\n----\ntime->Tue Nov 26 22:40:01 2024\n[ 1.0] eth0: link up\ntype=USER_AVC msg=audit(1.1:2): pid=1 msg='avc:  received policyload notice (seqno=2)'\ntype=MAC_STATUS msg=audit(1.1:3): enforcing=1\n")
	if len(recs) != 0 || len(probs) != 0 {
		t.Errorf("noise: %v %v", recs, probs)
	}
}

func TestLongLine(t *testing.T) {
	long := "type=AVC msg=audit(1.5:7): avc:  denied  { read } for " + strings.Repeat("x=y ", 400000) + "\n"
	recs, probs := parseAll(t, long+"type=SYSCALL x\n")
	if len(recs) != 0 || len(probs) != 1 || probs[0].Line != 1 {
		t.Errorf("long line: %d records, %v", len(recs), probs)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	files = append(files, "testdata/ausearch_i.txt", "testdata/ausearch_raw.txt")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		lines := strings.Split(string(data), "\n")
		if len(lines) > 100 {
			lines = lines[:100]
		}
		for _, line := range lines {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := &Parser{File: "fuzz"}
		probs, err := p.Parse(strings.NewReader(in), func(r *Record) error {
			if len(r.Perms) == 0 || r.Source.Type == "" || r.Target.Type == "" || r.Class == "" {
				t.Fatalf("incomplete record from %q: %+v", in, r)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range probs {
			if pr.Line < 1 || pr.Msg == "" {
				t.Fatalf("problem without line or text: %+v", pr)
			}
		}
	})
}
