package runtime

import (
	"sort"

	"github.com/brigrt/brig/internal/rawio"
)

func sortStrings(s []string) { sort.Strings(s) }

// readFile is os.ReadFile with plain system calls (see rawio).
func readFile(path string) ([]byte, error) { return rawio.ReadFile(path, 4096) }
