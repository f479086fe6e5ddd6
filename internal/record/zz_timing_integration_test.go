//go:build integration && linux && amd64

package record

import (
	"testing"
)

func TestZZStart(t *testing.T) {
	cg := newCgroup(t)
	for i := 0; i < 20; i++ {
		r, err := Start(Options{Cgroup: cg})
		if err != nil {
			t.Fatal(err)
		}
		r.Stop()
	}
}
