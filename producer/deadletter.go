package producer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Dead-letter reasons.
const (
	ReasonInvalidJSON      = "invalid-json"      // the input record is not valid JSON (set by the reader)
	ReasonTooLarge         = "too-large"         // over MaxRecordBytes after the newline
	ReasonRetriesExhausted = "retries-exhausted" // MaxAttempts or MaxRetryTime reached
	ReasonFatal            = "fatal-error"       // a non-retryable error stopped sending
	ReasonShutdown         = "shutdown"          // interrupted before it could be delivered
	// ReasonInvalidDeadLetter: a line of a dead-letter file being replayed
	// is not a dead letter (set by the replay).
	ReasonInvalidDeadLetter = "invalid-dead-letter"
)

// DeadLetter is one input record that was not delivered, as one NDJSON
// object in a dead-letter file. Data is the input record as read (without
// the newline the producer appends), base64 in JSON.
type DeadLetter struct {
	Seq          int64  `json:"seq"`
	Source       string `json:"source,omitempty"`
	Reason       string `json:"reason"`
	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	Attempts     int    `json:"attempts"`
	// MaybeDelivered is true when one of the record's tries had an unknown
	// outcome (a lost response): the service may have stored it, and
	// sending it again may duplicate it.
	MaybeDelivered bool      `json:"maybe_delivered,omitempty"`
	Time           time.Time `json:"time"`
	Data           []byte    `json:"data"`
}

// DeadLetterSink stores dead letters. WriteDeadLetters is called from
// several goroutines and must be safe for that. If it fails, those records
// are lost, and Send, PutRecord and PutRecordBatch return an error matching
// ErrDeadLetterWrite. A sink with a Close() error method is closed by
// Producer.Close.
type DeadLetterSink interface {
	WriteDeadLetters(ctx context.Context, letters []DeadLetter) error
}

// FileSink appends dead letters as NDJSON to a file. The file is opened on
// the first write (so no empty file appears when nothing failed) with
// O_APPEND|O_CREATE and mode 0600, and each WriteDeadLetters call is written
// through before it returns; Close syncs the file to disk.
type FileSink struct {
	path  string
	count atomic.Int64

	mu      sync.Mutex
	f       *os.File
	created bool // Open created the file: Close removes it if still empty
	buf     bytes.Buffer
	closed  bool
}

var _ DeadLetterSink = (*FileSink)(nil)

// NewFileSink returns a sink appending to path. Nothing is opened yet: the
// file is opened by Open or by the first write.
func NewFileSink(path string) *FileSink { return &FileSink{path: path} }

// Open opens (creating if needed) the file now, so that a path that cannot
// be written fails before anything is sent. A file that Open created and
// that stays empty is removed by Close.
func (s *FileSink) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		return nil
	}
	_, statErr := os.Stat(s.path)
	f, err := os.OpenFile(s.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open dead-letter file: %w", err)
	}
	s.f, s.created = f, os.IsNotExist(statErr)
	return nil
}

// Path returns the file's path.
func (s *FileSink) Path() string { return s.path }

// Count returns how many dead letters this sink has written.
func (s *FileSink) Count() int64 { return s.count.Load() }

// WriteDeadLetters appends letters, one JSON object a line.
func (s *FileSink) WriteDeadLetters(_ context.Context, letters []DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSinkClosed
	}
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("open dead-letter file: %w", err)
		}
		s.f = f
	}
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
	for i := range letters {
		if err := enc.Encode(&letters[i]); err != nil {
			return fmt.Errorf("encode dead letter #%d: %w", letters[i].Seq, err)
		}
	}
	if _, err := s.f.Write(s.buf.Bytes()); err != nil {
		return fmt.Errorf("write dead-letter file %s: %w", s.path, err)
	}
	s.count.Add(int64(len(letters)))
	return nil
}

// Sync flushes what was written to disk (fsync), so a checkpoint may count
// those records as settled. Nothing opened yet: nothing to sync.
func (s *FileSink) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil || s.closed {
		return nil
	}
	if err := s.f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		// EINVAL: a device or pipe, which has nothing to sync.
		return fmt.Errorf("sync dead-letter file %s: %w", s.path, err)
	}
	return nil
}

// Close syncs and closes the file if it was opened. It is idempotent; later
// writes fail with ErrSinkClosed.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f == nil {
		return nil
	}
	errSync := s.f.Sync()
	errClose := s.f.Close()
	if err := errors.Join(errSync, errClose); err != nil {
		return fmt.Errorf("close dead-letter file %s: %w", s.path, err)
	}
	if s.created && s.count.Load() == 0 {
		if info, err := os.Stat(s.path); err == nil && info.Size() == 0 {
			_ = os.Remove(s.path) // nothing failed: no empty file left behind
		}
	}
	return nil
}

// maxDeadLetterLine bounds one NDJSON line: a 1,000 KiB record is about
// 1.4 MB in base64, plus the other fields.
const maxDeadLetterLine = 4 << 20

// ReadDeadLetters reads NDJSON dead letters from r, for replay. Blank lines
// are skipped. A line that does not parse yields an error naming its line
// number and reading goes on; a read error ends the sequence.
func ReadDeadLetters(r io.Reader) iter.Seq2[DeadLetter, error] {
	return func(yield func(DeadLetter, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64*1024), maxDeadLetterLine)
		line := 0
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			var dl DeadLetter
			if err := json.Unmarshal(b, &dl); err != nil {
				if !yield(DeadLetter{}, fmt.Errorf("dead-letter line %d: %w", line, err)) {
					return
				}
				continue
			}
			if !yield(dl, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(DeadLetter{}, fmt.Errorf("dead-letter line %d: %w", line+1, err))
		}
	}
}

// Record returns the dead letter as a Record to send again.
func (d DeadLetter) Record() Record { return Record{Seq: d.Seq, Source: d.Source, Data: d.Data} }
