package conmon

import (
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// groupAlive follows a process group past its leader: with the leader
// gone, a member still running keeps the group alive, and a member that
// is only a zombie does not.
func TestGroupAlive(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & echo started; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	defer syscall.Kill(-pgid, syscall.SIGKILL)
	buf := make([]byte, 8)
	if _, err := out.Read(buf); err != nil { // the background sleep exists
		t.Fatal(err)
	}
	if !groupAlive(pgid) {
		t.Fatal("a running group is reported dead")
	}
	// The leader dies but is not reaped yet: only the sleep keeps the
	// group alive, and only the scan of /proc can see it.
	if err := syscall.Kill(pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if state, _, _ := procStat(strconv.Itoa(pgid)); state == "Z" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !groupAlive(pgid) {
		t.Fatal("a group whose leader is a zombie but whose sleep runs is reported dead")
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	dead := false
	for i := 0; i < 500 && !dead; i++ {
		dead = !groupAlive(pgid)
		time.Sleep(10 * time.Millisecond)
	}
	if !dead {
		t.Fatal("a killed group is still reported alive")
	}
	_ = cmd.Wait()
}
