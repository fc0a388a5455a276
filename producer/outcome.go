package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// This file settles records: delivered, dead-lettered or rejected. Every
// settled record is counted once in Stats, reported once to OnResult and to
// its promise, and gives its room back to the buffer. Per-record error text
// is built here and nowhere else.

// delivery collects the entries one response delivered, to settle them
// together; it points into the batch, copying nothing.
type delivery struct {
	entries []*entry
	ids     []string
}

func (d *delivery) add(e *entry, id string) {
	d.entries = append(d.entries, e)
	d.ids = append(d.ids, id)
}

// settleDelivered counts and reports delivered entries.
func (p *Producer) settleDelivered(d *delivery) {
	if len(d.entries) == 0 {
		return
	}
	var records, bytes, bufRecords, bufBytes int
	var billedBytes int64
	for _, e := range d.entries {
		records += len(e.parts)
		bytes += len(e.data)
		billedBytes += billed(len(e.data))
		if e.buffered {
			bufRecords += len(e.parts)
			bufBytes += len(e.data)
		}
	}
	p.countDelivered(records, len(d.entries), bytes, billedBytes)
	for i, e := range d.entries {
		for _, pt := range e.parts {
			p.report(pt, RecordResult{Seq: pt.seq, Source: pt.source, End: pt.inEnd, RecordID: d.ids[i]})
		}
	}
	p.buffer.release(int64(bufRecords), int64(bufBytes))
}

// releaseBuffer gives back the room of the entries that came through Add.
func (p *Producer) releaseBuffer(entries []entry) {
	var records, bytes int
	for i := range entries {
		if e := &entries[i]; e.buffered {
			records += len(e.parts)
			bytes += len(e.data)
		}
	}
	p.buffer.release(int64(records), int64(bytes))
}

// report hands one record's outcome to OnResult and to its promise, if
// there are any.
func (p *Producer) report(pt part, r RecordResult) {
	if p.cfg.onResult != nil {
		p.cfg.onResult(r)
	}
	if pt.done != nil {
		pt.done(r)
	}
}

// giveUp dead-letters the input records of entries with reason (or rejects
// them when rejected is true), counts them, logs one line, and reports each
// outcome. Each entry's own last error (code, msg) is used when set, else
// code and msg. A sink failure is logged and joined to each record's error.
func (p *Producer) giveUp(entries []entry, reason, code, msg string, rejected bool) {
	p.settleUndelivered(entries, reason, code, msg, rejected, false)
}

// leftUnsent reports whether records stopped with reason go back to the
// caller unsent instead of to the sink (DeadLetterOnStop(false)).
func (p *Producer) leftUnsent(reason string) bool {
	return !p.cfg.deadLetterOnStop && (reason == ReasonShutdown || reason == ReasonFatal)
}

// settleUnsent reports entries the producer stopped before delivering,
// without dead-lettering them: the caller keeps its own copy (see
// DeadLetterOnStop). A record whose last try had an unknown outcome may be
// stored already: sending it again is a possible duplicate.
func (p *Producer) settleUnsent(entries []entry, reason string) {
	n, unknown := 0, 0
	for i := range entries {
		e := &entries[i]
		n += len(e.parts)
		if e.unknown {
			unknown += len(e.parts)
		}
	}
	if n == 0 {
		return
	}
	p.stats.unsent.Add(int64(n))
	p.stats.possibleDuplicates.Add(int64(unknown))
	for i := range entries {
		e := &entries[i]
		for _, pt := range e.parts {
			err := fmt.Errorf("%w: record %s: %s after %d attempts", ErrUnsent, recordName(pt.seq, pt.source), reason, e.attempts)
			p.report(pt, RecordResult{Seq: pt.seq, Source: pt.source, End: pt.inEnd, Reason: reason, Err: err})
		}
	}
	p.releaseBuffer(entries)
}

// settleUndelivered gives entries up: unsent (see leftUnsent) unless force,
// else dead-lettered or rejected.
func (p *Producer) settleUndelivered(entries []entry, reason, code, msg string, rejected, force bool) {
	if !force && !rejected && p.leftUnsent(reason) {
		p.settleUnsent(entries, reason)
		return
	}
	n := 0
	for i := range entries {
		n += len(entries[i].parts)
	}
	if n == 0 {
		return
	}
	first := entries[0].parts[0]
	p.log.LogAttrs(p.runCtx, slog.LevelWarn, "records not delivered",
		slog.String("reason", reason), slog.Int("records", n), slog.Int64("seq", first.seq), slog.String("source", first.source),
		slog.String("error_code", firstCode(entries, code)), slog.String("error", firstMessage(entries, msg)),
		slog.Int("attempt", entries[0].attempts))
	sinkErr := p.writeDeadLetters(entries, reason, code, msg)
	// Records the sink could not store are not dead-lettered: they are
	// unsent when the caller keeps its own copy (DeadLetterOnStop(false)),
	// else lost, and counted as such.
	keptByCaller := sinkErr != nil && !p.cfg.deadLetterOnStop
	switch {
	case keptByCaller:
		p.stats.unsent.Add(int64(n))
	case sinkErr != nil:
		p.stats.lost.Add(int64(n))
	case rejected:
		p.stats.rejected.Add(int64(n))
	default:
		p.stats.deadLettered.Add(int64(n))
	}
	for i := range entries {
		e := &entries[i]
		for _, pt := range e.parts {
			err := p.recordError(e, pt, reason, code, msg)
			if sinkErr != nil {
				err = errors.Join(err, sinkErr)
			}
			if keptByCaller {
				err = errors.Join(ErrUnsent, err)
			}
			p.report(pt, RecordResult{Seq: pt.seq, Source: pt.source, End: pt.inEnd, Reason: reason, Rejected: rejected, Err: err})
		}
	}
	p.releaseBuffer(entries)
}

