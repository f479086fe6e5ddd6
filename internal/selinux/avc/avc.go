// Package avc parses SELinux access vector cache records: kernel AVC lines
// from audit.log, the same lines as dmesg/journal print them ("audit:
// type=1400 audit(...)"), USER_AVC records from userspace object managers,
// and ausearch output (raw or -i). It is built for large logs: one pass,
// no regular expressions, and type/class/permission names interned.
package avc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/brigrt/brig/internal/selinux/refpolicy"
)

// Context is a security context split into its fields.
type Context struct {
	User, Role, Type, Level string
}

func (c Context) String() string {
	s := c.User + ":" + c.Role + ":" + c.Type
	if c.Level != "" {
		s += ":" + c.Level
	}
	return s
}

// Record is one AVC decision.
type Record struct {
	Line    int       // line number in its input, from 1
	Time    time.Time // zero when the record has no audit(...) stamp
	Serial  uint64
	User    bool // USER_AVC (a userspace object manager), not the kernel
	Granted bool // "avc: granted": an auditallow log, not a denial
	Perms   []string
	Source  Context
	Target  Context
	Class   string
	// Permissive is 1 when the access was allowed because the domain or
	// the system was permissive, 0 when it was refused, -1 when the
	// record does not say (older kernels).
	Permissive int8
	Ioctl      []uint16 // ioctlcmd= values
	Comm       string   // only with Parser.Details
	Path       string   // only with Parser.Details
	Text       string   // only with Parser.KeepText
}

// LineError is a problem with one input line. Warn is set for problems
// that do not stop the record from being used (an unknown class or
// permission: newer kernels have classes older policies lack).
type LineError struct {
	File string
	Line int
	Msg  string
	Warn bool
}

func (e *LineError) Error() string {
	kind := "error"
	if e.Warn {
		kind = "warning"
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, kind, e.Msg)
}

// Parser reads records from a stream.
type Parser struct {
	File     string // name for messages
	KeepText bool   // keep each record's line in Record.Text
	Details  bool   // keep Record.Comm and Path (costs time per record)
	// FirstLine is the line number of the input's first line minus one,
	// for inputs that are a slice of a larger file.
	FirstLine int
	strs      map[string]string
}

// Parse calls fn for every AVC record in r, in order, and returns the
// problems found with line numbers. Lines that are not AVC records
// (SYSCALL, PATH, plain dmesg, ausearch separators) are skipped quietly. A
// read error or an error from fn stops parsing and is returned as err.
func (p *Parser) Parse(r io.Reader, fn func(*Record) error) (problems []*LineError, err error) {
	if p.strs == nil {
		p.strs = make(map[string]string, 4096)
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var rec Record
	for n := p.FirstLine + 1; ; n++ {
		line, rerr := readLine(br)
		if len(line) > 0 {
			ok, msg, warns := p.parseLine(line, &rec)
			for _, w := range warns {
				problems = append(problems, &LineError{File: p.File, Line: n, Msg: w, Warn: true})
			}
			if msg != "" {
				if rerr == io.EOF && line[len(line)-1] != '\n' {
					msg += " (the log ends in the middle of this line: truncated?)"
				}
				problems = append(problems, &LineError{File: p.File, Line: n, Msg: msg})
			} else if ok {
				rec.Line = n
				if p.KeepText {
					rec.Text = strings.TrimRight(string(line), "\r\n")
				}
				if err := fn(&rec); err != nil {
					return problems, err
				}
			}
		}
		if rerr == io.EOF {
			return problems, nil
		}
		if rerr != nil {
			return problems, fmt.Errorf("%s:%d: %w", p.File, n, rerr)
		}
	}
}

// maxLine bounds one record; audit lines are a few KB at most, so longer
// lines are cut and reported rather than buffered without limit.
const maxLine = 1 << 20

func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	buf := append([]byte(nil), line...)
	for err == bufio.ErrBufferFull {
		line, err = br.ReadSlice('\n')
		if len(buf) < maxLine {
			buf = append(buf, line...)
		}
	}
	return buf, err
}

