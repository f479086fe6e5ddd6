//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestReadRSS(t *testing.T) {
	dir := t.TempDir()
	for in, want := range map[string]float64{
		"4492\n": 4492,
		"Command exited with non-zero status 1\n3120\n": 3120,
	} {
		f := filepath.Join(dir, "x.rss")
		if err := os.WriteFile(f, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readRSS(f)
		if err != nil || got != want {
			t.Errorf("readRSS(%q) = %v, %v; want %v", in, got, err, want)
		}
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("readRSS left %s behind", f)
		}
	}
	for _, in := range []string{"", "lots of\nwords\n"} {
		f := filepath.Join(dir, "bad.rss")
		os.WriteFile(f, []byte(in), 0o600)
		if _, err := readRSS(f); err == nil {
			t.Errorf("readRSS(%q) succeeded", in)
		}
	}
	if _, err := readRSS(filepath.Join(dir, "missing")); err == nil {
		t.Error("readRSS of a missing file succeeded")
	}
}

// The bundle's config is what the comparison rests on: crun 1.8.1 needs
// ociVersion 1.0.x, every runtime runs /bin/true without a terminal.
func TestConfig(t *testing.T) {
	var c struct {
		OCIVersion string `json:"ociVersion"`
		Process    struct {
			Terminal     bool     `json:"terminal"`
			Args         []string `json:"args"`
			Capabilities map[string][]string
		} `json:"process"`
		Root struct{ Path string } `json:"root"`
	}
	if err := json.Unmarshal([]byte(config), &c); err != nil {
		t.Fatal(err)
	}
	if c.OCIVersion != "1.0.2" || c.Process.Terminal || len(c.Process.Args) != 1 || c.Process.Args[0] != "/bin/true" || c.Root.Path != "rootfs" {
		t.Errorf("config drifted: %+v", c)
	}
	if _, ok := c.Process.Capabilities["ambient"]; ok {
		t.Error("config has an ambient set (brig-runtime refuses it; see writeBundle)")
	}
}
