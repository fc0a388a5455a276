// Package records reads the records to send from NDJSON files and JSON-array
// files, streaming, one record at a time, and generates mock alert data.
//
// A malformed record never stops the reading: [Reader.Next] returns it as a
// [*SyntaxError] (with its position and raw bytes, so it can be rejected to a
// dead-letter file) and the next call goes on with the next record.
package records

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Format names an input format.
type Format string

// Input formats accepted by [NewReader] and [Open].
const (
	// FormatAuto picks FormatJSON when the first non-space byte is '[',
	// otherwise FormatNDJSON. It is the default.
	FormatAuto Format = "auto"
	// FormatJSON is one JSON array whose elements are the records.
	FormatJSON Format = "json"
	// FormatNDJSON is one JSON value per line (JSON Lines); blank lines are skipped.
	FormatNDJSON Format = "ndjson"
)

// ParseFormat turns a flag value into a Format: "auto" (or ""), "json" or
// "ndjson" (also "jsonl"). Anything else wraps [ErrUnknownFormat].
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", string(FormatAuto):
		return FormatAuto, nil
	case string(FormatJSON):
		return FormatJSON, nil
	case string(FormatNDJSON), "jsonl":
		return FormatNDJSON, nil
	}
	return "", fmt.Errorf("%w %q (want auto, json or ndjson)", ErrUnknownFormat, s)
}

// MaxElementBytes bounds the bytes buffered for one JSON array element. It is
// far above the Firehose record limit (1,024,000 bytes; the producer rejects
// such records itself) and only exists so that an unterminated string or
// unbalanced brackets cannot make the reader buffer a whole file.
const MaxElementBytes = 64 << 20

// readBufferSize is the bufio buffer size; longer lines and elements are
// assembled in a growing scratch buffer.
const readBufferSize = 64 << 10

// Record is one record read from the input.
type Record struct {
	// Seq is the 1-based position of the record in the input. Malformed
	// records consume a Seq too, so Seq always names the input position.
	Seq int64
	// Source names where the record comes from: "FILE:LINE" for NDJSON,
	// "FILE[INDEX] line LINE" (0-based index, line where the element starts)
	// for a JSON array. FILE is "stdin" for standard input.
	Source string
	// Data holds the record's bytes: the NDJSON line without its line ending,
	// or the JSON array element compacted to one line. Each record owns its
	// slice; the reader never reuses it.
	Data []byte
}

// Reader reads records from one input, streaming: memory is bounded by one
// record plus a fixed read buffer. A Reader is not safe for concurrent use.
type Reader struct {
	br     *bufio.Reader
	name   string
	format Format

	started   bool
	arrayDone bool  // the closing ']' has been read
	seq       int64 // records returned so far, including malformed ones
	line      int   // newlines consumed so far
	err       error // sticky fatal error or io.EOF

	scratch []byte // assembles lines and elements longer than the buffer
}

// NewReader returns a Reader of r. name is used in Source and error messages
// ("-" is shown as "stdin"; "" as "input"). format is FormatAuto, FormatJSON or
// FormatNDJSON; "" means FormatAuto. An unknown format makes the first Next
// call fail with [ErrUnknownFormat].
func NewReader(r io.Reader, name string, format Format) *Reader {
	switch name {
	case "-":
		name = "stdin"
	case "":
		name = "input"
	}
	rd := &Reader{br: bufio.NewReaderSize(r, readBufferSize), name: name}
	f, err := ParseFormat(string(format))
	if err != nil {
		rd.err = err
	}
	rd.format = f
	return rd
}

// Open opens path for reading ("-" means standard input) and returns a Reader
// and the Closer to call when done (closing stdin is a no-op). A missing or
// unreadable file is an error naming the file.
func Open(path string, format Format) (*Reader, io.Closer, error) {
	if _, err := ParseFormat(string(format)); err != nil {
		return nil, nil, err
	}
	if path == "-" {
		return NewReader(os.Stdin, path, format), io.NopCloser(nil), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open input file %q: %w", path, err)
	}
	return NewReader(f, path, format), f, nil
}

// Name returns the input name used in Source and error messages.
func (r *Reader) Name() string { return r.name }

