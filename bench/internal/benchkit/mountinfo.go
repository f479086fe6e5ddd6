package benchkit

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Mount is one line of /proc/PID/mountinfo.
type Mount struct {
	Root, Point, FSType, Source string
}

// Key identifies a mount for comparing two snapshots.
func (m Mount) Key() string { return m.Point + " " + m.FSType + " " + m.Source + " " + m.Root }

// ReadMountinfo parses a mountinfo file.
func ReadMountinfo(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ms, err := ParseMountinfo(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ms, nil
}

// ParseMountinfo parses mountinfo lines (proc(5)): ID PARENT MAJ:MIN ROOT
// POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS.
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			return nil, fmt.Errorf("line %d: no \" - \" separator", n)
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 6 || len(b) < 2 {
			return nil, fmt.Errorf("line %d: too few fields", n)
		}
		ms = append(ms, Mount{Root: unescape(a[3]), Point: unescape(a[4]), FSType: b[0], Source: unescape(b[1])})
	}
	return ms, sc.Err()
}

// unescape undoes the kernel's octal escapes (\040 for space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOct(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }
