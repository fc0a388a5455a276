package records

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// DefaultMaxRecordBytes is the default record limit: 1,024,000 bytes, the
// largest record Amazon Data Firehose accepts (before base64).
const DefaultMaxRecordBytes = 1_024_000

// minBufferSize is the read buffer's initial size. It grows, for long
// records only, up to the record limit plus a little.
const minBufferSize = 64 << 10

// Format names an input format.
type Format string

// Input formats accepted by [InputFormat] and [ParseFormat].
const (
	// FormatAuto picks one of the others from the name and the first line;
	// see the package documentation for the rule. It is the default.
	FormatAuto Format = "auto"
	// FormatJSON is one JSON array whose elements are the records, read
	// element by element; each element is compacted to one line.
	FormatJSON Format = "json"
	// FormatNDJSON is one JSON value per line (JSON Lines); each line is
	// validated (JSON syntax and UTF-8) and sent as it is.
	FormatNDJSON Format = "ndjson"
	// FormatText is one record per line, sent as it is: no validation.
	FormatText Format = "text"
)

// ParseFormat turns a flag value into a Format: "auto" (or ""), "json",
// "ndjson" (also "jsonl") or "text". Anything else wraps [ErrUnknownFormat].
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", string(FormatAuto):
		return FormatAuto, nil
	case string(FormatJSON):
		return FormatJSON, nil
	case string(FormatNDJSON), "jsonl":
		return FormatNDJSON, nil
	case string(FormatText):
		return FormatText, nil
	}
	return "", fmt.Errorf("%w %q (want auto, json, ndjson or text)", ErrUnknownFormat, s)
}

// Position is where a record is in the input. Offsets count the bytes of the
// decompressed input from its start (a byte order mark included).
type Position struct {
	// Seq is the 1-based record number. Rejected records consume a Seq too,
	// so Seq always names the input position; for a JSON array, the element
	// index is Seq-1.
	Seq int64
	// Line is the 1-based line where the record starts.
	Line int64
	// Start is the offset of the record's first byte.
	Start int64
	// End is the offset just past the record: past its line ending for a
	// line, past its last byte for an array element. Reading resumes there
	// (see [Position.Resume]).
	End int64

	endLine int64 // the line number of the byte at End
}

// Resume returns the checkpoint at which reading goes on after this record:
// pass it to [ResumeFrom].
func (p Position) Resume() Checkpoint {
	line := p.endLine
	if line == 0 {
		line = p.Line
	}
	return Checkpoint{Offset: p.End, Seq: p.Seq, Line: line}
}

// Checkpoint is a place to resume reading at: usually [Position.Resume] of
// the last record that is done.
type Checkpoint struct {
	// Offset is the byte offset in the decompressed input where reading
	// resumes: a record's End.
	Offset int64
	// Seq is the number of records before Offset; the next record read is
	// Seq+1.
	Seq int64
	// Line is the 1-based line number of the byte at Offset.
	Line int64
}

// Record is one record read from the input.
type Record struct {
	// Position is where the record is in the input.
	Position
	// Data holds the record's bytes: the line without its line ending, or
	// the JSON array element compacted to one line. From [Reader.Next] it is
	// valid only until the next call on the Reader (the reader reuses its
	// buffer); from [Reader.NextBatch] it is the caller's to keep (read-only:
	// records of one call may share a buffer). For a
	// rejected record, Data holds the bytes as read, or nil when the record
	// was too large.
	Data []byte
	// Err is nil for a good record and the [*RecordError] of a rejected one.
	Err error
}

// Option configures a Reader.
type Option func(*config)

type config struct {
	format Format
	limit  int
	resume Checkpoint
}

// InputFormat sets the input format. Default: FormatAuto.
func InputFormat(f Format) Option { return func(c *config) { c.format = f } }

// MaxRecordBytes sets the record limit: a line or a (compacted) array element
// longer than n bytes is skipped as it is read, never buffered, and rejected
// with [ErrTooLarge]. The reader's memory is bounded by about n plus 64 KiB.
// Default: [DefaultMaxRecordBytes].
func MaxRecordBytes(n int) Option { return func(c *config) { c.limit = n } }

// ResumeFrom makes the reader start at a checkpoint instead of the start of
// the input: the next record read is c.Seq+1, starting at or after c.Offset,
// on line c.Line. The input is taken to start at offset 0; a seekable input
// that is not compressed is seeked, any other is read and its bytes discarded
// up to c.Offset. FormatAuto still decides from the start of the input.
// Default: the zero Checkpoint, the start.
func ResumeFrom(c Checkpoint) Option { return func(cfg *config) { cfg.resume = c } }

