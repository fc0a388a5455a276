package records

import (
	"errors"
	"fmt"
	"io"
)

// startArray consumes the white space and the '[' that open a JSON array.
func (r *Reader) startArray() error {
	c, err := r.skipSpace()
	if errors.Is(err, io.EOF) {
		r.arrayDone = true // empty or white space only: zero records
		return nil
	}
	if err != nil {
		return err
	}
	if c != '[' {
		return fmt.Errorf("%s line %d: %w (first character %q)", r.name, r.line+1, ErrNotArray, c)
	}
	r.r++
	return nil
}

// nextElement returns the next element of a JSON array.
func (r *Reader) nextElement() (Record, error) {
	if r.arrayDone {
		c, err := r.skipSpace()
		switch {
		case errors.Is(err, io.EOF):
			return Record{}, io.EOF
		case err != nil:
			return Record{}, err
		}
		return Record{}, fmt.Errorf("%s line %d: %w (%q)", r.name, r.line+1, ErrTrailingData, c)
	}
	c, err := r.skipSpace()
	if err != nil {
		return Record{}, r.arrayError(err)
	}
	if r.needSep {
		switch c {
		case ',':
			r.needSep = false
			r.r++
			if c, err = r.skipSpace(); err != nil {
				return Record{}, r.arrayError(err)
			}
		case ']':
			r.r++
			r.arrayDone = true
			return r.nextElement()
		default:
			return Record{}, fmt.Errorf("%s line %d: %w: want ',' or ']' after element %d, found %q",
				r.name, r.line+1, ErrNotArray, r.seq-1, c)
		}
	}
	switch c {
	case ']': // empty array, or a trailing comma before ']': tolerated
		r.r++
		r.arrayDone = true
		return r.nextElement()
	case ',': // an empty element: rejected
		r.seq++
		start := r.Offset()
		r.r++
		pos := Position{Seq: r.seq, Line: r.line + 1, Start: start, End: start, endLine: r.line + 1}
		return r.recordError(pos, nil, 0, fmt.Errorf("%w: empty array element", ErrInvalidJSON))
	}

	r.seq++
	pos := Position{Seq: r.seq, Line: r.line + 1, Start: r.Offset()}
	data, tooLarge, eof, err := r.scanElement(&pos)
	if err != nil {
		return Record{}, r.readError(err)
	}
	size := pos.End - pos.Start
	if eof {
		r.err = fmt.Errorf("%s line %d: %w", r.name, r.line+1, ErrUnterminatedArray)
		if tooLarge {
			data = nil
		}
		return r.recordError(pos, data, size, ErrUnterminatedArray)
	}
	if tooLarge || len(data) > r.limit {
		return r.recordError(pos, nil, size, r.tooLarge(size, false))
	}
	if ok, detail := r.validJSON(data); !ok {
		return r.recordError(pos, data, size, detail)
	}
	return Record{Position: pos, Data: data}, nil
}

// arrayError turns the end of input inside an array into ErrUnterminatedArray.
func (r *Reader) arrayError(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s line %d: %w", r.name, r.line+1, ErrUnterminatedArray)
	}
	return err
}

// scanElement consumes one array element and the ',' or ']' that ends it,
// and sets pos.End and pos.endLine. It finds the end structurally (strings,
// escapes, bracket depth) without validating, so that a malformed element
// can be rejected and reading go on, which encoding/json's Decoder cannot do
// after a syntax error. It compacts as it scans: white space outside strings
// is dropped where it touches a structural character ({}[],:) and kept as
// one space elsewhere, so a valid element compacts exactly as json.Compact
// does and an invalid one (`1 2`) stays invalid.
//
// data is a view into the buffer, or into r.scratch when white space was
// dropped; it is valid until the next read. Past the record limit the bytes
// are dropped as they are scanned and tooLarge is set. eof reports the end of
// the input inside the element.
func (r *Reader) scanElement(pos *Position) (data []byte, tooLarge, eof bool, err error) {
	var (
		i                 int  // scan position, relative to r.r
		depth             int  // open brackets inside the element
		inString, escaped bool // inside a string; after a backslash in one
		copying           bool // compacting into r.scratch (from buf[span:])
		span              int  // start of the bytes not yet copied, relative to r.r
		pending           bool // white space dropped since the last kept byte
		pendOff, pendLine int64
	)
	r.scratch = r.scratch[:0]
	for {
		buf := r.buf[r.r:r.w]
		for ; i < len(buf); i++ {
			c := buf[i]
			if inString {
				if escaped {
					escaped = false
				} else {
					// Most of a record is inside strings: skip to the next
					// byte that matters in a tight loop.
					for c != '"' && c != '\\' && c != '\n' && i+1 < len(buf) {
						i++
						c = buf[i]
					}
					switch c {
					case '"':
						inString = false
					case '\\':
						escaped = true
					}
				}
				if c == '\n' { // invalid inside a string, but keep lines right
					r.line++
				}
				continue
			}
			switch c {
			case ' ', '\t', '\r', '\n':
				if !pending {
					if !copying {
						r.scratch = append(r.scratch[:0], buf[:i]...)
						copying = true
					} else if !tooLarge {
						r.scratch = append(r.scratch, buf[span:i]...)
					}
					pending = true
					pendOff, pendLine = r.base+int64(r.r+i), r.line+1
				}
				if c == '\n' {
					r.line++
				}
				span = i + 1
				continue
			}
			trailing := pending // white space just before this byte
			if pending {
				pending = false
				if n := len(r.scratch); n > 0 && !tooLarge && keepsSpace(r.scratch[n-1], c) {
					r.scratch = append(r.scratch, ' ')
				}
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}':
				if depth > 0 {
					depth--
				}
			case ']', ',':
				if depth > 0 {
					if c == ']' {
						depth--
					}
					continue
				}
				if copying {
					if !tooLarge {
						r.scratch = append(r.scratch, buf[span:i]...)
					}
					data = r.scratch
				} else {
					data = buf[:i]
				}
				pos.End, pos.endLine = r.base+int64(r.r+i), r.line+1
				if trailing {
					pos.End, pos.endLine = pendOff, pendLine
				}
				r.r += i + 1
				r.arrayDone = c == ']'
				return data, tooLarge || len(data) > r.limit, false, nil
			}
		}

		// The buffer is scanned to its end: keep what is needed, read more.
		if copying {
			if !tooLarge {
				r.scratch = append(r.scratch, buf[span:]...)
				tooLarge = len(r.scratch) > r.limit
			}
			r.r += len(buf)
			i, span = 0, 0
		} else if i > r.limit {
			copying, tooLarge = true, true
			r.r += len(buf)
			i, span = 0, 0
		}
		if r.eof {
			if !copying {
				data = buf[:i]
				r.r += i
			} else {
				data = r.scratch
			}
			pos.End, pos.endLine = r.Offset(), r.line+1
			if pending {
				pos.End, pos.endLine = pendOff, pendLine
			}
			return data, tooLarge, true, nil
		}
		if r.rerr != nil {
			return nil, false, false, r.rerr
		}
		r.fill()
	}
}

// keepsSpace reports whether white space between the kept byte prev and the
// next byte next must stay (as one space) for the element to keep its
// meaning: only where neither touches a structural character.
func keepsSpace(prev, next byte) bool {
	switch prev {
	case '{', '[', ',', ':':
		return false
	}
	switch next {
	case '}', ']', ',', ':':
		return false
	}
	return true
}
