//go:build linux

package profile

import (
	"testing"

	"github.com/brigrt/brig/internal/caps"
)

// FuzzParse: arbitrary profile files must give a profile or an error, never
// a panic, and whatever parses must resolve (or fail) cleanly too.
func FuzzParse(f *testing.F) {
	f.Add([]byte(custom))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"read","includes":{"minKernel":"4.8","caps":["CAP_X"]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("profile and error")
			}
			return
		}
		for _, arch := range []string{"amd64", "arm64"} {
			_, _ = Resolve(p, Options{Arch: arch, Kernel: "6.1", Caps: caps.DockerDefault})
		}
	})
}
