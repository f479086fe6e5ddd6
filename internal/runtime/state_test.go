package runtime

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/brigrt/brig/internal/cgroup"
	"github.com/brigrt/brig/internal/runtime/wire"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestStateJSON: state.json written through specjson is byte for byte
// what encoding/json writes for State's fields, so state files from
// before specjson and after it read the same, both ways.
func TestStateJSON(t *testing.T) {
	doc, err := os.ReadFile("../spec/testdata/podman-specs/a-default.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	st := &State{ID: "c1", Bundle: "/b", Rootfs: "/b/rootfs", Pid: 42, StartTime: 7,
		Created: time.Date(2026, 11, 27, 5, 0, 0, 1, time.UTC), Annotations: map[string]string{"a": "<b>"},
		Cgroup:  &cgroup.Manager{Path: "/brig/c1", V1: map[string]string{"memory": "/sys/fs/cgroup/memory/brig/c1"}},
		NsPaths: map[string]string{"pid": "/proc/42/ns/pid"}, Phase: Created, Spec: &spec}
	got, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal((*wire.State)(st)) // no methods: encoding/json's own encoding
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("state.json differs from encoding/json's:\n%s\n%s", got, want)
	}
	var back State
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, st) {
		t.Fatalf("state did not survive a round trip:\n%+v\n%+v", &back, st)
	}
	// A state without a spec (a create killed early) stays without one.
	var empty State
	if err := json.Unmarshal([]byte(`{"id":"c2","phase":"creating","spec":null}`), &empty); err != nil || empty.Spec != nil {
		t.Fatalf("spec null: %v, %+v", err, empty.Spec)
	}
}
