package label

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   []string
		want Options
		err  string
	}{
		{in: []string{"type:docker_apache_t"}, want: Options{Type: "docker_apache_t"}},
		{in: []string{"level:TopSecret"}, want: Options{Level: "TopSecret"}},
		{in: []string{"level:s0:c100,c200"}, want: Options{Level: "s0:c100,c200"}},
		{in: []string{"level:s0-s15:c0.c1023"}, want: Options{Level: "s0-s15:c0.c1023"}},
		{in: []string{"user:system_u", "role:system_r"}, want: Options{User: "system_u", Role: "system_r"}},
		{in: []string{"filetype:container_ro_file_t"}, want: Options{FileType: "container_ro_file_t"}},
		{in: []string{"disable"}, want: Options{Disable: true}},
		{in: []string{"nested"}, want: Options{Nested: true}},
		{in: []string{"bogus"}, err: "valid label options"},
		{in: []string{"color:red"}, err: `unknown key "color"`},
		{in: []string{"type:"}, err: "needs a value"},
		{in: []string{"type:a:b"}, err: "not a valid SELinux type"},
		{in: []string{"type:a b"}, err: "not a valid SELinux type"},
		{in: []string{"level:s0;rm"}, err: "invalid level"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestStrings(t *testing.T) {
	o := Options{Type: "t_t", Level: "s0", FileType: "f_t", Nested: true}
	if got := o.Strings(); !reflect.DeepEqual(got, []string{"type:t_t", "level:s0", "filetype:f_t"}) {
		t.Errorf("Strings = %q", got)
	}
	if got := o.String(); got != "type:t_t,level:s0,filetype:f_t,nested" {
		t.Errorf("String = %q", got)
	}
	if got := (Options{Disable: true, Type: "x"}).Strings(); !reflect.DeepEqual(got, []string{"disable"}) {
		t.Errorf("disable Strings = %q", got)
	}
}

func TestCompose(t *testing.T) {
	tests := []struct {
		name  string
		o     Options
		level string
		want  Labels
		err   string
	}{
		{"default", Options{}, "s0:c1,c2", Labels{"system_u:system_r:container_t:s0:c1,c2", "system_u:object_r:container_file_t:s0:c1,c2"}, ""},
		{"type", Options{Type: "docker_apache_t"}, "s0:c3,c4", Labels{"system_u:system_r:docker_apache_t:s0:c3,c4", "system_u:object_r:container_file_t:s0:c3,c4"}, ""},
		{"level wins", Options{Level: "s15:c0.c1023"}, "s0:c3,c4", Labels{"system_u:system_r:container_t:s15:c0.c1023", "system_u:object_r:container_file_t:s15:c0.c1023"}, ""},
		{"user role filetype", Options{User: "staff_u", Role: "staff_r", FileType: "my_file_t"}, "s0:c5,c6", Labels{"staff_u:staff_r:container_t:s0:c5,c6", "staff_u:object_r:my_file_t:s0:c5,c6"}, ""},
		{"disable", Options{Disable: true, Type: "ignored_t"}, "s0:c1,c2", Labels{"", "system_u:object_r:container_file_t:s0:c1022,c1023"}, ""},
		{"no level", Options{}, "", Labels{"system_u:system_r:container_t:s0", "system_u:object_r:container_file_t:s0"}, ""},
		{"untranslated", Options{Level: "TopSecret"}, "", Labels{}, "not a raw level"},
	}
	for _, tt := range tests {
		got, err := Compose(tt.o, tt.level, Builtin)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	if _, err := Compose(Options{}, "", Defaults{Process: "bad", File: Builtin.File}); err == nil {
		t.Error("bad default accepted")
	}
}

func TestLoadDefaults(t *testing.T) {
	root := t.TempDir()
	if d, err := LoadDefaults(root); err != nil || d != Builtin {
		t.Fatalf("missing file: %+v %v", d, err)
	}
	os.MkdirAll(filepath.Join(root, "contexts"), 0o755)
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(root, "contexts", "lxc_contexts"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# c\nprocess = \"u:r:proc_t:s0\"\ncontent = \"x\"\nfile = \"u:object_r:f_t:s0\"\n")
	d, err := LoadDefaults(root)
	if err != nil || d != (Defaults{"u:r:proc_t:s0", "u:object_r:f_t:s0"}) {
		t.Fatalf("got %+v %v", d, err)
	}
	write("process = \"u:r:proc_t\"\nfile\n")
	if _, err := LoadDefaults(root); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("want line 2 error, got %v", err)
	}
	write("process = \"justone\"\n")
	if _, err := LoadDefaults(root); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Fatalf("want line 1 error, got %v", err)
	}
}

func TestPolicyRoot(t *testing.T) {
	dir := t.TempDir()
	if got := PolicyRoot(dir); got != "" {
		t.Errorf("no config: %q", got)
	}
	os.WriteFile(filepath.Join(dir, "config"), []byte("SELINUX=permissive\nSELINUXTYPE=mls\n"), 0o644)
	if got := PolicyRoot(dir); got != filepath.Join(dir, "mls") {
		t.Errorf("got %q", got)
	}
	os.WriteFile(filepath.Join(dir, "config"), []byte("SELINUXTYPE=../../etc\n"), 0o644)
	if got := PolicyRoot(dir); got != "" {
		t.Errorf("path escape accepted: %q", got)
	}
}

// Init must produce the label strings whether or not the host enforces them.
func TestInit(t *testing.T) {
	// With SELinux enabled Init goes through go-selinux, which must give the
	// same type and level for these options.
	l, err := Init(Options{Type: "docker_apache_t"}, "s0:c7,c8")
	if err != nil {
		t.Fatal(err)
	}
	if TypeOf(l.Process) != "docker_apache_t" || LevelOf(l.Process) != "s0:c7,c8" || LevelOf(l.Mount) != "s0:c7,c8" {
		t.Errorf("got %+v", l)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"type:a_t", "level:s0:c1,c2", "disable", "level:TopSecret", "x:", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := Parse([]string{s})
		if err != nil {
			return
		}
		lvl := ""
		if IsRawLevel(o.Level) {
			lvl = o.Level
		}
		o.Level = lvl
		if _, err := Compose(o, "s0:c1,c2", Builtin); err != nil {
			t.Fatalf("parsed %q but Compose failed: %v", s, err)
		}
	})
}

func TestSharedLevel(t *testing.T) {
	if got := SharedLevel("system_u:object_r:container_file_t:s0:c1,c2"); got != "system_u:object_r:container_file_t:s0" {
		t.Errorf("SharedLevel = %q", got)
	}
	if got := SharedLevel("bogus"); got != "bogus" {
		t.Errorf("SharedLevel(bogus) = %q", got)
	}
}
