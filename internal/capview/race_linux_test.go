package capview

import (
	"io"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// TestListRacesExitingChildren lists the live host in every format while
// children start and exit; vanishing processes must be skipped silently.
func TestListRacesExitingChildren(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
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
				c.Wait()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	v := &Viewer{}
	deadline := time.Now().Add(500 * time.Millisecond)
	for i := 0; time.Now().Before(deadline) || i < 3; i++ {
		for _, f := range []string{FormatPscap, FormatTable, FormatJSON} {
			if err := v.List(io.Discard, true, f); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
	}
}
