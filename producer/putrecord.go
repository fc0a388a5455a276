package producer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// PutRecord sends one record with the PutRecord API, synchronously, with
// the same retry policy, limiter, statistics and dead-letter sink as the
// pipeline. It returns the Firehose record ID.
//
// A record over MaxRecordBytes (newline included) is rejected (dead-letter
// reason "too-large") with an error matching ErrRecordTooLarge. When retries
// run out it is dead-lettered and the error matches ErrNotDelivered. On a
// non-retryable error it is dead-lettered (reason "fatal-error"), the
// producer stops, and the error is a *FatalError. If ctx is cancelled it is
// dead-lettered (reason "shutdown") and ctx.Err() is returned; a request in
// flight may still finish within ShutdownTimeout. A sink failure is joined
// to the error.
func (p *Producer) PutRecord(ctx context.Context, rec Record) (string, error) {
	var outcome RecordResult
	settle := func(r RecordResult) { outcome = r }
	p.stats.submitted.Add(1)
	entries := []entry{p.singleEntry(rec, settle)}
	ent := &entries[0]
	giveUp := func(reason, msg string, cause error) (string, error) {
		p.giveUp(entries, reason, "", msg, reason == ReasonTooLarge)
		if cause == nil {
			return "", outcome.Err
		}
		if errors.Is(outcome.Err, ErrDeadLetterWrite) {
			return "", errors.Join(cause, outcome.Err)
		}
		return "", cause
	}
	if err := p.stopErr(); err != nil {
		return giveUp(p.stopReason(), "not sent: the producer had stopped", err)
	}
	if size := len(ent.data); size > MaxRecordBytes {
		return giveUp(ReasonTooLarge, tooLargeError(rec, size).Error(), nil)
	}
	reqCtx, release := p.callContext(ctx)
	defer release()
	// Limiter waits and back-off end on ctx or on a stop of the producer.
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	defer context.AfterFunc(p.runCtx, cancelWait)()
	in := &firehose.PutRecordInput{DeliveryStreamName: &p.stream, Record: &types.Record{Data: ent.data}}
	for {
		if err := p.limiter.wait(waitCtx, 1, len(ent.data)); err != nil {
			return giveUp(ReasonShutdown, "", p.callStopCause(ctx))
		}
		start := time.Now()
		markAttempt(p, entries, start)
		out, err := p.client.PutRecord(reqCtx, in, putOptions)
		latency := time.Since(start)
		if err == nil {
			p.stats.putRecordCalls.Add(1)
			p.settleDelivered(&delivery{entries: []*entry{ent}, ids: []string{deref(out.RecordId)}})
			p.limiter.succeeded()
			p.called(CallInfo{API: apiPutRecord, Seq: rec.Seq, Records: 1, Bytes: len(ent.data), Attempt: ent.attempts, Latency: latency})
			return deref(out.RecordId), nil
		}
		p.stats.putRecordCalls.Add(1)
		p.stats.requestErrors.Add(1)
		p.called(CallInfo{API: apiPutRecord, Seq: rec.Seq, Records: 1, Throttled: throttledRecords(err, 1),
			Bytes: len(ent.data), Attempt: ent.attempts, Latency: latency, Err: err})
		c := classifyCall(reqCtx, err)
		ent.code, ent.msg, ent.unknown = c.code, c.msg, c.unknownOutcome
		ent.stored = ent.stored || c.unknownOutcome
		switch c.class {
		case classFatal:
			p.fail(c, err)
			return giveUp(ReasonFatal, "", context.Cause(p.runCtx))
		case classCanceled:
			return giveUp(ReasonShutdown, "", p.callStopCause(ctx))
		case classThrottle:
			p.stats.throttledRecords.Add(1)
			p.limiter.throttled(start)
			ent.throttled++
		}
		delay := p.backoff.delay(ent.attempts)
		if !p.mayRetry(ent, delay, time.Now()) {
			return giveUp(ReasonRetriesExhausted, "", nil)
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "retrying record", slog.Int64("seq", rec.Seq),
			slog.Int("attempt", ent.attempts+1), slog.Duration("delay", delay), slog.String("error_code", c.code))
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-waitCtx.Done():
			timer.Stop()
			return giveUp(ReasonShutdown, "", p.callStopCause(ctx))
		}
	}
}

// callStopCause is the error for a synchronous call cut short: ctx's error,
// or why the producer stopped.
func (p *Producer) callStopCause(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.stopErr(); err != nil {
		return err
	}
	return context.Canceled
}

// callContext returns the context for a synchronous call's requests: it is
// not cancelled with ctx, so a request in flight can finish after an
// interrupt, but it ends ShutdownTimeout after ctx is done, or with the
// producer's requests (Abort). Call release when the call is over.
func (p *Producer) callContext(ctx context.Context) (reqCtx context.Context, release func()) {
	reqCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	stopCtx := context.AfterFunc(ctx, func() {
		mu.Lock()
		timer = time.AfterFunc(p.cfg.shutdownTimeout, cancel)
		mu.Unlock()
	})
	stopReq := context.AfterFunc(p.reqCtx, cancel)
	return reqCtx, func() {
		stopCtx()
		stopReq()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}