// Format returns the input format; after the first Next call, FormatAuto has
// been resolved to FormatJSON or FormatNDJSON.
func (r *Reader) Format() Format { return r.format }

// Next returns the next record, or io.EOF after the last one.
//
// A malformed record is returned as a *SyntaxError: it is not fatal, call Next
// again for the following record. Any other error is fatal (an I/O error
// wrapped with the file name, or a broken JSON array structure) and is
// returned again by every later call.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	if !r.started {
		if err := r.start(); err != nil {
			r.err = err
			return Record{}, err
		}
	}
	if r.format == FormatJSON {
		return r.nextElement()
	}
	return r.nextLine()
}

// start skips a UTF-8 byte order mark and leading white space, and resolves
// FormatAuto from the first non-space byte.
func (r *Reader) start() error {
	r.started = true
	if bom, _ := r.br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = r.br.Discard(3)
	}
	c, err := r.skipSpace()
	if errors.Is(err, io.EOF) {
		if r.format == FormatAuto {
			r.format = FormatNDJSON
		}
		return io.EOF // empty or white space only: zero records
	}
	if err != nil {
		return r.readError(err)
	}
	switch {
	case r.format == FormatAuto && c == '[':
		r.format = FormatJSON
	case r.format == FormatAuto:
		r.format = FormatNDJSON
	case r.format == FormatJSON && c != '[':
		return fmt.Errorf("%s line %d: %w (first character %q)", r.name, r.line+1, ErrNotArray, c)
	}
	if r.format == FormatJSON {
		_, _ = r.br.Discard(1) // the '['
	}
	return nil
}

// skipSpace consumes JSON white space, counting newlines, and returns the next
// byte without consuming it.
func (r *Reader) skipSpace() (byte, error) {
	for {
		if _, err := r.br.Peek(1); err != nil {
			return 0, err
		}
		buf, _ := r.br.Peek(r.br.Buffered())
		for i, c := range buf {
			switch c {
			case '\n':
				r.line++
			case ' ', '\t', '\r':
			default:
				_, _ = r.br.Discard(i)
				return c, nil
			}
		}
		_, _ = r.br.Discard(len(buf))
	}
}

func (r *Reader) readError(err error) error {
	return fmt.Errorf("read %s: %w", r.name, err)
}

// nextLine reads NDJSON: one record per non-blank line.
func (r *Reader) nextLine() (Record, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = r.readError(err)
			}
			r.err = err
			return Record{}, err
		}
		r.line++
		if isBlank(line) {
			continue
		}
		r.seq++
		source := r.lineSource(r.line)
		if !json.Valid(line) {
			return Record{}, r.syntaxError(source, r.line, bytes.Clone(line), nil)
		}
		return Record{Seq: r.seq, Source: source, Data: bytes.Clone(line)}, nil
	}
}

// readLine returns the next line without "\n" or "\r\n". The slice is only
// valid until the next read. It returns io.EOF only when no bytes are left.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.scratch = append(r.scratch[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.br.ReadSlice('\n')
			r.scratch = append(r.scratch, line...)
		}
		line = r.scratch
	}
	if err != nil && (!errors.Is(err, io.EOF) || len(line) == 0) {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, nil
}

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// nextElement reads the next element of a JSON array.
func (r *Reader) nextElement() (Record, error) {
	c, err := r.skipSpace()
	if r.arrayDone {
		switch {
		case errors.Is(err, io.EOF):
			r.err = io.EOF
		case err != nil:
			r.err = r.readError(err)
		default:
			r.err = fmt.Errorf("%s line %d: %w (%q)", r.name, r.line+1, ErrTrailingData, c)
		}
		return Record{}, r.err
	}
	if err != nil {
		return Record{}, r.failAt(r.line+1, err)
	}
	if c == ']' {
		// Empty array, or a trailing comma before ']': tolerated, no record.
		_, _ = r.br.Discard(1)
		r.arrayDone = true
		return r.nextElement()
	}

	startLine := r.line + 1
	raw, spaced, err := r.scanElement()
	if err != nil && !errors.Is(err, io.EOF) {
		return Record{}, r.failAt(startLine, err)
	}
	r.seq++
	source := r.elementSource(r.seq-1, startLine)
	if err != nil { // EOF inside the element: reject what we have, then fail.
		r.err = fmt.Errorf("%s line %d: %w", r.name, r.line+1, ErrUnterminatedArray)
		return Record{}, &SyntaxError{Source: source, Seq: r.seq, Line: startLine, Raw: bytes.Clone(raw), Err: ErrUnterminatedArray}
	}
	if len(raw) == 0 {
		return Record{}, r.syntaxError(source, startLine, nil, errors.New("empty array element"))
	}
	if !json.Valid(raw) {
		return Record{}, r.syntaxError(source, startLine, bytes.Clone(raw), nil)
	}
	var data []byte
	if spaced {
		data = make([]byte, 0, len(raw))
		buf := bytes.NewBuffer(data)
		if err := json.Compact(buf, raw); err != nil { // cannot happen: raw is valid
			return Record{}, r.syntaxError(source, startLine, bytes.Clone(raw), err)
		}
		data = buf.Bytes()
	} else {
		data = bytes.Clone(raw)
	}
	return Record{Seq: r.seq, Source: source, Data: data}, nil
}

