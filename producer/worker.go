package producer

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// worker holds the request state one worker goroutine reuses.
type worker struct {
	recs  []types.Record
	input firehose.PutRecordBatchInput
	sent  delivery // reused: the entries one response delivered
}

// workLoop sends batches until the batcher closes the work channel.
func (p *Producer) workLoop() {
	w := &worker{recs: make([]types.Record, 0, p.cfg.maxBatchRecords)}
	w.input.DeliveryStreamName = &p.stream
	for {
		// A slot first, then a batch: batches wait in the buffer, not in
		// workers, so what is held follows the in-flight limit.
		if err := p.inFlight.acquire(p.runCtx); err != nil {
			// Stopped: settle what is left, without a slot.
			for bt := range p.work {
				p.giveUp(bt.entries, p.stopReason(), "", "", false)
				p.batchDone()
			}
			return
		}
		bt, ok := <-p.work
		if !ok {
			p.inFlight.release(requestSample{outcome: requestFailed})
			return
		}
		p.sendBatch(w, bt)
		p.batchDone()
		putEntries(bt.entries)
	}
}

// sendBatch makes one PutRecordBatch call, holding a slot of the in-flight
// limit that it releases, and settles every entry: delivered, requeued for
// a retry, or dead-lettered.
func (p *Producer) sendBatch(w *worker, bt *batch) {
	entries := bt.entries
	acquired := time.Now()
	outcome := requestFailed
	var start time.Time
	defer func() {
		p.inFlight.release(requestSample{sent: start, rateWait: start.Sub(acquired), outcome: outcome,
			records: len(entries), bytes: bt.bytes})
	}()
	if p.runCtx.Err() != nil {
		p.giveUp(entries, p.stopReason(), "", "", false)
		return
	}
	if err := p.limiter.wait(p.runCtx, len(entries), bt.bytes); err != nil {
		start = time.Now()
		p.giveUp(entries, p.stopReason(), "", "", false)
		return
	}
	start = time.Now()
	markAttempt(p, entries, start)
	w.recs = w.recs[:0]
	for i := range entries {
		w.recs = append(w.recs, types.Record{Data: entries[i].data})
	}
	w.input.Records = w.recs
	out, err := p.client.PutRecordBatch(p.reqCtx, &w.input, putOptions)
	latency := time.Since(start)
	clear(w.recs) // drop references to record data
	if err != nil {
		p.called(CallInfo{API: apiPutRecordBatch, Records: len(entries), Throttled: throttledRecords(err, len(entries)),
			Bytes: bt.bytes, Attempt: entries[0].attempts, Latency: latency, Err: err})
		outcome = p.requestFailed(entries, err, start)
		return
	}
	p.contact()
	p.stats.putRecordBatchCalls.Add(1)
	if out.FailedPutCount != nil {
		p.stats.failedPutCount.Add(int64(*out.FailedPutCount))
	}
	var failed []entry
	throttled := 0
	sent := &w.sent
	sent.entries, sent.ids = sent.entries[:0], sent.ids[:0]
	for i := range entries {
		e := &entries[i]
		var resp types.PutRecordBatchResponseEntry
		if i < len(out.RequestResponses) {
			resp = out.RequestResponses[i]
		} else {
			resp.ErrorCode, resp.ErrorMessage = ptr(codeInternalFailure), ptr("no response entry for this record")
		}
		if resp.ErrorCode != nil && *resp.ErrorCode != "" {
			e.code, e.msg = *resp.ErrorCode, deref(resp.ErrorMessage)
			if classifyEntry(e.code, e.msg) == classThrottle {
				throttled++
				e.throttled++
			}
			failed = append(failed, *e)
			continue
		}
		sent.add(e, deref(resp.RecordId))
	}
	p.settleDelivered(sent)
	clear(sent.entries) // drop references to record data
	outcome = requestDelivered
	if throttled > 0 {
		outcome = requestThrottled
		p.stats.throttledRecords.Add(int64(throttled))
		if p.limiter.throttled(start) {
			recs, bytes := p.limiter.limits()
			p.log.LogAttrs(p.runCtx, slog.LevelInfo, "throttled: slowing down",
				slog.Int("throttled", throttled), slog.Int64("records_per_second", int64(math.Round(recs))),
				slog.Int64("bytes_per_second", int64(math.Round(bytes))))
		}
	} else {
		p.limiter.succeeded()
	}
	p.called(CallInfo{API: apiPutRecordBatch, Records: len(entries), Failed: len(failed), Throttled: throttled,
		Bytes: bt.bytes, Attempt: entries[0].attempts, Latency: latency})
	if len(failed) > 0 {
		p.requeue(failed)
	}
}

