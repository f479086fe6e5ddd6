package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the filesystem holding dir, so a layer unpacked file by
// file is on disk before the rename that declares it complete.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
