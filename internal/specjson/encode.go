package specjson

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// encoder writes what json.Marshal writes, byte for byte: fields in
// declaration order, map keys sorted, HTML-safe string escapes.
type encoder struct {
	b   []byte
	err error
}

// encode runs fn on a fresh encoder and returns what it wrote.
func encode(fn func(*encoder)) ([]byte, error) {
	e := &encoder{b: make([]byte, 0, 4096)}
	fn(e)
	return e.b, e.err
}

// key writes a field's name, after a comma unless it is the first.
func (e *encoder) key(first *bool, name string) {
	if !*first {
		e.b = append(e.b, ',')
	}
	*first = false
	e.b = append(e.b, name...)
}

func (e *encoder) null() { e.b = append(e.b, "null"...) }

func encString[T ~string](e *encoder, v *T) { e.b = appendString(e.b, string(*v)) }

func encBool[T ~bool](e *encoder, v *T) { e.b = strconv.AppendBool(e.b, bool(*v)) }

func encInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](e *encoder, v *T) {
	e.b = strconv.AppendInt(e.b, int64(*v), 10)
}

func encUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64](e *encoder, v *T) {
	e.b = strconv.AppendUint(e.b, uint64(*v), 10)
}

func encBytes(e *encoder, v *[]byte) {
	if *v == nil {
		e.null()
		return
	}
	e.b = append(e.b, '"')
	e.b = base64.StdEncoding.AppendEncode(e.b, *v)
	e.b = append(e.b, '"')
}

func encSlice[E any](e *encoder, v *[]E, elem func(*encoder, *E)) {
	if *v == nil {
		e.null()
		return
	}
	e.b = append(e.b, '[')
	for i := range *v {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		elem(e, &(*v)[i])
	}
	e.b = append(e.b, ']')
}

func encMap[K ~string, E any](e *encoder, v *map[K]E, elem func(*encoder, *E)) {
	if *v == nil {
		e.null()
		return
	}
	keys := make([]K, 0, len(*v))
	for k := range *v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.b = append(e.b, '{')
	for i, k := range keys {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = appendString(e.b, string(k))
		e.b = append(e.b, ':')
		x := (*v)[k]
		elem(e, &x)
	}
	e.b = append(e.b, '}')
}

func encPtr[E any](e *encoder, v **E, elem func(*encoder, *E)) {
	if *v == nil {
		e.null()
		return
	}
	elem(e, *v)
}

// encTime writes a time.Time through its MarshalJSON, as encoding/json
// does (its output is already compact and has nothing to escape).
func encTime(e *encoder, v *time.Time) {
	b, err := v.MarshalJSON()
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	e.b = append(e.b, b...)
}

// encAny hands a value of no fixed type to encoding/json.
func encAny(e *encoder, v *any) {
	b, err := json.Marshal(*v)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.b = append(e.b, b...)
}

const hex = "0123456789abcdef"

// appendString quotes s as json.Marshal does, escaping <, > and & too.
// Adapted from encoding/json (BSD licence, the Go authors).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
