package container

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// storeWithWeb is a fresh store holding one container, named web.
func storeWithWeb(t *testing.T) (*Store, *Record) {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &Record{ID: NewID(), Name: "web", Created: time.Now()}
	if err := s.Create(a); err != nil {
		t.Fatal(err)
	}
	return s, a
}

func TestCreateGetNames(t *testing.T) {
	s, a := storeWithWeb(t)
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

// The name index: names are freed by Remove, a link left by a create killed
// before its record was written does not hold the name, and a store made
// before the index existed is indexed at its next create.
func TestNameIndex(t *testing.T) {
	s, a := storeWithWeb(t)
	if err := s.Remove(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s.nameLink("web")); !os.IsNotExist(err) {
		t.Errorf("Remove left the name link: %v", err)
	}
	b := &Record{ID: NewID(), Name: "web", Created: time.Now()}
	if err := s.Create(b); err != nil {
		t.Fatalf("name not freed by Remove: %v", err)
	}

	// A create killed between taking the name and writing its record.
	if err := os.Symlink(NewID(), s.nameLink("ghost")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("ghost"); err == nil {
		t.Error("a stale link was found as a container")
	}
	if err := s.Create(&Record{ID: NewID(), Name: "ghost", Created: time.Now()}); err != nil {
		t.Errorf("a stale link held the name: %v", err)
	}

	// A store from before the index: records only.
	old, _ := Open(t.TempDir())
	c := &Record{ID: NewID(), Name: "db", Created: time.Now()}
	must(t, os.Mkdir(old.Path(c.ID), 0o700))
	must(t, old.Save(c))
	if r, err := old.Get("db"); err != nil || r.ID != c.ID {
		t.Fatalf("Get before indexing: %v, %v", r, err)
	}
	if err := old.Create(&Record{ID: NewID(), Name: "db"}); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("an indexed old name was not held: %v", err)
	}
	if r, err := old.Get("db"); err != nil || r.ID != c.ID {
		t.Fatalf("Get after indexing: %v, %v", r, err)
	}
	if all, _ := old.List(); len(all) != 1 {
		t.Errorf("List sees %d records, want 1 (the index is not one)", len(all))
	}
	if _, err := s.Get("../../etc"); err == nil {
		t.Error("a path was taken for a container")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
