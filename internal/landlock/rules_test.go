package landlock

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bind:80,connect:none,ro:/usr,rw:/tmp", "bind:80,connect:none,ro:/usr,rw:/tmp"},
		{"bind:443, bind:80,bind:80", "bind:80,bind:443,connect:none"},
		{"connect:5432", "bind:none,connect:5432"},
		{"bind:any,connect:53", "bind:any,connect:53"},
		{"ro:/usr/,rw:/tmp/../var", "ro:/usr,rw:/var"},
	} {
		r, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := r.String(); got != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.in, got, tc.want)
		}
		again, err := Parse(r.String())
		if err != nil || again.String() != r.String() {
			t.Errorf("round trip of %q: %q, %v", r.String(), again.String(), err)
		}
		back, err := FromAnnotation(r.Annotation())
		if err != nil || back.String() != r.String() {
			t.Errorf("annotation round trip of %q: %q, %v", r.Annotation(), back.String(), err)
		}
	}
	r, _ := Parse("ro:/usr")
	if r.Net != nil {
		t.Error("a file-system-only rule restricted the network")
	}
	r, _ = Parse("bind:80")
	if r.FS != nil || r.Net == nil || len(r.Net.Connect) != 0 || r.Net.AnyConnect {
		t.Errorf("bind:80 should restrict the network and not the file system: %+v", r)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty rule list"},
		{"bind", "item 1"},
		{"bind:80,connect", `item 2 "connect"`},
		{"bind:0", "invalid TCP port"},
		{"bind:70000", "invalid TCP port"},
		{"bind:http", "invalid TCP port"},
		{"ro:usr", "not absolute"},
		{"fly:/x", "unknown key"},
		{"bind:any,bind:80", "contradict"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
	for _, in := range []string{`{"net":{"bind":[0],"connect":[]}}`, `{"fs":{"ro":["rel"],"rw":[]}}`, `{"nett":{}}`, `nope`} {
		if _, err := FromAnnotation(in); err == nil {
			t.Errorf("FromAnnotation(%q) accepted", in)
		}
	}
}

func TestMPTCPRule(t *testing.T) {
	r := MPTCPRule()
	if len(r.Names) != 1 || r.Names[0] != "socket" || r.Args[0].Index != 2 || r.Args[0].Value != 262 || *r.ErrnoRet != 13 {
		t.Errorf("MPTCP rule = %+v", r)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"bind:80,connect:none,ro:/usr,rw:/tmp", "bind:any", "ro:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, r.String(), err)
		}
		if again.String() != r.String() {
			t.Fatalf("round trip changed %q to %q", r.String(), again.String())
		}
	})
}

// The annotation comes from the OCI config the init reads.
func FuzzFromAnnotation(f *testing.F) {
	f.Add(`{"net":{"bind":[80],"connect":[]},"fs":{"ro":["/usr"],"rw":["/tmp"]}}`)
	f.Add(`{"net":{"bind":[],"connect":[],"anyBind":true}}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := FromAnnotation(s)
		if err != nil {
			return
		}
		back, err := FromAnnotation(r.Annotation())
		if err != nil || back.String() != r.String() {
			t.Fatalf("annotation round trip of %q: %q, %v", s, back.String(), err)
		}
	})
}
