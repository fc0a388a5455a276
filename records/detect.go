package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	utf8BOM   = []byte{0xef, 0xbb, 0xbf}
)

// start runs before the first record: it detects compression, skips a byte
// order mark, resolves FormatAuto, moves to the resume checkpoint and opens
// a JSON array.
func (r *Reader) start() error {
	r.started = true
	if err := r.detectCompression(); err != nil {
		return err
	}
	r.ensure(len(utf8BOM))
	if bytes.HasPrefix(r.buf[r.r:r.w], utf8BOM) {
		r.r += len(utf8BOM)
	}
	if r.format == FormatAuto {
		r.format = r.sniff()
	}
	if c := r.resume; c.Offset > 0 || c.Seq > 0 {
		if err := r.seekTo(c.Offset); err != nil {
			return err
		}
		r.seq = c.Seq
		r.line = max(c.Line-1, 0)
		if r.format == FormatJSON && c.Seq > 0 {
			r.needSep = true
			return nil
		}
	}
	if r.format == FormatJSON {
		return r.startArray()
	}
	return nil
}

// ensure reads until n bytes are buffered or the input ends.
func (r *Reader) ensure(n int) {
	for r.w-r.r < n && !r.eof && r.rerr == nil {
		r.fill()
	}
}

// detectCompression looks at the first bytes (not the name) and puts a gzip
// or zstd decompressor between the input and the reader.
func (r *Reader) detectCompression() error {
	r.ensure(len(zstdMagic))
	if r.rerr != nil && r.r == r.w {
		return r.readError(r.rerr)
	}
	head := r.buf[r.r:r.w]
	if !bytes.HasPrefix(head, gzipMagic) && !bytes.HasPrefix(head, zstdMagic) {
		return nil
	}
	// The decompressor reads the bytes already buffered, then the rest.
	raw := io.MultiReader(bytes.NewReader(bytes.Clone(head)), &r.counted)
	if r.eof {
		raw = bytes.NewReader(bytes.Clone(head))
	}
	r.r, r.w, r.base, r.eof, r.rerr = 0, 0, 0, false, nil
	if bytes.HasPrefix(head, gzipMagic) {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return fmt.Errorf("read %s: gzip: %w", r.name, err)
		}
		r.src, r.closeFn, r.comp = zr, zr.Close, "gzip"
		return nil
	}
	// One goroutine-free decoder: the producer needs the other cores.
	zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return fmt.Errorf("read %s: zstd: %w", r.name, err)
	}
	r.src, r.comp = zr, "zstd"
	r.closeFn = func() error { zr.Close(); return nil }
	return nil
}

// seekTo moves to the input offset off: within the buffer, by seeking an
// uncompressed seekable input, or else by reading and dropping bytes.
func (r *Reader) seekTo(off int64) error {
	if off >= r.base+int64(r.r) && off <= r.base+int64(r.w) {
		r.r = int(off - r.base)
		return nil
	}
	if s, ok := r.under.(io.Seeker); ok && r.comp == "" && off > r.Offset() {
		if _, err := s.Seek(off, io.SeekStart); err == nil {
			r.base, r.r, r.w, r.eof, r.rerr = off, 0, 0, false, nil
			r.counted.n.Store(off)
			return nil
		}
	}
	return r.discardTo(off)
}

// extension returns the name's extension in lower case, after removing a
// compression extension: "data.ndjson.gz" -> ".ndjson".
func extension(name string) string {
	name = strings.ToLower(name)
	for _, c := range []string{".gz", ".gzip", ".zst", ".zstd"} {
		name = strings.TrimSuffix(name, c)
	}
	return filepath.Ext(name)
}

// sniff resolves FormatAuto by the rule in the package documentation. It only
// looks (nothing is consumed), at most up to the first line's end.
func (r *Reader) sniff() Format {
	ext := extension(r.name)
	switch ext {
	case ".log", ".txt", ".text":
		return FormatText
	}
	linesExt := ext == ".ndjson" || ext == ".jsonl" || ext == ".ldjson"
	fallback := FormatText
	if linesExt || ext == ".json" {
		fallback = FormatNDJSON
	}

	from, to, complete := r.peekFirstLine()
	if from == to {
		return fallback // empty, or white space only: no records either way
	}
	line := bytes.TrimRight(r.buf[r.r+from:r.r+to], " \t\r")
	c := line[0]
	if complete && (c == '{' || c == '[') && json.Valid(line) {
		if c == '[' && !linesExt && r.onlySpaceAfter(to) {
			return FormatJSON
		}
		return FormatNDJSON
	}
	if c == '[' && opensArray(line) {
		return FormatJSON
	}
	return fallback
}

// peekFirstLine finds the first line that is not blank, relative to r.r:
// [from, to) without its "\n". complete is false when the line is longer than
// the buffer can hold (the record limit and a little).
func (r *Reader) peekFirstLine() (from, to int, complete bool) {
	for {
		data := r.buf[r.r:r.w]
		for from < len(data) && (data[from] == ' ' || data[from] == '\t' || data[from] == '\r' || data[from] == '\n') {
			from++
		}
		if from < len(data) {
			if j := bytes.IndexByte(data[from:], '\n'); j >= 0 {
				return from, from + j, true
			}
		}
		if r.eof || r.rerr != nil {
			return from, len(data), true
		}
		if len(data) >= r.maxBuf {
			return from, len(data), false
		}
		r.fill()
	}
}

// onlySpaceAfter reports whether nothing but white space follows position
// i (relative to r.r) up to the end of the input.
func (r *Reader) onlySpaceAfter(i int) bool {
	for {
		data := r.buf[r.r:r.w]
		for ; i < len(data); i++ {
			switch data[i] {
			case ' ', '\t', '\r', '\n':
			default:
				return false
			}
		}
		if r.eof {
			return true
		}
		if r.rerr != nil || len(data) >= r.maxBuf {
			return false
		}
		r.fill()
	}
}

// opensArray reports whether line is the start of a JSON array that goes on
// after it: its tokens are valid so far and a bracket is still open at the
// end. "[" and `[{"a": 1,` open an array; "[INFO] started" and "[1] x" do not.
func opensArray(line []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(line))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return depth > 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '[' || d == '{' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return false // the first value ended, and the line is not valid JSON
		}
	}
}
