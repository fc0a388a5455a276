package cli

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/firehose-tools/firehose/internal/checkpoint"
	"github.com/firehose-tools/firehose/producer"
	"github.com/firehose-tools/firehose/records"
)

// readerSource adapts a records.Reader to producer.Source: a malformed
// record becomes a reject with its position, a record settled by an
// earlier run is skipped, and with a checkpoint each record's end position
// is noted for the tracker.
type readerSource struct {
	r      *records.Reader
	run    *sendRun
	skip   *checkpoint.Skipper
	decode func(rec records.Record) (producer.Record, bool, error)
}

func (s *readerSource) Next(ctx context.Context) (producer.Record, error) {
	for {
		if err := ctx.Err(); err != nil {
			return producer.Record{}, err
		}
		rec, err := s.r.Next()
		var re *records.RecordError
		if err != nil && !errors.As(err, &re) {
			return producer.Record{}, err
		}
		if s.skip != nil && s.skip.Skip(rec.Seq) {
			continue
		}
		rc := rec.Resume()
		end := producer.Position{Offset: rc.Offset, Line: rc.Line}
		if re != nil {
			reason := producer.ReasonInvalidJSON
			if errors.Is(err, records.ErrTooLarge) {
				reason = producer.ReasonTooLarge
			}
			return producer.Record{}, &producer.InvalidRecordError{
				Record: producer.Record{Seq: rec.Seq, Source: re.Source, Data: append([]byte(nil), rec.Data...), End: end},
				Reason: reason,
				Err:    re.Err, // the position is in Record already
			}
		}
		if s.decode != nil {
			out, ok, err := s.decode(rec)
			var invalid *producer.InvalidRecordError
			if errors.As(err, &invalid) {
				invalid.Record.End = end
			}
			if err != nil {
				return producer.Record{}, err
			}
			if !ok {
				if ck := s.run.ckpt; ck != nil {
					ck.tracker.Settled(rec.Seq, checkpoint.Position{Offset: end.Offset, Line: end.Line})
				}
				continue
			}
			out.End = end
			return out, nil
		}
		// Data is only valid until the next read; the producer copies it.
		return producer.Record{Seq: rec.Seq, Source: s.r.Source(rec.Position), Data: rec.Data, End: end}, nil
	}
}

// stopReader reads an unseekable input until stop: from then on Read
// returns io.EOF without reading, so a stop leaves what is still in the
// pipe there and the reader ends with what it has already read.
type stopReader struct {
	r       io.Reader
	stopped atomic.Bool
	// reading is set while a Read of r is in progress: one begun before
	// the stop may block for good (a writer that stalls).
	reading atomic.Bool
}

func (s *stopReader) Read(p []byte) (int, error) {
	if s.stopped.Load() {
		return 0, io.EOF
	}
	s.reading.Store(true)
	defer s.reading.Store(false)
	return s.r.Read(p)
}

// asyncSource reads ahead from a source that may block (stdin, a pipe, a
// FIFO) in its own goroutine, so that Next returns as soon as ctx is
// cancelled. What it read ahead when the run stops is dead-lettered (drain).
type asyncSource struct {
	results chan sourceResult
	stop    *stopReader
}

type sourceResult struct {
	rec producer.Record
	err error
}

// readAheadRecords bounds what an asyncSource holds: what a stop
// dead-letters beyond what the producer holds.
const readAheadRecords = 64

func newAsyncSource(src producer.Source, stop *stopReader) *asyncSource {
	s := &asyncSource{results: make(chan sourceResult, readAheadRecords), stop: stop}
	go func() {
		defer close(s.results)
		for {
			rec, err := src.Next(context.Background())
			// The record's data belongs to the reader until its next read.
			rec.Data = append([]byte(nil), rec.Data...)
			s.results <- sourceResult{rec: rec, err: err}
			var invalid *producer.InvalidRecordError
			if err != nil && !errors.As(err, &invalid) {
				return
			}
		}
	}()
	return s
}

func (s *asyncSource) Next(ctx context.Context) (producer.Record, error) {
	select {
	case r, ok := <-s.results:
		if !ok {
			return producer.Record{}, io.EOF
		}
		return r.rec, r.err
	case <-ctx.Done():
		return producer.Record{}, ctx.Err()
	}
}

// drainGrace is how long drain waits for a read begun before the stop:
// longer, and the read is taken as blocked (a writer that stalls).
const drainGrace = 100 * time.Millisecond

// drain stops the reading and returns the records read and not yet taken:
// those queued, and those the reader goroutine still parses from the bytes
// it has read (the last one possibly cut short: it is dead-lettered as
// invalid). It returns when the reader has nothing more, or when a read
// begun before the stop has blocked for drainGrace. Input still in the
// pipe was never read and is left there, as head(1) leaves it.
func (s *asyncSource) drain() []producer.Record {
	if s.stop != nil {
		s.stop.stopped.Store(true)
	}
	var out []producer.Record
	ticker := time.NewTicker(drainGrace)
	defer ticker.Stop()
	for {
		select {
		case r, ok := <-s.results:
			if !ok {
				return out
			}
			var invalid *producer.InvalidRecordError
			switch {
			case r.err == nil:
				out = append(out, r.rec)
			case errors.As(r.err, &invalid):
				out = append(out, invalid.Record)
			}
		case <-ticker.C:
			if s.stop == nil || s.stop.reading.Load() {
				return out
			}
		}
	}
}
