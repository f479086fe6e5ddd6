package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleName(t *testing.T) {
	for te, want := range map[string]string{
		"module foo 1.0;\nrequire {}":    "foo",
		"# c\npolicy_module(bar, 1.0)\n": "bar",
		"policy_module(`baz',`1.0')\n":   "baz",
	} {
		got, _, err := ModuleName([]byte(te))
		if err != nil || got != want {
			t.Errorf("%q: %q %v", te, got, err)
		}
	}
	if _, _, err := ModuleName([]byte("allow a b:c d;")); err == nil {
		t.Error("no module line accepted")
	}
}

// TestMissingTools: without the toolchain the error names the packages.
func TestMissingTools(t *testing.T) {
	dir := t.TempDir()
	te := filepath.Join(dir, "m.te")
	os.WriteFile(te, []byte("module m 1.0;\n"), 0o644)
	t.Setenv("PATH", dir)
	_, err := Module(context.Background(), te)
	var me *MissingError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "checkpolicy (Debian/Ubuntu)") || !strings.Contains(err.Error(), "(Fedora/RHEL)") {
		t.Errorf("missing checkmodule: %v", err)
	}
	err = Install(context.Background(), []string{filepath.Join(dir, "x.cil")}, InstallOptions{})
	if !errors.As(err, &me) || me.Debian != "policycoreutils" {
		t.Errorf("missing semodule: %v", err)
	}
	old := DevelMakefile
	DevelMakefile = filepath.Join(dir, "nope", "Makefile")
	defer func() { DevelMakefile = old }()
	ref := filepath.Join(dir, "r.te")
	os.WriteFile(ref, []byte("policy_module(r, 1.0)\n"), 0o644)
	if _, err := Module(context.Background(), ref); !errors.As(err, &me) || me.Fedora != "selinux-policy-devel" {
		t.Errorf("missing Makefile: %v", err)
	}
}

func TestModuleErrors(t *testing.T) {
	dir := t.TempDir()
	te := filepath.Join(dir, "wrong.te")
	os.WriteFile(te, []byte("module right 1.0;\n"), 0o644)
	if _, err := Module(context.Background(), te); err == nil || !strings.Contains(err.Error(), "right.te") {
		t.Errorf("name mismatch: %v", err)
	}
	if _, err := Module(context.Background(), filepath.Join(dir, "x.txt")); err == nil {
		t.Error("a .txt was built")
	}
	if err := Install(context.Background(), nil, InstallOptions{}); err == nil {
		t.Error("empty install accepted")
	}
}