// requestFailed settles the entries of a PutRecordBatch call that failed as
// a whole, and says what the failure tells of the service's load.
func (p *Producer) requestFailed(entries []entry, err error, start time.Time) requestOutcome {
	p.stats.putRecordBatchCalls.Add(1)
	p.stats.requestErrors.Add(1)
	c := classifyCall(p.reqCtx, err)
	if c.unreachable {
		return p.unreachable(entries, c, err)
	}
	p.contact()
	for i := range entries {
		e := &entries[i]
		e.code, e.msg, e.unknown = c.code, c.msg, c.unknownOutcome
		e.stored = e.stored || c.unknownOutcome
	}
	switch {
	case c.class == classFatal:
		p.fail(c, err)
		p.giveUp(entries, ReasonFatal, "", "", false)
		return requestFailed
	case c.class == classCanceled || p.runCtx.Err() != nil:
		p.giveUp(entries, p.stopReason(), "", "", false)
		return requestFailed
	case c.class == classThrottle:
		p.stats.throttledRecords.Add(int64(len(entries)))
		p.limiter.throttled(start)
		for i := range entries {
			entries[i].throttled++
		}
	}
	p.log.LogAttrs(p.runCtx, slog.LevelInfo, "PutRecordBatch failed",
		slog.String("error_code", c.code), slog.Int("records", len(entries)), slog.Bool("outcome_unknown", c.unknownOutcome))
	p.requeue(entries)
	// Throttling, 5xx and timeouts are back-pressure; a connection that
	// could not be made says nothing of the service's load.
	if c.class == classThrottle || c.unknownOutcome || c.code == codeServiceUnavailable || c.code == "HTTP5xx" || c.code == codeInternalFailure {
		return requestThrottled
	}
	return requestFailed
}

// fail stops the producer on a non-retryable error; the first one wins.
func (p *Producer) fail(c classified, err error) {
	fe := p.fatalError(c, err)
	if p.runCtx.Err() == nil {
		p.log.LogAttrs(p.runCtx, slog.LevelError, "fatal error: stopping",
			slog.String("error_code", c.code), slog.Any("error", fe))
	}
	p.stop(fe)
}

// contact notes that the service answered.
func (p *Producer) contact() { p.lastContact.Store(time.Now().UnixNano()) }

// unreachable handles a request that could not reach the service: its
// entries are tried again without using up their attempts (the records were
// never offered), until the endpoint has not answered for MaxRetryTime;
// then the producer stops as on a fatal error, rather than dead-letter
// every record one by one while the endpoint is gone.
func (p *Producer) unreachable(entries []entry, c classified, err error) requestOutcome {
	for i := range entries {
		e := &entries[i]
		e.code, e.msg, e.unknown, e.unreached = c.code, c.msg, false, true
		e.attempts-- // the record was not offered
	}
	since := time.Since(time.Unix(0, p.lastContact.Load()))
	if since > p.cfg.maxRetryTime {
		p.fail(classified{class: classFatal, code: codeEndpointUnreachable,
			msg: fmt.Sprintf("no answer for %s (MaxRetryTime): %s", since.Round(time.Second), c.msg)}, err)
		p.giveUp(entries, ReasonFatal, "", "", false)
		return requestFailed
	}
	p.log.LogAttrs(p.runCtx, slog.LevelWarn, "endpoint unreachable: retrying",
		slog.String("error_code", c.code), slog.Int("records", len(entries)), slog.Duration("since_last_answer", since.Round(time.Millisecond)))
	p.requeue(entries)
	return requestFailed
}