// Reader reads records from one input, streaming, with memory bounded by the
// record limit plus a fixed buffer whatever the input holds. A Reader is not
// safe for concurrent use, except [Reader.InputOffset].
type Reader struct {
	name   string
	format Format // resolved by start when FormatAuto
	limit  int
	resume Checkpoint

	under   io.Reader // the input as given (counted)
	src     io.Reader // the decompressed input
	file    *os.File  // opened by Open: closed by Close
	closeFn func() error
	comp    string
	counted countingReader

	buf    []byte
	r, w   int
	base   int64 // input offset of buf[0]
	maxBuf int
	eof    bool
	rerr   error

	started   bool
	err       error // sticky: fatal error or io.EOF
	seq       int64
	line      int64 // newlines consumed
	arrayDone bool
	needSep   bool // resumed inside an array: a ',' or ']' comes next
	scratch   []byte
	arena     []byte // NextBatch: where kept records are copied
	validator validator
}

// countingReader counts the bytes read from the underlying input, for
// progress against a file's size.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// NewReader returns a Reader of in. name is used for the auto format's
// extension rule and in positions and error messages ("-" is shown as
// "stdin"; "" as "input"). Nothing is read before the first Next or NextBatch
// call. Closing the Reader does not close in.
func NewReader(in io.Reader, name string, opts ...Option) (*Reader, error) {
	cfg := config{format: FormatAuto, limit: DefaultMaxRecordBytes}
	for _, o := range opts {
		o(&cfg)
	}
	f, err := ParseFormat(string(cfg.format))
	if err != nil {
		return nil, err
	}
	if cfg.limit < 1 {
		return nil, fmt.Errorf("%w: record limit %d (want at least 1)", ErrBadOption, cfg.limit)
	}
	if c := cfg.resume; c.Offset < 0 || c.Seq < 0 || c.Line < 0 {
		return nil, fmt.Errorf("%w: resume checkpoint %+v is negative", ErrBadOption, c)
	}
	switch name {
	case "-":
		name = "stdin"
	case "":
		name = "input"
	}
	r := &Reader{name: name, format: f, limit: cfg.limit, resume: cfg.resume, under: in}
	r.maxBuf = max(minBufferSize, cfg.limit+minBufferSize)
	r.counted.r = in
	r.src = &r.counted
	return r, nil
}

// Open opens path ("-" means standard input) and returns its Reader; Close
// closes the file. A missing or unreadable file is an error naming it.
func Open(path string, opts ...Option) (*Reader, error) {
	if path == "-" {
		return NewReader(os.Stdin, path, opts...)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open input file %s: %w", path, err)
	}
	r, err := NewReader(f, path, opts...)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// Close releases the decompressor and closes the file opened by [Open].
func (r *Reader) Close() error {
	var err error
	if r.closeFn != nil {
		err = r.closeFn()
		r.closeFn = nil
	}
	if r.file != nil {
		err = errors.Join(err, r.file.Close())
		r.file = nil
	}
	return err
}

// Name returns the input name used in positions and error messages.
func (r *Reader) Name() string { return r.name }

// Format returns the input format; after the first Next or NextBatch call,
// FormatAuto has been resolved to one of the others.
func (r *Reader) Format() Format { return r.format }

// Compression returns "gzip" or "zstd" for compressed input, "" otherwise;
// it is known after the first Next or NextBatch call.
func (r *Reader) Compression() string { return r.comp }

// Offset returns the offset in the decompressed input of the next byte to be
// read: after a record, its End.
func (r *Reader) Offset() int64 { return r.base + int64(r.r) }

// InputOffset returns how many bytes of the underlying input (the
// compressed bytes, for compressed input) have been read: compare it with the
// file's size for progress. It is safe to call concurrently with reading.
func (r *Reader) InputOffset() int64 { return r.counted.n.Load() }

// Source names a record's position for messages: "FILE:LINE" for lines,
// "FILE[INDEX] line LINE" for array elements (INDEX is 0-based).
func (r *Reader) Source(p Position) string {
	// One allocation a record: the digits go through a stack buffer and the
	// Builder's buffer becomes the string without a copy.
	var digits [20]byte
	var b strings.Builder
	b.Grow(len(r.name) + 32)
	b.WriteString(r.name)
	if r.format == FormatJSON {
		b.WriteByte('[')
		b.Write(strconv.AppendInt(digits[:0], p.Seq-1, 10))
		b.WriteString("] line ")
	} else {
		b.WriteByte(':')
	}
	b.Write(strconv.AppendInt(digits[:0], p.Line, 10))
	return b.String()
}

// Next returns the next record, or io.EOF after the last one.
//
// A rejected record (invalid JSON, too large) is returned with its
// [*RecordError] both in Record.Err and as the error: it is not fatal, call
// Next again for the following record. Any other error is fatal (an I/O
// error naming the input, or a broken JSON array structure naming the line)
// and is returned again by every later call.
//
// Record.Data is only valid until the next call on the Reader.
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
	var rec Record
	var err error
	if r.format == FormatJSON {
		rec, err = r.nextElement()
	} else {
		rec, err = r.nextLine()
	}
	if err != nil && rec.Err == nil {
		r.err = err
	}
	return rec, err
}