func (p *Parser) intern(b []byte) string {
	if s, ok := p.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	p.strs[s] = s
	return s
}

var (
	avcTag     = []byte("avc:")
	typeTag    = []byte("type=")
	auditTag   = []byte("audit(")
	deniedTag  = []byte("denied")
	grantedTag = []byte("granted")
)

// parseLine fills rec when line is an AVC record (ok). msg reports a
// malformed record; warns are non-fatal remarks.
func (p *Parser) parseLine(line []byte, rec *Record) (ok bool, msg string, warns []string) {
	line = bytes.TrimRight(line, "\r\n")
	kind := recordType(line)
	switch kind {
	case "AVC", "1400", "USER_AVC", "1107", "":
	default:
		return false, "", nil
	}
	user := kind == "USER_AVC" || kind == "1107"
	i := bytes.Index(line, avcTag)
	if i < 0 {
		if kind == "AVC" || kind == "1400" {
			return false, "malformed AVC record: no \"avc:\" message", nil
		}
		return false, "", nil
	}
	// Only type=AVC lines must be AVC records; elsewhere "avc:" may be a
	// userspace notice ("avc: received policyload notice") or unrelated
	// text, which are skipped unless they say denied/granted.
	strict := kind == "AVC" || kind == "1400"
	*rec = Record{Permissive: -1, User: user, Perms: rec.Perms[:0], Ioctl: rec.Ioctl[:0]}
	if j := bytes.Index(line, auditTag); j >= 0 && j < i {
		t, serial, err := parseStamp(line[j+len(auditTag):])
		if err != "" {
			return false, err, nil
		}
		rec.Time, rec.Serial = t, serial
	}
	rest := bytes.TrimLeft(line[i+len(avcTag):], " ")
	switch {
	case bytes.HasPrefix(rest, deniedTag):
		rest = rest[len(deniedTag):]
	case bytes.HasPrefix(rest, grantedTag):
		rec.Granted = true
		rest = rest[len(grantedTag):]
	default:
		if !strict {
			return false, "", nil
		}
		return false, "malformed AVC record: expected \"denied\" or \"granted\" after \"avc:\"", nil
	}
	rest = bytes.TrimLeft(rest, " ")
	if len(rest) == 0 || rest[0] != '{' {
		return false, "malformed AVC record: no \"{ permissions }\" list", nil
	}
	end := bytes.IndexByte(rest, '}')
	if end < 0 {
		return false, "malformed AVC record: permission list is not closed with \"}\"", nil
	}
	for list := rest[1:end]; ; {
		list = trimSpace(list)
		if len(list) == 0 {
			break
		}
		n := indexSpace(list)
		if n < 0 {
			n = len(list)
		}
		f := list[:n]
		if !isIdent(f) {
			return false, fmt.Sprintf("invalid permission name %q", f), nil
		}
		rec.Perms = append(rec.Perms, p.intern(f))
		list = list[n:]
	}
	if len(rec.Perms) == 0 {
		return false, "malformed AVC record: empty permission list", nil
	}
	var scon, tcon []byte
	var haveClass bool
	fields := rest[end+1:]
	for len(fields) > 0 {
		var key, val []byte
		var stop bool
		key, val, fields, stop = nextField(fields)
		if stop {
			break
		}
		switch string(key) {
		case "scontext":
			scon, fields = catWords(val, fields)
		case "tcontext":
			tcon, fields = catWords(val, fields)
		case "tclass":
			if !isIdent(val) {
				return false, fmt.Sprintf("invalid class name %q", val), nil
			}
			rec.Class = p.intern(val)
			haveClass = true
		case "permissive":
			switch string(val) {
			case "0", "no": // ausearch -i prints no/yes
				rec.Permissive = 0
			case "1", "yes":
				rec.Permissive = 1
			default:
				return false, fmt.Sprintf("invalid permissive=%q (want 0 or 1)", val), nil
			}
		case "ioctlcmd":
			v, err := strconv.ParseUint(strings.TrimPrefix(string(val), "0x"), 16, 16)
			if err != nil {
				warns = append(warns, fmt.Sprintf("ioctlcmd=%q is not a 16-bit hex number (ausearch -i names them; use raw records for allowxperm rules)", val))
				break
			}
			rec.Ioctl = append(rec.Ioctl, uint16(v))
		case "comm":
			if p.Details {
				rec.Comm = p.intern(val)
			}
		case "path":
			if p.Details {
				rec.Path = string(val)
			}
		}
	}
	switch {
	case scon == nil:
		return false, "malformed AVC record: no scontext=", nil
	case tcon == nil:
		return false, "malformed AVC record: no tcontext=", nil
	case !haveClass:
		return false, "malformed AVC record: no tclass=", nil
	}
	var err string
	if rec.Source, err = p.context(scon); err != "" {
		return false, "scontext: " + err, nil
	}
	if rec.Target, err = p.context(tcon); err != "" {
		return false, "tcontext: " + err, nil
	}
	if !refpolicy.KnownClass(rec.Class) {
		warns = append(warns, fmt.Sprintf("unknown class %q (not in reference policy %s)", rec.Class, refpolicy.Version))
	} else {
		for _, perm := range rec.Perms {
			if !refpolicy.KnownPerm(rec.Class, perm) {
				warns = append(warns, fmt.Sprintf("unknown permission %q for class %q", perm, rec.Class))
			}
		}
	}
	return true, "", warns
}

