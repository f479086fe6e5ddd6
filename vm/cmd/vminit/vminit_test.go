//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyLabelsMalformed(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "labels")
	if err := os.WriteFile(list, []byte("a\tsystem_u:object_r:bin_t:s0\nno-tab-here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := applyLabels(list, dir)
	if err == nil {
		t.Fatal("no error for a malformed list")
	}
	// Line 1 may fail first without the privilege to set security.*;
	// either way the error names the list and the line.
	if !strings.Contains(err.Error(), list+":") {
		t.Errorf("error %q does not name the list and line", err)
	}
	if !strings.Contains(err.Error(), ":1:") && !strings.Contains(err.Error(), ":2: want PATH<TAB>LABEL") {
		t.Errorf("error %q has no line number", err)
	}
}

func TestApplyLabelsMissingList(t *testing.T) {
	if err := applyLabels(filepath.Join(t.TempDir(), "none"), "/"); err != nil {
		t.Errorf("a missing list is not an error: %v", err)
	}
}

func TestExtractVmlinuxGarbage(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bzImage")
	junk := append(bytes.Repeat([]byte{0}, 4096), "\xfd7zXZ\x00garbage"...)
	if err := os.WriteFile(in, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	err := extractVmlinux(in, filepath.Join(dir, "vmlinux"))
	if err == nil || !strings.Contains(err.Error(), "no xz, zstd or gzip stream") {
		t.Errorf("got %v, want a clear error", err)
	}
}

func TestPayloadArgv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cmdline")
	os.WriteFile(p, []byte("/bin/x\n-a\n\nb c\n"), 0o644)
	got, err := payloadArgv(p)
	if err != nil || strings.Join(got, "|") != "/bin/x|-a|b c" {
		t.Errorf("payloadArgv = %q, %v", got, err)
	}
	os.WriteFile(p, []byte("\n\n"), 0o644)
	if _, err := payloadArgv(p); err == nil {
		t.Error("an empty cmdline is not an error")
	}
}
