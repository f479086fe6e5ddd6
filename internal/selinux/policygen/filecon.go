package policygen

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// FileContexts answers "what type does the policy give this path", the way
// matchpathcon does: entries without regex characters win over patterns,
// and among patterns the last in the (already sorted) file wins.
type FileContexts struct {
	path    string
	entries []fcEntry
}

type fcEntry struct {
	pattern string
	kind    string // "", "--", "-d", "-l", ...
	typ     string // "" for <<none>>
	line    int
	re      *regexp.Regexp
	meta    bool
}

// LoadFileContexts reads a file_contexts file and its .local companion.
func LoadFileContexts(path string) (*FileContexts, error) {
	fc := &FileContexts{path: path}
	for _, p := range []string{path, path + ".local"} {
		f, err := os.Open(p)
		if err != nil {
			if p != path && os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			fl := strings.Fields(line)
			e := fcEntry{pattern: fl[0], line: n}
			switch len(fl) {
			case 2:
			case 3:
				e.kind = fl[1]
			default:
				f.Close()
				return nil, fmt.Errorf("%s:%d: want PATH [TYPE] CONTEXT", p, n)
			}
			con := fl[len(fl)-1]
			if con != "<<none>>" {
				parts := strings.SplitN(con, ":", 4)
				if len(parts) < 3 {
					f.Close()
					return nil, fmt.Errorf("%s:%d: bad context %q", p, n, con)
				}
				e.typ = parts[2]
			}
			e.meta = strings.ContainsAny(e.pattern, `.^$?*+|[({\`)
			fc.entries = append(fc.entries, e)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return fc, nil
}

// DefaultFileContexts is the file_contexts of the configured policy.
func DefaultFileContexts() (*FileContexts, error) {
	typ := "default"
	if data, err := os.ReadFile("/etc/selinux/config"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "SELINUXTYPE="); ok && v != "" && !strings.Contains(v, "/") {
				typ = v
			}
		}
	}
	return LoadFileContexts(filepath.Join("/etc/selinux", typ, "contexts/files/file_contexts"))
}

func kindOf(path string) string {
	st, err := os.Lstat(path)
	if err != nil {
		return ""
	}
	switch st.Mode().Type() {
	case 0:
		return "--"
	case fs.ModeDir:
		return "-d"
	case fs.ModeSymlink:
		return "-l"
	case fs.ModeNamedPipe:
		return "-p"
	case fs.ModeSocket:
		return "-s"
	case fs.ModeDevice | fs.ModeCharDevice:
		return "-c"
	case fs.ModeDevice:
		return "-b"
	}
	return ""
}

// Type returns the type the policy gives path.
func (fc *FileContexts) Type(path string) (string, error) {
	path = filepath.Clean(path)
	kind := kindOf(path)
	match := func(e *fcEntry) bool {
		if e.kind != "" && kind != "" && e.kind != kind {
			return false
		}
		if !e.meta {
			return e.pattern == path
		}
		if e.re == nil {
			re, err := regexp.Compile("^(?:" + e.pattern + ")$")
			if err != nil {
				e.meta = false // RE2 cannot take it; compare literally
				return e.pattern == path
			}
			e.re = re
		}
		return e.re.MatchString(path)
	}
	for pass := 0; pass < 2; pass++ {
		for i := len(fc.entries) - 1; i >= 0; i-- {
			e := &fc.entries[i]
			if (pass == 0) == e.meta || !match(e) {
				continue
			}
			if e.typ == "" {
				return "", fmt.Errorf("%s:%d: %s is not labelled by the policy (<<none>>)", fc.path, e.line, e.pattern)
			}
			return e.typ, nil
		}
	}
	return "", fmt.Errorf("no file_contexts entry in %s matches %s", fc.path, path)
}

// Lookup returns a mount-type lookup: the path's own label when it has
// one (security.selinux xattr), else the policy's file_contexts.
func Lookup(fc *FileContexts) func(string) (string, error) {
	return func(path string) (string, error) {
		if t, ok := xattrType(path); ok {
			return t, nil
		}
		if fc == nil {
			return "", fmt.Errorf("the path has no SELinux label and no file_contexts was loaded")
		}
		return fc.Type(path)
	}
}