// failAt records a fatal error while reading the array structure.
func (r *Reader) failAt(line int, err error) error {
	switch {
	case errors.Is(err, io.EOF):
		r.err = fmt.Errorf("%s line %d: %w", r.name, line, ErrUnterminatedArray)
	case errors.Is(err, ErrElementTooLarge):
		r.err = fmt.Errorf("%s line %d: %w (over %d bytes; is a string or bracket left open?)", r.name, line, err, MaxElementBytes)
	default:
		r.err = r.readError(err)
	}
	return r.err
}

// scanElement consumes one array element and the ',' or ']' that ends it. It
// finds the end structurally (strings, escapes and bracket depth) without
// validating, so that a malformed element can be rejected and reading can go
// on with the next one, which encoding/json's Decoder cannot do after a syntax
// error. raw is only valid until the next read; spaced reports white space
// outside strings (the element needs compacting). At EOF before the end it
// returns what it has and io.EOF.
func (r *Reader) scanElement() (raw []byte, spaced bool, err error) {
	r.scratch = r.scratch[:0]
	depth, inString, escaped := 0, false, false
	for {
		if _, err := r.br.Peek(1); err != nil {
			return bytes.TrimSpace(r.scratch), spaced, err
		}
		buf, _ := r.br.Peek(r.br.Buffered())
		for i := 0; i < len(buf); i++ {
			c := buf[i]
			if inString {
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
				case c == '\n': // invalid inside a string, but keep lines right
					r.line++
				}
				continue
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
				if c == ']' && depth > 0 {
					depth--
					continue
				}
				if depth > 0 {
					continue
				}
				r.scratch = append(r.scratch, buf[:i]...)
				_, _ = r.br.Discard(i + 1)
				r.arrayDone = c == ']'
				return bytes.TrimRight(r.scratch, " \t\r\n"), spaced, nil
			case '\n':
				r.line++
				spaced = true
			case ' ', '\t', '\r':
				spaced = true
			}
		}
		r.scratch = append(r.scratch, buf...)
		_, _ = r.br.Discard(len(buf))
		if len(r.scratch) > MaxElementBytes {
			return nil, false, ErrElementTooLarge
		}
	}
}

func (r *Reader) syntaxError(source string, line int, raw []byte, detail error) *SyntaxError {
	if detail == nil && raw != nil {
		// Only on the error path: ask encoding/json what is wrong and where.
		detail = json.Unmarshal(raw, new(json.RawMessage))
	}
	return &SyntaxError{Source: source, Seq: r.seq, Line: line, Raw: raw, Err: invalidJSON(detail)}
}

func (r *Reader) lineSource(line int) string {
	var buf [128]byte
	b := append(buf[:0], r.name...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(line), 10)
	return string(b)
}

func (r *Reader) elementSource(index int64, line int) string {
	var buf [128]byte
	b := append(buf[:0], r.name...)
	b = append(b, '[')
	b = strconv.AppendInt(b, index, 10)
	b = append(b, "] line "...)
	b = strconv.AppendInt(b, int64(line), 10)
	return string(b)
}
