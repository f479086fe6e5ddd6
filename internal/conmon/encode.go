package conmon

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// The monitor's config is "key=value" lines, one "onexit=" line per
// argument: simple to read without a JSON decoder.
func (c Config) encode() string {
	var b strings.Builder
	for _, kv := range [][2]string{{"id", c.ID}, {"runtime", c.RuntimeBin}, {"runtimeRoot", c.RuntimeRoot},
		{"bundle", c.Bundle}, {"log", c.LogPath}, {"exit", c.ExitPath}, {"tty", strconv.FormatBool(c.TTY)}, {"label", c.Label}} {
		b.WriteString(kv[0] + "=" + kv[1] + "\n")
	}
	for _, a := range c.OnExit {
		b.WriteString("onexit=" + a + "\n")
	}
	return b.String()
}

func parseConfig(s string) (Config, error) {
	var c Config
	for n, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return c, errors.New("line " + strconv.Itoa(n+1) + ": no '='")
		}
		switch k {
		case "id":
			c.ID = v
		case "runtime":
			c.RuntimeBin = v
		case "runtimeRoot":
			c.RuntimeRoot = v
		case "bundle":
			c.Bundle = v
		case "log":
			c.LogPath = v
		case "exit":
			c.ExitPath = v
		case "tty":
			c.TTY = v == "true"
		case "label":
			c.Label = v
		case "onexit":
			c.OnExit = append(c.OnExit, v)
		default:
			return c, errors.New("line " + strconv.Itoa(n+1) + ": unknown key " + strconv.Quote(k))
		}
	}
	if c.ID == "" || c.RuntimeBin == "" || c.Bundle == "" || c.ExitPath == "" || c.LogPath == "" {
		return c, errors.New("incomplete config")
	}
	return c, nil
}

// JSON renders the exit record, the same document encoding/json would write.
func (e Exit) JSON() []byte {
	b := []byte(`{"code":`)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"finishedAt":"`...)
	b = e.FinishedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","oomKilled":`...)
	b = strconv.AppendBool(b, e.OOMKilled)
	if e.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, e.Error)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string literal, escaping what JSON
// requires and replacing invalid UTF-8, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// jsonField finds "key":"value" in a flat JSON line and returns the
// unescaped value; good enough for brig-runtime's own log and state files.
func jsonField(s, key string) string {
	i := strings.Index(s, `"`+key+`":"`)
	if i < 0 {
		return ""
	}
	rest := s[i+len(key)+4:]
	for j := 0; j < len(rest); j++ {
		if rest[j] == '\\' {
			j++
			continue
		}
		if rest[j] == '"' {
			v, err := strconv.Unquote(`"` + rest[:j] + `"`)
			if err != nil {
				return rest[:j]
			}
			return v
		}
	}
	return ""
}

// say writes a report message to the brig command waiting for it.
func say(w *os.File, msg string) { _, _ = w.WriteString(msg) }

// OutputPipe returns the read and write ends for one of a container's
// output streams. Without a label it is an ordinary pipe. With one (an
// SELinux host) it is a FIFO in dir carrying that label: a pipe is
// labelled with its creator's domain, which a container_t process may not
// write to, while a FIFO labelled with the container's own file label it
// may (podman avoids the issue by running its monitor as
// container_runtime_t).
func OutputPipe(dir, name, label string) (r, w *os.File, err error) {
	if label == "" {
		return os.Pipe()
	}
	p := filepath.Join(dir, name+".fifo")
	os.Remove(p)
	if err := unix.Mkfifo(p, 0o600); err != nil {
		return nil, nil, err
	}
	defer os.Remove(p) // the open ends keep the FIFO alive
	if err := unix.Setxattr(p, "security.selinux", []byte(label+"\x00"), 0); err != nil {
		return nil, nil, errors.New("label output fifo: " + err.Error())
	}
	// Open the read end without blocking (no writer yet), then the
	// write end, then make reads block again.
	r, err = os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	w, err = os.OpenFile(p, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	if err := unix.SetNonblock(int(r.Fd()), false); err != nil {
		r.Close()
		w.Close()
		return nil, nil, err
	}
	return r, w, nil
}