// recordType returns the value of the type= field ("AVC", "1400", ...),
// "other" for other record types, or "" when the line has none.
func recordType(line []byte) string {
	off := 0
	for {
		i := bytes.Index(line[off:], typeTag)
		if i < 0 {
			return ""
		}
		i += off
		if i == 0 || line[i-1] == ' ' || line[i-1] == '\t' {
			v := line[i+len(typeTag):]
			if j := indexSpace(v); j >= 0 {
				v = v[:j]
			}
			switch string(v) {
			case "AVC":
				return "AVC"
			case "1400":
				return "1400"
			case "USER_AVC":
				return "USER_AVC"
			case "1107":
				return "1107"
			}
			return "other"
		}
		off = i + len(typeTag)
	}
}

// parseStamp reads "1732660801.101:4101)" or ausearch -i's
// "11/26/2024 23:40:01.101:4101)".
func parseStamp(b []byte) (time.Time, uint64, string) {
	end := bytes.IndexByte(b, ')')
	if end < 0 {
		return time.Time{}, 0, "malformed audit(...) stamp: no \")\""
	}
	b = b[:end]
	colon := bytes.LastIndexByte(b, ':')
	if colon < 0 {
		return time.Time{}, 0, fmt.Sprintf("malformed audit stamp %q: no serial number", b)
	}
	serial, ok := digits(b[colon+1:])
	if !ok {
		return time.Time{}, 0, fmt.Sprintf("malformed audit stamp %q: bad serial number", b)
	}
	ts := b[:colon]
	if bytes.IndexByte(ts, '/') >= 0 {
		// ausearch -i: local time, with a 2- or 4-digit year.
		t, err := time.ParseInLocation("01/02/2006 15:04:05.000", string(ts), time.Local)
		if err != nil {
			t, err = time.ParseInLocation("01/02/06 15:04:05.000", string(ts), time.Local)
		}
		if err != nil {
			return time.Time{}, 0, fmt.Sprintf("malformed audit stamp %q", b)
		}
		return t, serial, ""
	}
	sec, frac, _ := bytes.Cut(ts, []byte{'.'})
	if len(frac) > 3 {
		frac = frac[:3]
	}
	secs, ok1 := digits(sec)
	ms, ok2 := digits(frac)
	if !ok1 || !ok2 && len(frac) > 0 || secs > 1<<40 {
		return time.Time{}, 0, fmt.Sprintf("malformed audit stamp %q", b)
	}
	for i := len(frac); i < 3; i++ {
		ms *= 10
	}
	return time.Unix(int64(secs), int64(ms)*int64(time.Millisecond)), serial, ""
}

