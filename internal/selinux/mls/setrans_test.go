package mls

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runTestFile checks a translator against an mcstrans-style .test file.
func runTestFile(t *testing.T, tr *Translator, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if strings.HasPrefix(s, "#") || strings.TrimSpace(s) == "" {
			continue
		}
		both := strings.Contains(s, "==")
		name, raw, ok := strings.Cut(s, "==")
		if !both {
			name, raw, ok = strings.Cut(s, "=")
		}
		if !ok {
			t.Fatalf("%s:%d: bad test line %q", path, line, s)
		}
		got, err := tr.ToRaw(name)
		if err != nil || got != raw {
			t.Errorf("%s:%d: ToRaw(%q) = %q, %v; want %q", path, line, name, got, err, raw)
		}
		if both {
			got, err := tr.ToName(raw)
			if err != nil || got != name {
				t.Errorf("%s:%d: ToName(%q) = %q, %v; want %q", path, line, raw, got, err, name)
			}
		}
		n++
	}
	return n
}

func TestTopSecretFixture(t *testing.T) {
	tr, err := Load("testdata/setrans_topsecret.conf")
	if err != nil {
		t.Fatal(err)
	}
	if n := runTestFile(t, tr, "testdata/setrans_topsecret.test"); n != 10 {
		t.Fatalf("ran %d expectations, want 10", n)
	}
}

func TestDebianMLSExtra(t *testing.T) {
	tr, err := Load("testdata/debian_mls.setrans.conf")
	if err != nil {
		t.Fatal(err)
	}
	runTestFile(t, tr, "testdata/debian_mls_extra.test")
}

// TestTablesRoundTrip derives expectations from every raw=name line of the
// installed-policy fixtures: the name gives the raw value, and the raw value
// gives back its first (canonical) name.
func TestTablesRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.conf")
	if len(files) < 3 {
		t.Fatalf("fixtures missing: %v", files)
	}
	for _, file := range files {
		tr, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(file)
		first := map[string]string{}
		checked := 0
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			raw, name, _ := strings.Cut(line, "=")
			r, err := ParseRange(raw)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if _, ok := first[r.String()]; !ok {
				first[r.String()] = name
			}
			got, err := tr.ToRaw(name)
			if err != nil || got != r.String() {
				t.Errorf("%s: ToRaw(%q) = %q, %v; want %q", file, name, got, err, r.String())
			}
			checked++
		}
		for raw, name := range first {
			if got, err := tr.ToName(raw); err != nil || got != name {
				t.Errorf("%s: ToName(%q) = %q, %v; want %q", file, raw, got, err, name)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no entries", file)
		}
	}
}

func TestIssueExamples(t *testing.T) {
	tr, err := Load("testdata/setrans_topsecret.conf")
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{
		"TopSecret":            "s15",
		"SystemHigh":           "s15:c0.c1023",
		"SystemLow-SystemHigh": "s0-s15:c0.c1023",
	} {
		if got, err := tr.ToRaw(name); err != nil || got != raw {
			t.Errorf("ToRaw(%q) = %q, %v", name, got, err)
		}
		if got, err := tr.ToName(raw); err != nil || got != name {
			t.Errorf("ToName(%q) = %q, %v", raw, got, err)
		}
	}
	// Raw input is normalised: c0,c1,c2 is the run c0.c2.
	if got, _ := tr.ToRaw("s15:c0,c1,c2"); got != "s15:c0.c2" {
		t.Errorf("normalise: %q", got)
	}
	if got, _ := tr.ToName("s15:c0,c1"); got != "s15:c0,c1" {
		t.Errorf("untranslated pair: %q", got)
	}
}

