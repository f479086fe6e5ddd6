package benchkit

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	r := Run(Cmd{Args: []string{"sh", "-c", "echo out; echo err >&2"}, Timeout: 10 * time.Second})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Wall <= 0 || r.MaxRSS <= 0 {
		t.Errorf("no measurement: wall %v, maxrss %d", r.Wall, r.MaxRSS)
	}
	if !strings.Contains(r.Out, "out") || !strings.Contains(r.Out, "err") {
		t.Errorf("output %q lacks stdout or stderr", r.Out)
	}
	r = Run(Cmd{Args: []string{"sh", "-c", "echo broken >&2; exit 3"}, Timeout: 10 * time.Second})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "exit status 3") || !strings.Contains(r.Err.Error(), "broken") {
		t.Errorf("failure reported as %v", r.Err)
	}
	r = Run(Cmd{Args: []string{"sleep", "5"}, Timeout: 50 * time.Millisecond})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "timed out") {
		t.Errorf("timeout reported as %v", r.Err)
	}
	if len(spawn.owned) != 0 {
		t.Errorf("Run left %d pids registered", len(spawn.owned))
	}
}

func TestProcStat(t *testing.T) {
	st, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != os.Getppid() || st.comm == "" || st.state == 0 {
		t.Errorf("procStat(self) = %+v, ppid want %d", st, os.Getppid())
	}
	if _, err := procStat(-1); err == nil {
		t.Error("procStat(-1) succeeded")
	}
	if st := Status(os.Getpid(), "VmRSS"); st["VmRSS"] <= 0 {
		t.Errorf("Status VmRSS = %v", st)
	}
}
