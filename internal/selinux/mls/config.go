package mls

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// DefaultPath is the setrans.conf of the policy named by SELINUXTYPE in
// /etc/selinux/config, or "" when there is no config or no such file.
func DefaultPath() string { return defaultPath("/etc/selinux") }

func defaultPath(dir string) string {
	f, err := os.Open(filepath.Join(dir, "config"))
	if err != nil {
		return ""
	}
	defer f.Close()
	typ := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && strings.TrimSpace(k) == "SELINUXTYPE" {
			typ = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	// A type with a slash would escape /etc/selinux.
	if typ == "" || strings.ContainsAny(typ, "/\x00") || typ == "." || typ == ".." {
		return ""
	}
	p := filepath.Join(dir, typ, "setrans.conf")
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	return p
}
