package procscan

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestReadSelfMatchesCapget(t *testing.T) {
	p, err := Read("", os.Getpid(), true)
	if err != nil {
		t.Fatal(err)
	}
	h := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	if err := unix.Capget(&h, &d[0]); err != nil {
		t.Fatal(err)
	}
	eff := uint64(d[0].Effective) | uint64(d[1].Effective)<<32
	if uint64(p.Eff) != eff || p.PPID != os.Getppid() || p.EUID != os.Geteuid() || p.ChildUserNS || p.Cgroup == "" {
		t.Fatalf("%+v, capget eff %x", p, eff)
	}
}

func TestReadMissingIsGone(t *testing.T) {
	if _, err := Read("", 1<<30, false); !errors.Is(err, ErrGone) {
		t.Fatalf("%v", err)
	}
	if _, err := Scan(Options{Root: t.TempDir() + "/nope"}); err == nil {
		t.Fatal("missing root accepted")
	}
}

// TestScanRacesExitingChildren scans while children start and exit as fast
// as they can; a process vanishing mid-read must be skipped, never reported.
func TestScanRacesExitingChildren(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var spawned atomic.Int64
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := exec.Command("/bin/true")
				if c.Start() == nil {
					spawned.Add(1)
					c.Wait()
				}
			}
		}()
	}
	deadline := time.Now().Add(700 * time.Millisecond)
	scans := 0
	for time.Now().Before(deadline) {
		ps, err := Scan(Options{Cgroup: scans%2 == 0, Skip: os.Getpid()})
		if err != nil {
			t.Fatalf("scan %d: %v", scans, err)
		}
		if len(ps) == 0 {
			t.Fatal("no processes")
		}
		for _, p := range ps {
			if p.PID == os.Getpid() {
				t.Fatal("skipped pid listed")
			}
		}
		scans++
	}
	close(stop)
	wg.Wait()
	if scans < 2 || spawned.Load() < 2 {
		t.Fatalf("race not exercised: %d scans, %d children", scans, spawned.Load())
	}
}

// BenchmarkScan reads every process on the host; run it with bench/caps's
// 2,000 sleepers for the setting.
func BenchmarkScan(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ps, err := Scan(Options{Skip: os.Getpid()})
		if err != nil || len(ps) == 0 {
			b.Fatal(err)
		}
	}
}
