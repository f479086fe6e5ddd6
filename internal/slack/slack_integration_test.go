//go:build integration && linux

package slack

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Stretch gives the runtime's monitor thread, and only it, the slack:
// the thread it picks is the one that sleeps in nanosleep, and the main
// thread keeps its own. (Writing another thread's slack needs
// CAP_SYS_NICE, hence root.)
func TestStretch(t *testing.T) {
	pid := os.Getpid()
	read := func(tid int, file string) string {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/" + file)
		return strings.TrimSpace(string(b))
	}
	mainSlack := read(pid, "timerslack_ns")
	Stretch()
	tid := firstThread(pid)
	if tid == 0 {
		t.Fatal("no thread found besides the main one")
	}
	if got := read(tid, "timerslack_ns"); got != strconv.Itoa(Slack) {
		t.Fatalf("thread %d slack %s, want %d", tid, got, Slack)
	}
	if got := read(pid, "timerslack_ns"); got != mainSlack {
		t.Fatalf("main thread slack %s, was %s", got, mainSlack)
	}
	// sysmon spends its life in nanosleep; catch it there.
	nanosleep := strconv.Itoa(syscall.SYS_NANOSLEEP)
	for i := 0; ; i++ {
		f := strings.Fields(read(tid, "syscall"))
		if len(f) > 0 && f[0] == nanosleep {
			break
		}
		if i == 100 {
			t.Fatalf("thread %d is not sysmon: in system call %v", tid, f)
		}
		time.Sleep(time.Millisecond)
	}
}
