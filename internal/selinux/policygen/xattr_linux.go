package policygen

import (
	"strings"

	"golang.org/x/sys/unix"
)

// xattrType reads the type from the path's security.selinux label. Hosts
// with SELinux disabled often have labels from an earlier relabel; paths
// without one fall back to file_contexts.
func xattrType(path string) (string, bool) {
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, "security.selinux", buf)
	if err != nil || n <= 0 {
		return "", false
	}
	parts := strings.SplitN(strings.TrimRight(string(buf[:n]), "\x00"), ":", 4)
	if len(parts) < 3 || parts[2] == "" || parts[2] == "unlabeled_t" {
		return "", false
	}
	return parts[2], true
}
