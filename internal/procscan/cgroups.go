package procscan

// Mount is one mounted cgroup hierarchy.
type Mount struct {
	Dir  string // mount point, e.g. /sys/fs/cgroup/memory
	Root string // hierarchy path shown at Dir, usually "/"
}

// parsePIDList reads cgroup.procs: one decimal pid per line.
func parsePIDList(b []byte) []int {
	var out []int
	n, in := 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int(c-'0')
			in = true
		default:
			if in && n > 0 {
				out = append(out, n)
			}
			n, in = 0, false
		}
	}
	if in && n > 0 {
		out = append(out, n)
	}
	return out
}
