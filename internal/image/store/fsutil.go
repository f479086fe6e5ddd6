package store

import (
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// writeFileAtomic writes data to a temporary file beside p, syncs it and
// renames it over p, so readers see the old or the new content, never a mix,
// even after a power loss.
func writeFileAtomic(p string, data []byte) error { return writeFile(p, data, true) }

// writeFile is writeFileAtomic with the syncs optional: without them a
// crashed process still leaves old or new content, a crashed machine may
// lose the update.
func writeFile(p string, data []byte, durable bool) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if !durable {
		return nil
	}
	return syncDir(filepath.Dir(p))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// lock takes an flock on the store's lock file name, exclusive or shared,
// and returns the function that releases it. flock locks belong to the open
// file, so they exclude other goroutines of this process as well as other
// processes, and die with a crashed process.
func (s *Store) lock(name string, exclusive bool) (func(), error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	return s.flock(name, how)
}

// tryLock takes an exclusive lock only if nobody holds the file.
func (s *Store) tryLock(name string) (func(), bool, error) {
	unlock, err := s.flock(name, unix.LOCK_EX|unix.LOCK_NB)
	if err == unix.EWOULDBLOCK {
		return nil, false, nil
	}
	return unlock, err == nil, err
}

func (s *Store) flock(name string, how int) (func(), error) {
	f, err := os.OpenFile(s.path(name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// removeAll is os.RemoveAll that also gets through read-only directories,
// which image layers have and which stop a non-root remover.
func removeAll(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
