package specjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// decoder walks a document that json.Valid has already accepted, so it
// only has to tell values apart, never to reject bad syntax. Like
// encoding/json, it keeps going after a value of the wrong type and
// reports the first such mismatch at the end.
type decoder struct {
	data []byte
	i    int
	err  error
	key  []byte // the current object key, unquoted
}

// decode runs fn over data with encoding/json's Unmarshal contract:
// invalid syntax changes nothing; a type mismatch is an error.
func decode(data []byte, fn func(*decoder)) error {
	if !json.Valid(data) {
		// encoding/json's own error says where.
		var v struct{}
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		return errors.New("json: invalid document")
	}
	d := &decoder{data: data}
	fn(d)
	return d.err
}

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	d.ws()
	return d.data[d.i]
}

// null consumes a null if one comes next.
func (d *decoder) null() bool {
	if d.peek() == 'n' {
		d.i += len("null")
		return true
	}
	return false
}

// mismatch records that the next value cannot go where ctx says, and skips it.
func (d *decoder) mismatch(ctx string) {
	if d.err == nil {
		var what string
		switch c := d.peek(); c {
		case '{':
			what = "object"
		case '[':
			what = "array"
		case '"':
			what = "string"
		case 't', 'f':
			what = "bool"
		default:
			start := d.i
			what = "number " + string(d.literal())
			d.i = start
		}
		d.err = errors.New("json: cannot unmarshal " + what + " into Go " + ctx)
	}
	d.skip()
}

// object starts an object, or records a mismatch if the value is not one.
func (d *decoder) object(ctx string) bool {
	if d.peek() != '{' {
		d.mismatch(ctx)
		return false
	}
	d.i++
	return true
}

// firstKey reads the first key of an object just opened, if it has one.
func (d *decoder) firstKey() bool {
	if d.peek() == '}' {
		d.i++
		return false
	}
	d.readKey()
	return true
}

// nextKey reads the next key, or consumes the closing brace.
func (d *decoder) nextKey() bool {
	if d.peek() == '}' {
		d.i++
		return false
	}
	d.i++ // ','
	d.readKey()
	return true
}

func (d *decoder) readKey() {
	d.ws()
	raw := d.rawString()
	d.key = unquote(raw, nil)
	d.ws()
	d.i++ // ':'
}

// firstElem reports whether an array just opened has an element.
func (d *decoder) firstElem() bool {
	if d.peek() == ']' {
		d.i++
		return false
	}
	return true
}

// nextElem reports whether another element follows.
func (d *decoder) nextElem() bool {
	if d.peek() == ']' {
		d.i++
		return false
	}
	d.i++ // ','
	return true
}

// rawString returns the next string token, quotes included.
func (d *decoder) rawString() []byte {
	start := d.i
	d.i++
	for {
		switch d.data[d.i] {
		case '\\':
			d.i += 2
		case '"':
			d.i++
			return d.data[start:d.i]
		default:
			d.i++
		}
	}
}

// literal returns the next number, true, false or null token.
func (d *decoder) literal() []byte {
	d.ws()
	start := d.i
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return d.data[start:d.i]
		}
		d.i++
	}
	return d.data[start:d.i]
}

// skip passes over the next value, whatever it is.
func (d *decoder) skip() {
	switch d.peek() {
	case '"':
		d.rawString()
	case '{', '[':
		depth := 0
		for {
			switch d.data[d.i] {
			case '"':
				d.rawString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			d.i++
			if depth == 0 {
				return
			}
		}
	default:
		d.literal()
	}
}

// Decoders for the kinds of value the OCI types hold. The generated code
// calls them with the field's place in the Go types (ctx) for errors.

func decString[T ~string](d *decoder, v *T, ctx string) {
	switch d.peek() {
	case '"':
		*v = T(unquote(d.rawString(), nil))
	case 'n':
		d.null() // encoding/json leaves a string alone on null
	default:
		d.mismatch(ctx)
	}
}

func decBool[T ~bool](d *decoder, v *T, ctx string) {
	switch d.peek() {
	case 't':
		d.i += len("true")
		*v = true
	case 'f':
		d.i += len("false")
		*v = false
	case 'n':
		d.null()
	default:
		d.mismatch(ctx)
	}
}

func decInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](d *decoder, v *T, ctx string) {
	switch c := d.peek(); {
	case c == 'n':
		d.null()
	case c == '-' || '0' <= c && c <= '9':
		lit := d.literal()
		n, err := strconv.ParseInt(string(lit), 10, 64)
		if err != nil || int64(T(n)) != n {
			d.numberErr(lit, ctx)
			return
		}
		*v = T(n)
	default:
		d.mismatch(ctx)
	}
}

func decUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64](d *decoder, v *T, ctx string) {
	switch c := d.peek(); {
	case c == 'n':
		d.null()
	case c == '-' || '0' <= c && c <= '9':
		lit := d.literal()
		n, err := strconv.ParseUint(string(lit), 10, 64)
		if err != nil || uint64(T(n)) != n {
			d.numberErr(lit, ctx)
			return
		}
		*v = T(n)
	default:
		d.mismatch(ctx)
	}
}

func (d *decoder) numberErr(lit []byte, ctx string) {
	if d.err == nil {
		d.err = errors.New("json: cannot unmarshal number " + string(lit) + " into Go " + ctx)
	}
}

// decBytes reads base64, as encoding/json does for []byte (or, as it
// also does, an array of numbers).
func decBytes(d *decoder, v *[]byte, ctx string) {
	switch d.peek() {
	case '[':
		decSlice(d, v, ctx, func(d *decoder, b *byte) { decUint(d, b, "value of type uint8") })
	case '"':
		s := unquote(d.rawString(), nil)
		b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(b, s)
		if err != nil {
			if d.err == nil {
				d.err = err
			}
			return
		}
		*v = b[:n]
	case 'n':
		d.null()
		*v = nil
	default:
		d.mismatch(ctx)
	}
}

// decSlice decodes an array into *v with encoding/json's rules: elements
// are decoded into the slice's existing ones where there are any (a key
// given twice merges), null makes it nil and [] makes it empty, not nil.
func decSlice[E any](d *decoder, v *[]E, ctx string, elem func(*decoder, *E)) {
	switch d.peek() {
	case 'n':
		d.null()
		*v = nil
		return
	case '[':
		d.i++
	default:
		d.mismatch(ctx)
		return
	}
	s := *v
	i := 0
	for more := d.firstElem(); more; more = d.nextElem() {
		if i >= cap(s) {
			s = slices.Grow(s, 1)
		}
		if i >= len(s) {
			s = s[:i+1]
		}
		elem(d, &s[i])
		i++
	}
	if i < len(s) {
		s = s[:i]
	}
	if i == 0 {
		s = make([]E, 0)
	}
	*v = s
}

// decMap decodes an object into a map, each value decoded afresh.
func decMap[K ~string, E any](d *decoder, v *map[K]E, ctx string, elem func(*decoder, *E)) {
	switch d.peek() {
	case 'n':
		d.null()
		*v = nil
		return
	case '{':
		d.i++
	default:
		d.mismatch(ctx)
		return
	}
	if *v == nil {
		*v = map[K]E{}
	}
	for more := d.firstKey(); more; more = d.nextKey() {
		k := K(d.key)
		var e E
		elem(d, &e)
		(*v)[k] = e
	}
}

// decPtr decodes into what *v points at, allocating it if needed; null
// makes it nil.
func decPtr[E any](d *decoder, v **E, elem func(*decoder, *E)) {
	if d.null() {
		*v = nil
		return
	}
	if *v == nil {
		*v = new(E)
	}
	elem(d, *v)
}

// field returns the index of the current key in names: an exact match,
// else the first case-insensitive one, as encoding/json picks; -1 if none.
func (d *decoder) field(names []string) int {
	for i, n := range names {
		if string(d.key) == n {
			return i
		}
	}
	for i, n := range names {
		if bytes.EqualFold(d.key, []byte(n)) {
			return i
		}
	}
	return -1
}

// decTime reads a time.Time the way encoding/json does: through its
// UnmarshalJSON, given the value as it stands (null included).
func decTime(d *decoder, v *time.Time) {
	d.ws()
	start := d.i
	d.skip()
	if err := v.UnmarshalJSON(d.data[start:d.i]); err != nil && d.err == nil {
		d.err = err
	}
}

// decAny hands a value of no fixed type (Windows' credentialSpec) to
// encoding/json: no Linux config has one.
func decAny(d *decoder, v *any) {
	d.ws()
	start := d.i
	d.skip()
	var x any
	if err := json.Unmarshal(d.data[start:d.i], &x); err != nil && d.err == nil {
		d.err = err
	}
	*v = x
}

// unquote decodes a JSON string token (quotes included) as encoding/json
// does: escapes resolved, bad UTF-8 and lone surrogates turned into
// U+FFFD. Without escapes or bad bytes it returns the token's own bytes.
// Adapted from encoding/json's unquoteBytes (BSD licence, the Go authors).
func unquote(s, buf []byte) []byte {
	s = s[1 : len(s)-1]
	r := 0
	for r < len(s) {
		c := s[r]
		if c == '\\' || c < ' ' {
			break
		}
		if c < utf8.RuneSelf {
			r++
			continue
		}
		rr, size := utf8.DecodeRune(s[r:])
		if rr == utf8.RuneError && size == 1 {
			break
		}
		r += size
	}
	if r == len(s) {
		return s
	}
	b := append(buf, s[:r]...)
	for r < len(s) {
		switch c := s[r]; {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := getu4(s[r-1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
						r += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
