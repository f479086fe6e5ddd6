package runtime

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Signals that arrive before the container starts are reported (the
// create is then undone); SIGWINCH and the runtime's own noise are not.
func TestRelayInterrupted(t *testing.T) {
	r := startRelay()
	<-r.ready
	if s := r.interrupted(); s != nil {
		t.Fatalf("interrupted() = %v with nothing sent", s)
	}
	must(t, unix.Kill(os.Getpid(), unix.SIGWINCH))
	must(t, unix.Kill(os.Getpid(), unix.SIGCHLD))
	must(t, unix.Kill(os.Getpid(), unix.SIGUSR1))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := r.interrupted(); s != nil {
			if s != unix.SIGUSR1 {
				t.Fatalf("interrupted() = %v, want SIGUSR1", s)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("SIGUSR1 was never reported")
}

// wait passes a signal this process receives on to the child and reports
// the child's death by it the way a shell does.
func TestRelayWaitForwards(t *testing.T) {
	r := startRelay()
	cmd := exec.Command("sleep", "30")
	must(t, cmd.Start())
	done := make(chan int, 1)
	go func() {
		code, _ := r.wait(&child{Pid: cmd.Process.Pid})
		done <- code
	}()
	<-r.ready
	must(t, unix.Kill(os.Getpid(), unix.SIGTERM))
	select {
	case code := <-done:
		if code != 128+int(unix.SIGTERM) {
			t.Fatalf("exit code %d, want %d", code, 128+int(unix.SIGTERM))
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("SIGTERM was not relayed to the child")
	}
}

// The relay's own handler (OwnSignals), in a child process of this test
// binary since it takes the signals for good: each signal it passes on
// arrives once, in the order sent, and none of them kills the process.
func TestOwnSignals(t *testing.T) {
	if os.Getenv("BRIG_TEST_OWN_SIGNALS") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOwnSignals$", "-test.v")
		cmd.Env = append(os.Environ(), "BRIG_TEST_OWN_SIGNALS=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestOwnSignals") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	OwnSignals()
	r := startRelay()
	if handler, _ := handlerAddrs(); handler != 0 && !sigs.ok {
		t.Fatal("the handler was not installed")
	}
	want := append([]unix.Signal{}, relaySignals...)
	for s := sigrtmin; s <= sigrtmax; s++ {
		want = append(want, unix.Signal(s))
	}
	for _, s := range want {
		must(t, unix.Kill(os.Getpid(), s))
		select {
		case got := <-r.ch:
			if got != s {
				t.Fatalf("sent %v, received %v", s, got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v never arrived", s)
		}
	}
	select {
	case got := <-r.ch:
		t.Fatalf("received %v, sent nothing more", got)
	case <-time.After(20 * time.Millisecond):
	}
}
