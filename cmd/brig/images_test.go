package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigrt/brig/internal/testimage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// brigImages runs one brig command line in-process.
func brigImages(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	defer root.SetArgs(nil)
	err := root.Execute()
	return out.String(), err
}

func TestImageCommands(t *testing.T) {
	t.Setenv("BRIG_ROOT", t.TempDir())
	img, err := testimage.Image()
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "demo.tar")
	tag, _ := name.NewTag(testimage.Name)
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	if out, err := brigImages(t, "load", "-i", archive); err != nil || !strings.Contains(out, "Loaded image: brig-demo:latest") {
		t.Fatalf("load: %q, %v", out, err)
	}
	if _, err := brigImages(t, "tag", "brig-demo", "localhost/busybox:1"); err != nil {
		t.Fatal(err)
	}
	out, err := brigImages(t, "images", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []imageRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("images --format json = %q, %v", out, err)
	}
	if rows[1].Repository != "localhost/busybox" || rows[1].Tag != "1" || rows[0].ID != rows[1].ID {
		t.Errorf("rows = %+v", rows)
	}
	if out, _ := brigImages(t, "images", "-q", "localhost/busybox"); strings.TrimSpace(out) != rows[0].ID {
		t.Errorf("images -q localhost/busybox = %q", out)
	}
	if _, err := brigImages(t, "rmi", rows[0].ID); err == nil {
		t.Error("rmi by id of an image with two names succeeded")
	}
	out, err = brigImages(t, "rmi", "localhost/busybox:1", "brig-demo")
	if err != nil || !strings.Contains(out, "Untagged: localhost/busybox:1") || !strings.Contains(out, "Deleted: sha256:") {
		t.Fatalf("rmi: %q, %v", out, err)
	}
	// Flags persist between in-process runs: reset -q.
	if out, _ := brigImages(t, "images", "-q=false", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("images after rmi = %q", out)
	}
	if _, err := brigImages(t, "images", "--format", "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := brigImages(t, "import", "-c", "FROM scratch", archive, "x"); err == nil || !strings.Contains(err.Error(), "--change 1") {
		t.Errorf("bad --change: %v", err)
	}
}

func TestStoreRoot(t *testing.T) {
	old := rootDir
	defer func() { rootDir = old }()
	rootDir = ""
	t.Setenv("BRIG_ROOT", "/from/env")
	if got := storeRoot(); got != "/from/env" {
		t.Errorf("storeRoot = %q with BRIG_ROOT", got)
	}
	rootDir = "/from/flag"
	if got := storeRoot(); got != "/from/flag" {
		t.Errorf("storeRoot = %q with --root", got)
	}
	rootDir = ""
	t.Setenv("BRIG_ROOT", "")
	if got := storeRoot(); got != "/var/lib/brig" {
		t.Errorf("storeRoot default = %q", got)
	}
}