// digits parses a non-empty run of decimal digits without allocating.
func digits(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// nextField splits off one key=value pair; values may be "quoted". stop is
// set at the closing quote of a USER_AVC msg='...'.
func nextField(b []byte) (key, val, rest []byte, stop bool) {
	b = trimSpace(b)
	if len(b) == 0 || b[0] == '\'' {
		return nil, nil, nil, true
	}
	eq := bytes.IndexByte(b, '=')
	sp := indexSpace(b)
	if eq < 0 || (sp >= 0 && sp < eq) {
		// A bare word ("for", ausearch's ":"): skip it.
		if sp < 0 {
			return nil, nil, nil, true
		}
		return nil, nil, b[sp:], false
	}
	key = b[:eq]
	b = b[eq+1:]
	if len(b) > 0 && b[0] == '"' {
		if end := bytes.IndexByte(b[1:], '"'); end >= 0 {
			return key, b[1 : end+1], b[end+2:], false
		}
		return key, b[1:], nil, false
	}
	end := indexSpaceQuote(b)
	if end < 0 {
		return key, b, nil, false
	}
	return key, b[:end], b[end:], false
}

// catWords undoes ausearch -i, which prints "s0:c1,c2" as "s0:c1 c2":
// bare category words after a context are joined back with commas.
func catWords(val, rest []byte) ([]byte, []byte) {
	var out []byte
	for {
		r := trimSpace(rest)
		end := indexSpaceQuote(r)
		if end < 0 {
			end = len(r)
		}
		w := r[:end]
		if !isCatWord(w) {
			if out == nil {
				return val, rest
			}
			return out, rest
		}
		if out == nil {
			out = append([]byte(nil), val...)
		}
		out = append(append(out, ','), w...)
		rest = r[end:]
	}
}

// isCatWord matches "c3" or "c0.c1023".
func isCatWord(w []byte) bool {
	if len(w) < 2 || w[0] != 'c' || w[1] < '0' || w[1] > '9' {
		return false
	}
	return len(bytes.Trim(w, "0123456789.c")) == 0
}

// context splits user:role:type[:level]; the level may hold colons.
func (p *Parser) context(b []byte) (Context, string) {
	var parts [3][]byte
	rest := b
	for i := range parts {
		j := bytes.IndexByte(rest, ':')
		if j < 0 {
			if i < 2 {
				return Context{}, fmt.Sprintf("invalid context %q: want user:role:type[:level]", b)
			}
			parts[i], rest = rest, nil
			break
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	for i, what := range [...]string{"user", "role", "type"} {
		if !isIdent(parts[i]) {
			return Context{}, fmt.Sprintf("invalid %s name %q in %q", what, parts[i], b)
		}
	}
	c := Context{User: p.intern(parts[0]), Role: p.intern(parts[1]), Type: p.intern(parts[2])}
	if rest != nil {
		if len(rest) == 0 || rest[0] != 's' {
			return Context{}, fmt.Sprintf("invalid level %q in %q", rest, b)
		}
		// Levels carry per-container categories, so most are unique:
		// interning them would only grow the table.
		c.Level = string(rest)
	}
	return c, ""
}

// indexSpace is bytes.IndexAny(b, " \t") without building a set per call.
func indexSpace(b []byte) int {
	for i, c := range b {
		if c == ' ' || c == '\t' {
			return i
		}
	}
	return -1
}

// indexSpaceQuote also stops at the ' closing a USER_AVC msg.
func indexSpaceQuote(b []byte) int {
	for i, c := range b {
		if c == ' ' || c == '\t' || c == '\'' {
			return i
		}
	}
	return -1
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// isIdent matches policy identifiers as checkpolicy's lexer does: a letter,
// then letters, digits, '_', '-' or '.'.
func isIdent(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	c := b[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for _, c := range b[1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return b[len(b)-1] != '.'
}