// maxBatchBytes stops NextBatch early so that one call holds a bounded
// amount of data (a Firehose batch is at most 4 MiB).
const maxBatchBytes = 4 << 20

// arenaChunk is the size of the buffers NextBatch copies records into: small
// enough for the allocator's fast path, large enough to hold hundreds of
// typical records.
const arenaChunk = 32 << 10

// NextBatch reads up to len(dst) records into dst and returns how many it
// read. Rejected records are included, in order, with Record.Err set.
//
// Unlike Next, the Data of these records is the caller's to keep (for
// example in a producer's batch) without copying: NextBatch copies records
// into 32 KiB buffers that it only appends to, never reusing a byte it has
// handed out, so the cost is about one allocation per 32 KiB of records.
// NextBatch returns fewer than len(dst) records when the ones read hold 4 MiB
// or more, or when the input ends.
//
// It returns n > 0 and a nil error, or 0 and io.EOF at the end, or 0 and the
// fatal error (after returning the records read before it).
func (r *Reader) NextBatch(dst []Record) (int, error) {
	n, size := 0, 0
	for n < len(dst) && size < maxBatchBytes {
		rec, err := r.Next()
		if err != nil && rec.Err == nil {
			if n > 0 {
				break
			}
			return 0, err
		}
		if rec.Data != nil {
			rec.Data = r.keep(rec.Data)
			size += len(rec.Data)
		}
		dst[n] = rec
		n++
	}
	return n, nil
}

// keep copies b into the arena and returns the copy, which is never
// written again.
func (r *Reader) keep(b []byte) []byte {
	if len(b) > cap(r.arena)-len(r.arena) {
		r.arena = make([]byte, 0, max(arenaChunk, len(b)))
	}
	start := len(r.arena)
	r.arena = append(r.arena, b...)
	return r.arena[start:len(r.arena):len(r.arena)]
}

// fill reads more input into the buffer: it moves the unread bytes to the
// front when that makes room, grows the buffer up to maxBuf when it is full,
// and records EOF or a read error. Slices into the buffer taken before fill
// are invalid after it; indexes relative to r.r stay valid.
func (r *Reader) fill() {
	if r.eof || r.rerr != nil {
		return
	}
	if r.r > 0 && r.w > len(r.buf)/2 {
		n := copy(r.buf, r.buf[r.r:r.w])
		r.base += int64(r.r)
		r.r, r.w = 0, n
	}
	if r.w == len(r.buf) {
		size := max(minBufferSize, min(2*len(r.buf), r.maxBuf))
		if size <= len(r.buf) {
			return // full at maxBuf: callers skip before this happens
		}
		nb := make([]byte, size)
		copy(nb, r.buf[r.r:r.w])
		r.base += int64(r.r)
		r.r, r.w, r.buf = 0, r.w-r.r, nb
	}
	for range 100 {
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			if errors.Is(err, io.EOF) {
				r.eof = true
			} else {
				r.rerr = err
			}
			return
		}
		if n > 0 {
			return
		}
	}
	r.rerr = io.ErrNoProgress
}

// readError wraps a read error with the input name.
func (r *Reader) readError(err error) error {
	return fmt.Errorf("read %s: %w", r.name, err)
}

// discardTo reads and drops bytes up to the input offset off.
func (r *Reader) discardTo(off int64) error {
	for r.Offset() < off {
		if r.r == r.w {
			if r.eof {
				return nil
			}
			if r.rerr != nil {
				return r.readError(r.rerr)
			}
			r.fill()
			continue
		}
		r.r += int(min(int64(r.w-r.r), off-r.Offset()))
	}
	return nil
}

// skipSpace consumes JSON white space, counting newlines, and returns the
// next byte without consuming it; io.EOF at the end.
func (r *Reader) skipSpace() (byte, error) {
	for {
		for r.r < r.w {
			switch c := r.buf[r.r]; c {
			case '\n':
				r.line++
			case ' ', '\t', '\r':
			default:
				return c, nil
			}
			r.r++
		}
		if r.eof {
			return 0, io.EOF
		}
		if r.rerr != nil {
			return 0, r.readError(r.rerr)
		}
		r.fill()
	}
}

// isBlank reports a line holding only spaces, tabs and carriage returns.
func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// recordError builds a rejected record's Record and error.
func (r *Reader) recordError(pos Position, data []byte, size int64, err error) (Record, error) {
	re := &RecordError{Source: r.Source(pos), Position: pos, Size: size, Err: err}
	return Record{Position: pos, Data: data, Err: re}, re
}

// tooLarge is the error of a record over the limit.
func (r *Reader) tooLarge(size int64, exact bool) error {
	if exact {
		return fmt.Errorf("%w: %d bytes, over the limit of %d", ErrTooLarge, size, r.limit)
	}
	return fmt.Errorf("%w: over the limit of %d bytes", ErrTooLarge, r.limit)
}
