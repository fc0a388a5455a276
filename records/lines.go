package records

import (
	"bytes"
	"errors"
	"io"
)

// readLine consumes the next line. content is the line without "\n" or
// "\r\n", a view into the buffer valid until the next read, or nil when the
// line was longer than the limit (its bytes were dropped as they were read).
// size is the line's length without its line ending. It returns io.EOF only
// when no bytes are left.
func (r *Reader) readLine() (content []byte, size int64, err error) {
	scanned := 0 // bytes from r.r known to hold no '\n'
	var skipped int64
	for {
		if j := bytes.IndexByte(r.buf[r.r+scanned:r.w], '\n'); j >= 0 {
			end := r.r + scanned + j
			content = r.buf[r.r:end]
			r.r = end + 1
			r.line++
			return r.finishLine(content, skipped)
		}
		scanned = r.w - r.r
		if r.eof {
			if scanned == 0 && skipped == 0 {
				return nil, 0, io.EOF
			}
			content = r.buf[r.r:r.w]
			r.r = r.w
			return r.finishLine(content, skipped)
		}
		if r.rerr != nil {
			return nil, 0, r.rerr
		}
		if scanned > r.limit+1 { // too long even without a "\r"
			skipped += int64(scanned)
			r.r = r.w
			scanned = 0
		}
		r.fill()
	}
}

func (r *Reader) finishLine(content []byte, skipped int64) ([]byte, int64, error) {
	if n := len(content); n > 0 && content[n-1] == '\r' {
		content = content[:n-1]
	}
	size := skipped + int64(len(content))
	if skipped > 0 {
		content = nil
	}
	return content, size, nil
}

// nextLine returns the next non-blank line as a record (FormatNDJSON and
// FormatText).
func (r *Reader) nextLine() (Record, error) {
	for {
		lineNo := r.line + 1
		start := r.Offset()
		content, size, err := r.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = r.readError(err)
			}
			return Record{}, err
		}
		if content != nil && isBlank(content) {
			continue
		}
		r.seq++
		pos := Position{Seq: r.seq, Line: lineNo, Start: start, End: r.Offset(), endLine: r.line + 1}
		if size > int64(r.limit) {
			return r.recordError(pos, nil, size, r.tooLarge(size, true))
		}
		if r.format == FormatNDJSON {
			if ok, detail := r.validJSON(content); !ok {
				return r.recordError(pos, content, size, detail)
			}
		}
		return Record{Position: pos, Data: content}, nil
	}
}
