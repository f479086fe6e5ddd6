package container

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreateGetNames(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &Record{ID: NewID(), Name: "web", Created: time.Now()}
	if err := s.Create(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(&Record{ID: NewID(), Name: "web"}); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, ref := range []string{"web", a.ID, a.ID[:12], a.ID[:3]} {
		r, err := s.Get(ref)
		if err != nil || r.ID != a.ID {
			t.Errorf("Get(%q) = %v, %v", ref, r, err)
		}
	}
	if _, err := s.Get("nope"); err == nil {
		t.Error("unknown name found")
	}
	if err := ValidName("../x"); err == nil {
		t.Error("bad name accepted")
	}
}

// Concurrent creates with one name: exactly one wins.
func TestNameRace(t *testing.T) {
	s, _ := Open(t.TempDir())
	var wg sync.WaitGroup
	wins := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Record{ID: NewID(), Name: "same"}
			if s.Create(r) == nil {
				wins <- r.ID
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Fatalf("%d creates won the same name", n)
	}
}

func TestExit(t *testing.T) {
	s, _ := Open(t.TempDir())
	r := &Record{ID: NewID(), Name: "x"}
	_ = s.Create(r)
	if s.LoadExit(r.ID) != nil {
		t.Fatal("exit before exiting")
	}
	_ = s.SaveExit(r.ID, Exit{Code: 3, OOMKilled: true})
	if e := s.LoadExit(r.ID); e == nil || e.Code != 3 || !e.OOMKilled {
		t.Fatalf("exit = %+v", e)
	}
}
