package records

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// maxNestingDepth is encoding/json's limit on nested arrays and objects,
// kept so that both agree on what is valid.
const maxNestingDepth = 10000

// validator checks that a record is exactly one JSON value in valid UTF-8:
// what json.Valid(b) && utf8.Valid(b) say, in one pass and without
// encoding/json's per-byte state-function calls (json.Valid was 17% of the
// CLI's CPU). The fuzz test holds the two to the same answers.
type validator struct {
	stack []byte // the closing bracket of each open array or object
}

// valid reports whether b is one valid JSON value in valid UTF-8.
func (v *validator) valid(b []byte) bool {
	v.stack = v.stack[:0]
	i := skipWS(b, 0)
	for {
		// A value starts at i.
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			closing := byte('}')
			if c == '[' {
				closing = ']'
			}
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == closing {
				i++
				break
			}
			if len(v.stack) >= maxNestingDepth {
				return false
			}
			v.stack = append(v.stack, closing)
			if closing == '}' {
				if i = member(b, i); i < 0 {
					return false
				}
			}
			continue
		case c == '"':
			if i = scanString(b, i); i < 0 {
				return false
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if i = scanNumber(b, i); i < 0 {
				return false
			}
		case c == 't':
			if i = literal(b, i, "true"); i < 0 {
				return false
			}
		case c == 'f':
			if i = literal(b, i, "false"); i < 0 {
				return false
			}
		case c == 'n':
			if i = literal(b, i, "null"); i < 0 {
				return false
			}
		default:
			return false
		}
		// After a value: close containers, or go on to the next element.
		for {
			i = skipWS(b, i)
			if len(v.stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := v.stack[len(v.stack)-1]
			if b[i] == top {
				v.stack = v.stack[:len(v.stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return false
			}
			i = skipWS(b, i+1)
			if top == '}' {
				if i = member(b, i); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// member scans `"key" :` and the white space after it; -1 if invalid.
func member(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = scanString(b, i); i < 0 {
		return -1
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipWS(b, i+1)
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString scans the string starting at b[i] == '"' and returns the index
// after its closing quote, or -1 if it is invalid (control characters,
// bad escapes, invalid UTF-8, no end).
func scanString(b []byte, i int) int {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return -1
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return -1
					}
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return -1
			}
			i += size
		}
	}
	return -1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? from b[i]
// and returns the index after it, or -1.
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}

// validJSON reports whether b is one valid JSON value in valid UTF-8, and if
// not, why (wrapping ErrInvalidJSON).
func (r *Reader) validJSON(b []byte) (bool, error) {
	if r.validator.valid(b) {
		return true, nil
	}
	return false, invalidJSONDetail(b)
}

// invalidJSONDetail says what is wrong with b, on the error path only.
func invalidJSONDetail(b []byte) error {
	if err := json.Unmarshal(b, new(json.RawMessage)); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrInvalidJSON, i)
	}
	return ErrInvalidJSON
}
