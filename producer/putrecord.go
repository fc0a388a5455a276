package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// PutRecord sends one record with the PutRecord API, retrying with back-off
// as Send does, under the same limiter. It returns the Firehose record ID.
//
// A record over MaxRecordBytes (newline included) is rejected (dead-letter
// reason "too-large") with an error matching ErrRecordTooLarge. When retries
// run out it is dead-lettered and the error matches ErrNotDelivered. On a
// non-retryable error it is dead-lettered (reason "fatal-error") and the
// error is a *FatalError. If ctx is cancelled it is dead-lettered (reason
// "shutdown") and ctx.Err() is returned; a request in flight may still finish
// within ShutdownTimeout. A sink failure is joined to the error.
func (p *Producer) PutRecord(ctx context.Context, rec Record) (string, error) {
	if p.abortCtx.Err() != nil {
		return "", ErrAborted
	}
	p.stats.submitted.Add(1)
	e := p.singleEntry(rec, 0)
	if len(e.data) > MaxRecordBytes {
		tooLarge := tooLargeError(rec, len(e.data))
		u := p.giveUp(ctx, []entry{e}, ReasonTooLarge, "", tooLarge.Error(), true)
		return "", errors.Join(tooLarge, u.err)
	}
	reqCtx, _, release := p.requestContext(ctx)
	defer release()
	// Limiter waits end on ctx or on Abort, a hard stop.
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	defer context.AfterFunc(p.abortCtx, cancelWait)()
	in := &firehose.PutRecordInput{DeliveryStreamName: &p.stream, Record: &types.Record{Data: e.data}}
	entries := []entry{e}
	ent := &entries[0]
	giveUp := func(reason string, cause error) error {
		u := p.giveUp(ctx, entries, reason, "", "", false)
		return errors.Join(cause, u.err)
	}
	for {
		if err := p.limiter.wait(waitCtx, 1, len(ent.data)); err != nil {
			return "", giveUp(ReasonShutdown, stopCause(ctx, p))
		}
		start := time.Now()
		markAttempt(p, entries, start)
		out, err := p.client.PutRecord(reqCtx, in, withoutSDKRetries)
		latency := time.Since(start)
		if err == nil {
			p.countCall(&p.stats.putRecordCalls, latency)
			p.countDelivered(1, 1, len(ent.data), billed(len(ent.data)))
			p.limiter.succeeded()
			if p.log.Enabled(ctx, p.cfg.callLogLevel) {
				p.log.LogAttrs(ctx, p.cfg.callLogLevel, "PutRecord", slog.Int64("seq", rec.Seq),
					slog.Int("bytes", len(ent.data)), slog.Duration("latency", latency), slog.Int("attempt", ent.attempts))
			}
			return deref(out.RecordId), nil
		}
		p.stats.putRecordCalls.Add(1)
		p.stats.requestErrors.Add(1)
		c := classifyCall(reqCtx, err)
		ent.code, ent.msg, ent.unknown = c.code, c.msg, c.unknownOutcome
		switch c.class {
		case classFatal:
			fe := p.fatalError(c, err)
			p.log.LogAttrs(ctx, slog.LevelError, "fatal error", slog.String("error_code", c.code), slog.Any("error", fe))
			return "", giveUp(ReasonFatal, fe)
		case classCanceled:
			return "", giveUp(ReasonShutdown, stopCause(ctx, p))
		case classThrottle:
			p.stats.throttledRecords.Add(1)
			p.limiter.throttled(start)
		}
		delay := p.backoff.delay(ent.attempts)
		if ent.attempts >= p.cfg.maxAttempts || time.Since(ent.first)+delay > p.cfg.maxRetryTime {
			return "", giveUp(ReasonRetriesExhausted, fmt.Errorf("%w: record %s: %d attempts, last error %s: %s",
				ErrNotDelivered, recordName(rec.Seq, rec.Source), ent.attempts, c.code, c.msg))
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "retrying record", slog.Int64("seq", rec.Seq),
			slog.Int("attempt", ent.attempts+1), slog.Duration("delay", delay), slog.String("error_code", c.code))
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return "", giveUp(ReasonShutdown, ctx.Err())
		case <-p.abortCtx.Done():
			timer.Stop()
			return "", giveUp(ReasonShutdown, ErrAborted)
		}
	}
}

// stopCause is the error for a call cut short: ctx's error, or ErrAborted.
func stopCause(ctx context.Context, p *Producer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.abortCtx.Err() != nil {
		return ErrAborted
	}
	return context.Canceled
}