func TestErrors(t *testing.T) {
	tr, err := Load("testdata/setrans_topsecret.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"Cosmic", "TopSecret-Cosmic", "", "TopSecret-SystemLow"} {
		if got, err := tr.ToRaw(in); err == nil {
			t.Errorf("ToRaw(%q) = %q, want error", in, got)
		}
	}
	if _, err := tr.ToRaw("Cosmic"); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "setrans_topsecret.conf") {
		t.Errorf("unknown name error is unclear: %v", err)
	}
	for _, in := range []string{"s0:c2.c1", "s15-s0", "s0:c1024", "s0:", "s-1", "s01", "TopSecret"} {
		if got, err := tr.ToName(in); err == nil {
			t.Errorf("ToName(%q) = %q, want error", in, got)
		}
	}
	if _, err := tr.ToRaw("s0:c9.c2"); err == nil || errors.Is(err, ErrUnknown) {
		t.Errorf("malformed raw level should report the level error, got %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"s0=SystemLow\nbogus line\n":    "x.conf:2:",
		"s0=SystemLow\ns0:c2.c1=Bad\n":  "x.conf:2:",
		"\n\nx9=Foo\n":                  "x.conf:3:",
		"s0=\n":                         "x.conf:1:",
		"=Name\n":                       "x.conf:1:",
		"Join=/\n":                      "x.conf:1: Join needs a ModifierGroup",
		"s15-s0=Backwards\n":            "does not dominate",
		"c0!cX\n":                       "x.conf:1: constraint",
		"ModifierGroup=G\nc9.c1=Word\n": "x.conf:2: modifier",
	} {
		_, err := Parse(strings.NewReader(in), "x.conf")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestDomainsIncludeDisable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "extra.conf"), []byte("s3=Three\n"), 0o644)
	main := filepath.Join(dir, "setrans.conf")
	os.WriteFile(main, []byte("s0=Low # trailing comment\nInclude=extra.conf\nDomain=Other\ns3=Drei\ns4=Four\n"), 0o644)
	tr, err := Load(main)
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"Low": "s0", "Three": "s3", "Drei": "s3", "Four": "s4"} {
		if got, err := tr.ToRaw(name); err != nil || got != raw {
			t.Errorf("ToRaw(%q) = %q, %v", name, got, err)
		}
	}
	// The first domain wins for raw->name.
	if got, _ := tr.ToName("s3"); got != "Three" {
		t.Errorf("ToName(s3) = %q", got)
	}
	loop := filepath.Join(dir, "loop.conf")
	os.WriteFile(loop, []byte("Include=loop.conf\n"), 0o644)
	if _, err := Load(loop); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("include loop: %v", err)
	}
	tr, err = Parse(strings.NewReader("disable=1\ns0=Low\n"), "d.conf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.ToRaw("Low"); err == nil {
		t.Error("disabled table still translates")
	}
	if got, _ := tr.ToName("s0"); got != "s0" {
		t.Errorf("disabled ToName = %q", got)
	}
	tr, _ = Parse(strings.NewReader("Base=Sensitivity\ns1=Secret\nModifierGroup=Rel\nc1=USA\n"), "m.conf")
	if got, err := tr.ToRaw("Secret"); err != nil || got != "s1" {
		t.Errorf("Base entry: %q %v", got, err)
	}
	if _, err := tr.ToRaw("Secret USA"); err == nil || !strings.Contains(err.Error(), "does not compute") {
		t.Errorf("computed name error should say so: %v", err)
	}
}

func TestDefaultPath(t *testing.T) {
	dir := t.TempDir()
	if got := defaultPath(dir); got != "" {
		t.Errorf("no config: %q", got)
	}
	os.WriteFile(filepath.Join(dir, "config"), []byte("# c\nSELINUX=permissive\nSELINUXTYPE=mls\n"), 0o644)
	if got := defaultPath(dir); got != "" {
		t.Errorf("no setrans.conf: %q", got)
	}
	os.MkdirAll(filepath.Join(dir, "mls"), 0o755)
	os.WriteFile(filepath.Join(dir, "mls", "setrans.conf"), []byte("s0=SystemLow\n"), 0o644)
	if got := defaultPath(dir); got != filepath.Join(dir, "mls", "setrans.conf") {
		t.Errorf("got %q", got)
	}
	os.WriteFile(filepath.Join(dir, "config"), []byte("SELINUXTYPE=../x\n"), 0o644)
	if got := defaultPath(dir); got != "" {
		t.Errorf("escaping type accepted: %q", got)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b), "TopSecret")
	}
	f.Add("s0=A\nDomain=B\ns1=C\nc0!c1\n", "A-C")
	f.Fuzz(func(t *testing.T, conf, q string) {
		tr, err := Parse(strings.NewReader(conf), "fuzz.conf")
		if err != nil {
			return
		}
		raw, err := tr.ToRaw(q)
		if err == nil {
			if _, err := ParseRange(raw); err != nil {
				t.Fatalf("ToRaw(%q) = %q, which does not parse: %v", q, raw, err)
			}
		}
		tr.ToName(q)
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"s0", "s0-s15:c0.c1023", "s2:c0,c1", "s0:c1.c3,c5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		again, err := ParseRange(r.String())
		if err != nil || again != r {
			t.Fatalf("%q -> %q does not round-trip: %v", s, r.String(), err)
		}
	})
}
