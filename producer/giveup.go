package producer

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// undelivered is what happened to records that were not delivered.
type undelivered struct {
	lostNoSink int64 // records only counted because there is no sink
	err        error // sink failure: the records are lost
}

// giveUp dead-letters the input records of entries with reason. Each entry's
// own last error (code, msg) is used when set, else code and msg. It counts
// them as DeadLettered, or as Rejected when rejected is true.
func (p *Producer) giveUp(ctx context.Context, entries []entry, reason, code, msg string, rejected bool) undelivered {
	n := 0
	for i := range entries {
		n += len(entries[i].parts)
	}
	if n == 0 {
		return undelivered{}
	}
	if rejected {
		p.stats.rejected.Add(int64(n))
	} else {
		p.stats.deadLettered.Add(int64(n))
	}
	first := entries[0].parts[0]
	level := slog.LevelWarn
	p.log.LogAttrs(ctx, level, "records not delivered",
		slog.String("reason", reason), slog.Int("records", n), slog.Int64("seq", first.seq), slog.String("source", first.source),
		slog.String("error_code", firstCode(entries, code)), slog.String("error", firstMessage(entries, msg)),
		slog.Int("attempt", entries[0].attempts))
	if p.cfg.sink == nil {
		return undelivered{lostNoSink: int64(n)}
	}
	now := time.Now().UTC()
	letters := make([]DeadLetter, 0, n)
	for i := range entries {
		e := &entries[i]
		c, m := code, msg
		if e.code != "" {
			c, m = e.code, e.msg
		}
		for _, pt := range e.parts {
			letters = append(letters, DeadLetter{
				Seq: pt.seq, Source: pt.source, Reason: reason, ErrorCode: c, ErrorMessage: m,
				Attempts: e.attempts, Time: now, Data: e.data[pt.off:pt.end],
			})
		}
	}
	if err := p.cfg.sink.WriteDeadLetters(context.WithoutCancel(ctx), letters); err != nil {
		p.log.LogAttrs(ctx, slog.LevelError, "dead-letter write failed: records lost",
			slog.Int("records", n), slog.Int64("seq", first.seq), slog.Any("error", err))
		return undelivered{err: fmt.Errorf("%w: %d records lost: %w", ErrDeadLetterWrite, n, err)}
	}
	return undelivered{}
}

// firstMessage is the error message logged for a give-up: the first
// entry's own, else msg. Messages come from the service or the producer
// and never carry record data.
func firstMessage(entries []entry, msg string) string {
	if len(entries) > 0 && entries[0].msg != "" {
		return entries[0].msg
	}
	return msg
}

func firstCode(entries []entry, code string) string {
	if code == "" && len(entries) > 0 {
		return entries[0].code
	}
	return code
}

// singleEntry makes the entry for one record sent alone: its data copied,
// with the newline appended when needed.
func (p *Producer) singleEntry(rec Record, idx int) entry {
	nl := needsNewline(p.cfg.appendNewline, rec.Data)
	size := len(rec.Data)
	if nl {
		size++
	}
	data := make([]byte, 0, size)
	data = append(data, rec.Data...)
	if nl {
		data = append(data, '\n')
	}
	return entry{data: data, parts: []part{{seq: rec.Seq, source: rec.Source, idx: idx, end: len(rec.Data)}}}
}

// Reject dead-letters a record the caller found bad, with reason and cause,
// and counts it as Submitted and Rejected. It returns an error only when the
// dead-letter sink failed.
func (p *Producer) Reject(ctx context.Context, rec Record, reason string, cause error) error {
	p.stats.submitted.Add(1)
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	u := p.giveUp(ctx, []entry{p.singleEntry(rec, 0)}, reason, "", msg, true)
	return u.err
}

// tooLargeError describes a record over MaxRecordBytes.
func tooLargeError(rec Record, size int) error {
	return fmt.Errorf("%w: record %s is %d bytes as sent (an appended newline included), over the %d-byte limit",
		ErrRecordTooLarge, recordName(rec.Seq, rec.Source), size, MaxRecordBytes)
}

// fatalError builds the FatalError for a classified error.
func (p *Producer) fatalError(c classified, err error) *FatalError {
	return newFatalError(c, err, p.stream, p.cfg.region)
}

func newFatalError(c classified, err error, stream, region string) *FatalError {
	return &FatalError{Stream: stream, Region: region, Code: c.code, Message: c.msg, Err: err}
}

// AsFatal classifies err, returned by a Firehose call on stream, as the
// producer does: it returns the *FatalError the producer would stop with
// (stream not found, access denied, no or bad credentials, ...), or nil
// when the error is worth retrying or is a cancellation. Callers use it to
// check a stream before sending, with the same verdicts and messages.
func AsFatal(err error, stream, region string) *FatalError {
	c := classify(err)
	if c.class != classFatal {
		return nil
	}
	return newFatalError(c, err, stream, region)
}

// DeadLetterUnsent dead-letters records the caller has read but will not
// send, such as the rest of a bounded input after an interrupt, with reason
// (usually ReasonShutdown). They count as Submitted and DeadLettered, so
// Submitted = Delivered + DeadLettered + Rejected still holds and the
// dead-letter file can be replayed to complete the set. It returns an
// error only when the dead-letter sink failed.
func (p *Producer) DeadLetterUnsent(ctx context.Context, reason string, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	p.stats.submitted.Add(int64(len(recs)))
	entries := make([]entry, len(recs))
	for i, rec := range recs {
		entries[i] = p.singleEntry(rec, i)
	}
	return p.giveUp(ctx, entries, reason, "", "not sent: the run was interrupted", false).err
}