// writeDeadLetters stores the records of entries in the sink. With no sink
// it returns nil: the records are only counted, and their errors say so.
func (p *Producer) writeDeadLetters(entries []entry, reason, code, msg string) error {
	if p.cfg.sink == nil {
		return nil
	}
	now := time.Now().UTC()
	var letters []DeadLetter
	for i := range entries {
		e := &entries[i]
		c, m := code, msg
		if e.code != "" {
			c, m = e.code, e.msg
		}
		for _, pt := range e.parts {
			letters = append(letters, DeadLetter{
				Seq: pt.seq, Source: pt.source, Reason: reason, ErrorCode: c, ErrorMessage: m,
				Attempts: e.attempts, MaybeDelivered: e.stored, Time: now, Data: e.data[pt.off:pt.end],
			})
		}
	}
	if err := p.cfg.sink.WriteDeadLetters(context.WithoutCancel(p.runCtx), letters); err != nil {
		p.log.LogAttrs(p.runCtx, slog.LevelError, "dead-letter write failed: records lost; stopping",
			slog.Int("records", len(letters)), slog.Int64("seq", letters[0].Seq), slog.Any("error", err))
		err = fmt.Errorf("%w: %d records lost: %w", ErrDeadLetterWrite, len(letters), err)
		// A promise can no longer be kept: stop rather than lose more.
		p.stop(err)
		return err
	}
	return nil
}

// recordError is the error of one record that was not delivered.
func (p *Producer) recordError(e *entry, pt part, reason, code, msg string) error {
	name := recordName(pt.seq, pt.source)
	var err error
	switch reason {
	case ReasonTooLarge:
		err = tooLargeError(Record{Seq: pt.seq, Source: pt.source}, len(e.data))
	case ReasonFatal:
		var fatal *FatalError
		if errors.As(context.Cause(p.runCtx), &fatal) {
			err = fatal
		} else {
			err = fmt.Errorf("%w: record %s: %s: %s", ErrNotDelivered, name, reason, firstMessage([]entry{*e}, msg))
		}
	case ReasonShutdown:
		err = fmt.Errorf("%w: record %s: %s after %d attempts", ErrNotDelivered, name, reason, e.attempts)
	case ReasonRetriesExhausted:
		c := e.code
		if c == "" {
			c = code
		}
		err = fmt.Errorf("%w: record %s: %s after %d attempts (last error %q)", ErrNotDelivered, name, reason, e.attempts, c)
	default: // rejected by the reader or the caller
		err = fmt.Errorf("%w: record %s rejected: %s: %s", ErrNotDelivered, name, reason, firstMessage([]entry{*e}, msg))
	}
	if p.cfg.sink == nil {
		err = fmt.Errorf("%w (%w)", err, errNoSink)
	}
	return err
}

// errNoSink is joined to the error of a record given up with no sink
// configured: it is only counted.
var errNoSink = errors.New("no dead-letter sink is configured")

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

// singleEntry makes the entry for one record outside the buffer: its data
// copied, with the newline appended when needed.
func (p *Producer) singleEntry(rec Record, done func(RecordResult)) entry {
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
	return entry{data: data, parts: []part{{seq: rec.Seq, source: rec.Source, done: done, inEnd: rec.End, end: len(rec.Data)}}}
}

// Reject dead-letters a record the caller found bad, with reason and cause,
// and counts it as Submitted and Rejected. It returns an error only when the
// dead-letter sink failed.
func (p *Producer) Reject(ctx context.Context, rec Record, reason string, cause error) error {
	return p.reject(rec, reason, cause, nil)
}

func (p *Producer) reject(rec Record, reason string, cause error, done func(RecordResult)) error {
	p.stats.submitted.Add(1)
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	var sinkErr error
	p.giveUp([]entry{p.singleEntry(rec, func(r RecordResult) {
		if errors.Is(r.Err, ErrDeadLetterWrite) {
			sinkErr = r.Err
		}
		if done != nil {
			done(r)
		}
	})}, reason, "", msg, true)
	return sinkErr
}

// tooLargeError describes a record over MaxRecordBytes.
func tooLargeError(rec Record, size int) error {
	return fmt.Errorf("%w: record %s is %d bytes as sent (an appended newline included), over the %d-byte limit",
		ErrRecordTooLarge, recordName(rec.Seq, rec.Source), size, MaxRecordBytes)
}

// fatalError builds the FatalError for a classified error. Its region is
// the client's when the client tells it (a *firehose.Client does).
func (p *Producer) fatalError(c classified, err error) *FatalError {
	region := ""
	if rc, ok := p.client.(interface{ Options() firehose.Options }); ok {
		region = rc.Options().Region
	}
	return newFatalError(c, err, p.stream, region)
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
		entries[i] = p.singleEntry(rec, nil)
	}
	return p.writeAndSettle(entries, reason, "not sent: the run was interrupted")
}

// writeAndSettle gives entries up and returns the sink's failure, if any.
func (p *Producer) writeAndSettle(entries []entry, reason, msg string) error {
	var sinkErr error
	for i := range entries {
		entries[i].parts[0].done = func(r RecordResult) {
			if sinkErr == nil && errors.Is(r.Err, ErrDeadLetterWrite) {
				sinkErr = r.Err
			}
		}
	}
	p.settleUndelivered(entries, reason, "", msg, false, true)
	return sinkErr
}
