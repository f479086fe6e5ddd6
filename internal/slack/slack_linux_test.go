package slack

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFirst(t *testing.T) {
	for _, c := range []struct {
		self int
		tids []int
		want int
	}{
		{100, []int{101, 102, 105}, 101},
		{100, []int{105, 101, 102}, 101},
		{100, nil, 0},
		{32760, []int{32761, 3, 4}, 32761}, // wrapped after sysmon
		{32767, []int{5, 3, 4}, 3},         // wrapped before it
	} {
		if got := first(c.self, c.tids); got != c.want {
			t.Errorf("first(%d, %v) = %d, want %d", c.self, c.tids, got, c.want)
		}
	}
}

func slackOf(t *testing.T) uint64 {
	t.Helper()
	v, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(v)
}

// Restore sets the calling thread's slack: to Original, or to the value
// given. (Its own thread needs no privilege.)
func TestRestore(t *testing.T) {
	runtime.LockOSThread() // the thread is left with odd slack: Go discards it
	old := Original
	defer func() { Original = old }()
	Original = 77_000
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 5_000_000, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := Restore(0); err != nil || slackOf(t) != 77_000 {
		t.Fatalf("Restore(0): slack %d, %v; want Original, 77000", slackOf(t), err)
	}
	if err := Restore(123_000); err != nil || slackOf(t) != 123_000 {
		t.Fatalf("Restore(123000): slack %d, %v", slackOf(t), err)
	}
	// The kernel's view of the thread, not the prctl's.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(unix.Gettid()) + "/timerslack_ns")
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(123_000) {
		t.Fatalf("/proc/TID/timerslack_ns = %q, %v", b, err)
	}
}
