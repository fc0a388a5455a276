package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// RecordResult is the outcome of one input record of PutRecordBatch.
type RecordResult struct {
	Seq      int64
	Source   string
	RecordID string // Firehose record ID when delivered; packed records share one
	Reason   string // dead-letter reason when not delivered
	Err      error  // nil when delivered; else matches ErrNotDelivered, ErrRecordTooLarge or ErrFatal
}

// BatchResult is the outcome of PutRecordBatch: one RecordResult per input
// record, in input order, and counts.
type BatchResult struct {
	Records                           []RecordResult
	Delivered, DeadLettered, Rejected int
}

// PutRecordBatch sends any number of records synchronously: it splits them
// within the limits, sends them with up to Concurrency requests in flight,
// resends only the entries that failed, and returns the outcome of every
// record. The error is nil when every record was delivered or dead-lettered
// or rejected into a sink without a fatal error; a *FatalError on a
// non-retryable error; ctx.Err() when ctx was cancelled; an error matching
// ErrNotDelivered when records were lost for want of a dead-letter sink.
func (p *Producer) PutRecordBatch(ctx context.Context, recs []Record) (BatchResult, error) {
	res := BatchResult{Records: make([]RecordResult, len(recs))}
	for i, r := range recs {
		res.Records[i] = RecordResult{Seq: r.Seq, Source: r.Source}
	}
	rejected := make([]bool, len(recs))
	settled := make([]bool, len(recs))
	err := p.run(ctx, SliceSource(recs), true, func(idx int, id, reason string, rej bool, err error) {
		rr := &res.Records[idx]
		rr.RecordID, rr.Reason, rr.Err = id, reason, err
		rejected[idx], settled[idx] = rej, true
	})
	err = errors.Join(err, p.settleUnread(ctx, recs, res.Records, settled, err))
	for i := range res.Records {
		switch rr := &res.Records[i]; {
		case rejected[i]:
			res.Rejected++
		case rr.Err != nil:
			res.DeadLettered++
		default:
			res.Delivered++
		}
	}
	return res, err
}

// settleUnread dead-letters the records a stopped PutRecordBatch never
// read, so the caller's records are all accounted for.
func (p *Producer) settleUnread(ctx context.Context, recs []Record, results []RecordResult, settled []bool, runErr error) error {
	var entries []entry
	for i := range recs {
		if !settled[i] {
			entries = append(entries, p.singleEntry(recs[i], i))
		}
	}
	if len(entries) == 0 {
		return nil
	}
	reason := ReasonShutdown
	var fatal *FatalError
	if errors.As(runErr, &fatal) {
		reason = ReasonFatal
	}
	p.stats.submitted.Add(int64(len(entries)))
	u := p.giveUp(ctx, entries, reason, "", "not sent: the call stopped before this record", false)
	for _, e := range entries {
		pt := e.parts[0]
		rr := &results[pt.idx]
		rr.Reason = reason
		if fatal != nil {
			rr.Err = fatal
		} else {
			rr.Err = fmt.Errorf("%w: record %s: %s before it was sent", ErrNotDelivered, recordName(pt.seq, pt.source), reason)
		}
	}
	if u.lostNoSink > 0 && !errors.Is(runErr, ErrNotDelivered) {
		return fmt.Errorf("%w: %d records not sent, and no dead-letter sink is configured", ErrNotDelivered, u.lostNoSink)
	}
	return u.err
}

// Send reads src until io.EOF and sends every record: batches form as
// records arrive (see Linger), Concurrency workers send them under the
// limiter, failed entries are resent after a back-off. It returns when every
// record read has been delivered, dead-lettered or rejected.
//
// It returns nil when all were delivered or dead-lettered/rejected into the
// sink without a fatal error (look at Stats); a *FatalError on a
// non-retryable error, after it stopped reading and dead-lettered what was
// queued (reason "fatal-error"); ctx.Err() when ctx was cancelled, after it
// stopped reading, let requests in flight finish (bounded by
// ShutdownTimeout) and dead-lettered the rest (reason "shutdown"); the
// Source's error when reading failed, after sending what was read; and an
// error matching ErrNotDelivered when records were dead-lettered or rejected
// with no sink configured. Sink failures are joined to the result
// (ErrDeadLetterWrite).
func (p *Producer) Send(ctx context.Context, src Source) error {
	return p.run(ctx, src, false, nil)
}

// resultFunc receives the outcome of the record read at position idx.
type resultFunc func(idx int, recordID, reason string, rejected bool, err error)

type readItem struct {
	rec Record
	idx int
}

// run is one Send or PutRecordBatch call.
type run struct {
	p           *Producer
	onResult    resultFunc
	fillBatches bool

	recCh  chan readItem
	workCh chan *batch
	retry  *retryQueue

	// outstanding counts records read and not yet finished, plus one for the
	// reader while it runs; allDone closes when it reaches zero.
	outstanding         atomic.Int64
	outstandingBytes    atomic.Int64
	maxOutstanding      int64
	maxOutstandingBytes int64
	space               chan struct{}
	allDone             chan struct{}
	// readerWaiting is set while the reader waits for space; wake tells the
	// batcher so. With packing, one open batch can hold more input records
	// than the bound, so the batcher must then send it at once rather than
	// wait for records that cannot come (or for Linger).
	readerWaiting atomic.Bool
	wake          chan struct{}

	runCtx context.Context // cancelled on stop: reading and limiter waits
	reqCtx context.Context // API calls: survives ctx, ends on ShutdownTimeout or Abort

	stopCh     chan struct{}
	stopOnce   sync.Once
	stopReason string
	stopErr    error
	cancelRun  context.CancelFunc

	mu         sync.Mutex
	fatal      *FatalError
	readErr    error
	sinkErr    error
	lostNoSink int64
}

// run sends what src yields. fillBatches (for PutRecordBatch, whose records
// are all in memory) turns Linger off: batches go when full or at the end.
func (p *Producer) run(ctx context.Context, src Source, fillBatches bool, onResult resultFunc) error {
	if p.abortCtx.Err() != nil {
		return ErrAborted
	}
	cfg := p.cfg
	inFlightBatches := int64(3*cfg.concurrency + 2)
	r := &run{
		p:                   p,
		onResult:            onResult,
		fillBatches:         fillBatches,
		recCh:               make(chan readItem, 1024),
		workCh:              make(chan *batch, 2*cfg.concurrency),
		retry:               newRetryQueue(),
		maxOutstanding:      inFlightBatches * int64(cfg.maxBatchRecords) * int64(max(1, cfg.packTarget/64)),
		maxOutstandingBytes: inFlightBatches * int64(cfg.maxBatchBytes),
		space:               make(chan struct{}, 1),
		wake:                make(chan struct{}, 1),
		allDone:             make(chan struct{}),
		stopCh:              make(chan struct{}),
	}
	if cfg.packTarget == 0 {
		r.maxOutstanding = inFlightBatches * int64(cfg.maxBatchRecords)
	}
	r.outstanding.Store(1)
	var cancelRun context.CancelFunc
	r.runCtx, cancelRun = context.WithCancel(ctx)
	r.cancelRun = cancelRun
	defer cancelRun()
	reqCtx, _, release := p.requestContext(ctx)
	defer release()
	r.reqCtx = reqCtx
	stopOnCancel := context.AfterFunc(ctx, func() { r.stop(ReasonShutdown, ctx.Err()) })
	defer stopOnCancel()
	stopOnAbort := context.AfterFunc(p.abortCtx, func() { r.stop(ReasonShutdown, ErrAborted) })
	defer stopOnAbort()

	var wg sync.WaitGroup
	wg.Go(func() { r.readLoop(src) })
	wg.Go(r.batchLoop)
	for range cfg.concurrency {
		wg.Go(r.workLoop)
	}
	wg.Wait()
	// A stop that comes now (ctx cancelled or Abort as the run ends) must
	// not change the outcome, nor race with result: an empty Do waits for
	// a stop in progress and makes any later one a no-op.
	r.stopOnce.Do(func() {})
	return r.result(ctx)
}

// stop ends the run early: no more reading or sending; what is not
// delivered is dead-lettered with reason.
func (r *run) stop(reason string, err error) {
	r.stopOnce.Do(func() {
		r.stopReason, r.stopErr = reason, err
		close(r.stopCh)
		r.cancelRun()
	})
}

func (r *run) stopped() bool {
	select {
	case <-r.stopCh:
		return true
	default:
		return false
	}
}

// reason is the dead-letter reason for records caught by a stop.
func (r *run) reason() string {
	if r.stopped() {
		return r.stopReason
	}
	return ReasonShutdown
}

func (r *run) result(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var main error
	switch {
	case r.fatal != nil:
		main = r.fatal
	case r.stopErr != nil && ctx.Err() != nil:
		main = ctx.Err()
	case r.stopErr != nil:
		main = r.stopErr
	case r.readErr != nil:
		main = r.readErr
	}
	var lost error
	if r.lostNoSink > 0 {
		lost = fmt.Errorf("%w: %d records dead-lettered or rejected, and no dead-letter sink is configured", ErrNotDelivered, r.lostNoSink)
	}
	return errors.Join(main, r.sinkErr, lost)
}

// finished releases records and bytes from the outstanding count.
func (r *run) finished(records, bytes int) {
	left := r.outstanding.Add(-int64(records))
	leftBytes := r.outstandingBytes.Add(-int64(bytes))
	if left == 0 {
		close(r.allDone)
		return
	}
	if left < r.maxOutstanding && leftBytes < r.maxOutstandingBytes {
		select {
		case r.space <- struct{}{}:
		default:
		}
	}
}

func entriesSize(entries []entry) (records, bytes int) {
	for i := range entries {
		records += len(entries[i].parts)
		bytes += len(entries[i].data)
	}
	return records, bytes
}

// giveUp dead-letters (or rejects) entries and finishes them.
func (r *run) giveUp(entries []entry, reason, code, msg string, rejected bool) {
	if len(entries) == 0 {
		return
	}
	u := r.p.giveUp(r.runCtx, entries, reason, code, msg, rejected)
	r.mu.Lock()
	r.lostNoSink += u.lostNoSink
	if u.err != nil {
		r.sinkErr = errors.Join(r.sinkErr, u.err)
	}
	fatal := r.fatal
	r.mu.Unlock()
	if r.onResult != nil {
		for i := range entries {
			e := &entries[i]
			for _, pt := range e.parts {
				var err error
				switch {
				case reason == ReasonFatal && fatal != nil:
					err = fatal
				case reason == ReasonTooLarge:
					err = tooLargeError(Record{Seq: pt.seq, Source: pt.source}, len(e.data))
				default:
					c := e.code
					if c == "" {
						c = code
					}
					err = fmt.Errorf("%w: record %s: %s after %d attempts (last error %q)", ErrNotDelivered,
						recordName(pt.seq, pt.source), reason, e.attempts, c)
				}
				r.onResult(pt.idx, "", reason, rejected, err)
			}
		}
	}
	records, bytes := entriesSize(entries)
	r.finished(records, bytes)
}

// readLoop reads src and hands records to the batcher, waiting while too
// many records are outstanding so memory stays bounded whatever the input.
func (r *run) readLoop(src Source) {
	defer r.finished(1, 0) // the reader's own token
	defer close(r.recCh)
	appendNL := r.p.cfg.appendNewline
	for idx := 0; ; {
		for r.outstanding.Load() >= r.maxOutstanding || r.outstandingBytes.Load() >= r.maxOutstandingBytes {
			r.readerWaiting.Store(true)
			select {
			case r.wake <- struct{}{}:
			default:
			}
			select {
			case <-r.space:
			case <-r.stopCh:
				return
			}
		}
		r.readerWaiting.Store(false)
		if r.stopped() {
			return
		}
		rec, err := src.Next(r.runCtx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			var invalid *InvalidRecordError
			if errors.As(err, &invalid) {
				r.p.stats.submitted.Add(1)
				r.reject(invalid.Record, idx, invalid.Reason, invalid.Error())
				idx++
				continue
			}
			if !r.stopped() {
				r.mu.Lock()
				r.readErr = fmt.Errorf("read records: %w", err)
				r.mu.Unlock()
			}
			return
		}
		r.p.stats.submitted.Add(1)
		size := wireSize(appendNL, rec.Data)
		if size > MaxRecordBytes {
			r.reject(rec, idx, ReasonTooLarge, tooLargeError(rec, size).Error())
			idx++
			continue
		}
		r.outstanding.Add(1)
		r.outstandingBytes.Add(int64(size))
		select {
		case r.recCh <- readItem{rec: rec, idx: idx}:
		case <-r.stopCh:
			r.giveUp([]entry{r.p.singleEntry(rec, idx)}, r.reason(), "", "", false)
			return
		}
		idx++
	}
}

// reject dead-letters a record refused before sending; it was never counted
// as outstanding.
func (r *run) reject(rec Record, idx int, reason, msg string) {
	e := r.p.singleEntry(rec, idx)
	u := r.p.giveUp(r.runCtx, []entry{e}, reason, "", msg, true)
	r.mu.Lock()
	r.lostNoSink += u.lostNoSink
	if u.err != nil {
		r.sinkErr = errors.Join(r.sinkErr, u.err)
	}
	r.mu.Unlock()
	if r.onResult != nil {
		var err error
		if reason == ReasonTooLarge {
			err = tooLargeError(rec, len(e.data))
		} else {
			err = fmt.Errorf("%w: record %s rejected: %s: %s", ErrNotDelivered, recordName(rec.Seq, rec.Source), reason, msg)
		}
		r.onResult(idx, "", reason, true, err)
	}
}

// batcher turns records and due retries into batches.
type batcher struct {
	r       *run
	builder batchBuilder
	pack    packer
	packing bool
	arena   arena
	newline bool
}

// entryFor makes the entry of one record, its bytes copied into the arena
// (the Source may reuse its buffers) with the newline appended if needed.
func (b *batcher) entryFor(it readItem) entry {
	nl := needsNewline(b.newline, it.rec.Data)
	n := len(it.rec.Data)
	size := n
	if nl {
		size++
	}
	data := append(b.arena.alloc(size), it.rec.Data...)
	if nl {
		data = append(data, '\n')
	}
	return entry{data: data, parts: b.arena.onePart(part{seq: it.rec.Seq, source: it.rec.Source, idx: it.idx, end: n})}
}

// addRecord adds one input record; it returns false if the run stopped
// while a batch waited for a worker.
func (b *batcher) addRecord(it readItem) bool {
	if !b.packing {
		return b.addEntry(b.entryFor(it))
	}
	nl := needsNewline(b.newline, it.rec.Data)
	size := len(it.rec.Data)
	if nl {
		size++
	}
	if !b.pack.fits(size) && !b.addEntry(b.pack.take()) {
		b.r.giveUp([]entry{b.entryFor(it)}, b.r.reason(), "", "", false)
		return false
	}
	b.pack.add(part{seq: it.rec.Seq, source: it.rec.Source, idx: it.idx}, it.rec.Data, nl)
	if b.pack.full() {
		return b.addEntry(b.pack.take())
	}
	return true
}

// addEntry adds an entry to the current batch, sending the batch first if
// the entry does not fit and afterwards if it is full.
func (b *batcher) addEntry(e entry) bool {
	if !b.builder.fits(len(e.data)) && !b.r.emit(b.builder.take()) {
		b.r.giveUp([]entry{e}, b.r.reason(), "", "", false)
		return false
	}
	b.builder.add(e)
	if b.builder.full() {
		return b.r.emit(b.builder.take())
	}
	return true
}

// flush sends what is pending, the open pack included.
func (b *batcher) flush() bool {
	if b.packing && !b.pack.empty() && !b.addEntry(b.pack.take()) {
		return false
	}
	return b.r.emit(b.builder.take())
}

func (b *batcher) pending() bool {
	return !b.builder.empty() || (b.packing && !b.pack.empty())
}

// drop dead-letters everything pending.
func (b *batcher) drop(reason string) {
	var pending []entry
	if b.packing && !b.pack.empty() {
		pending = append(pending, b.pack.take())
	}
	if bt := b.builder.take(); bt != nil {
		pending = append(pending, bt.entries...)
	}
	b.r.giveUp(pending, reason, "", "", false)
}

// emit hands a batch to the workers; on stop it dead-letters it instead
// and returns false.
func (r *run) emit(bt *batch) bool {
	if bt == nil {
		return true
	}
	select {
	case r.workCh <- bt:
		return true
	case <-r.stopCh:
		r.giveUp(bt.entries, r.reason(), "", "", false)
		return false
	}
}

// batchLoop forms batches from records as they arrive and from retries as
// they fall due, and sends a batch when it is full, when Linger has passed
// since it started, or at once when the input has ended.
func (r *run) batchLoop() {
	defer close(r.workCh)
	cfg := r.p.cfg
	b := &batcher{
		r:       r,
		builder: newBatchBuilder(cfg.maxBatchRecords, cfg.maxBatchBytes),
		pack:    packer{target: cfg.packTarget},
		packing: cfg.packTarget > 0,
		newline: cfg.appendNewline,
	}
	lingerTimer := time.NewTimer(time.Hour)
	lingerTimer.Stop()
	defer lingerTimer.Stop()
	var lingerC <-chan time.Time
	disarm := func() {
		lingerTimer.Stop()
		lingerC = nil
	}
	recCh := r.recCh
	ok := true
	for ok {
		select {
		case it, open := <-recCh:
			if !open {
				recCh = nil
				ok = b.flush()
				disarm()
				continue
			}
			ok = b.addRecord(it)
			switch {
			case !ok:
			case !b.pending():
				disarm()
			case len(recCh) == 0 && r.readerWaiting.Load():
				ok = b.flush()
				disarm()
			case r.fillBatches:
			case cfg.linger == 0 && len(recCh) == 0:
				ok = b.flush()
				disarm()
			case lingerC == nil:
				lingerTimer.Reset(cfg.linger)
				lingerC = lingerTimer.C
			}
		case <-r.retry.notify:
			ready := r.retry.takeReady()
			for i := range ready {
				if ok = b.addEntry(ready[i]); !ok {
					r.giveUp(ready[i+1:], r.reason(), "", "", false)
					break
				}
			}
			switch {
			case !ok:
			case recCh == nil || cfg.linger == 0:
				ok = b.flush()
				disarm()
			case b.pending() && lingerC == nil:
				lingerTimer.Reset(cfg.linger)
				lingerC = lingerTimer.C
			}
		case <-lingerC:
			lingerC = nil
			ok = b.flush()
		case <-r.wake:
			// The reader waits for space: what is pending cannot grow
			// until it is sent. Records still in recCh are handled above.
			if len(recCh) == 0 && b.pending() {
				ok = b.flush()
				disarm()
			}
		case <-r.allDone:
			return
		case <-r.stopCh:
			ok = false
		}
	}
	// Stopped: dead-letter what is pending, waiting for a retry, or still
	// in the reader's channel.
	reason := r.reason()
	b.drop(reason)
	r.giveUp(r.retry.closeAndDrain(), reason, "", "", false)
	if recCh != nil {
		for it := range recCh {
			r.giveUp([]entry{b.entryFor(it)}, reason, "", "", false)
		}
	}
}

// worker state reused across requests.
type worker struct {
	recs  []types.Record
	input firehose.PutRecordBatchInput
}

func (r *run) workLoop() {
	w := &worker{recs: make([]types.Record, 0, r.p.cfg.maxBatchRecords)}
	w.input.DeliveryStreamName = &r.p.stream
	for bt := range r.workCh {
		r.sendBatch(w, bt)
	}
}

// sendBatch makes one PutRecordBatch call and settles every entry:
// delivered, requeued for a retry, or dead-lettered.
func (r *run) sendBatch(w *worker, bt *batch) {
	p := r.p
	entries := bt.entries
	if r.stopped() {
		r.giveUp(entries, r.reason(), "", "", false)
		return
	}
	if err := p.limiter.wait(r.runCtx, len(entries), bt.bytes); err != nil {
		r.giveUp(entries, r.reason(), "", "", false)
		return
	}
	start := time.Now()
	markAttempt(p, entries, start)
	w.recs = w.recs[:0]
	for i := range entries {
		w.recs = append(w.recs, types.Record{Data: entries[i].data})
	}
	w.input.Records = w.recs
	out, err := p.client.PutRecordBatch(r.reqCtx, &w.input, withoutSDKRetries)
	latency := time.Since(start)
	clear(w.recs) // drop references to record data
	if err != nil {
		r.requestFailed(entries, err, start)
		return
	}
	p.countCall(&p.stats.putRecordBatchCalls, latency)
	attempts := entries[0].attempts
	if out.FailedPutCount != nil {
		p.stats.failedPutCount.Add(int64(*out.FailedPutCount))
	}
	var failed []entry
	var throttled, delivered, deliveredFH, deliveredBytes int
	var billedBytes int64
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
			}
			e.unknown = false
			failed = append(failed, *e)
			continue
		}
		delivered += len(e.parts)
		deliveredFH++
		deliveredBytes += len(e.data)
		billedBytes += billed(len(e.data))
		if r.onResult != nil {
			id := deref(resp.RecordId)
			for _, pt := range e.parts {
				r.onResult(pt.idx, id, "", false, nil)
			}
		}
	}
	p.countDelivered(delivered, deliveredFH, deliveredBytes, billedBytes)
	if throttled > 0 {
		p.stats.throttledRecords.Add(int64(throttled))
		if p.limiter.throttled(start) {
			recs, bytes := p.limiter.limits()
			p.log.LogAttrs(r.runCtx, slog.LevelInfo, "throttled: slowing down",
				slog.Int("throttled", throttled), slog.Float64("records_per_second", recs), slog.Float64("bytes_per_second", bytes))
		}
	} else {
		p.limiter.succeeded()
	}
	if p.log.Enabled(r.runCtx, p.cfg.callLogLevel) {
		p.log.LogAttrs(r.runCtx, p.cfg.callLogLevel, "PutRecordBatch",
			slog.Int("records", len(entries)), slog.Int("failed", len(failed)), slog.Int("bytes", bt.bytes),
			slog.Duration("latency", latency), slog.Int("attempt", attempts))
	}
	_, deliveredDataBytes := delivered, deliveredBytes
	r.finished(delivered, deliveredDataBytes)
	if len(failed) > 0 {
		r.requeue(failed)
	}
}

// requestFailed settles the entries of a PutRecordBatch call that failed as
// a whole.
func (r *run) requestFailed(entries []entry, err error, start time.Time) {
	p := r.p
	p.stats.putRecordBatchCalls.Add(1)
	p.stats.requestErrors.Add(1)
	c := classifyCall(r.reqCtx, err)
	for i := range entries {
		entries[i].code, entries[i].msg, entries[i].unknown = c.code, c.msg, c.unknownOutcome
	}
	switch {
	case c.class == classFatal:
		fe := p.fatalError(c, err)
		r.mu.Lock()
		if r.fatal == nil {
			r.fatal = fe
			r.mu.Unlock()
			p.log.LogAttrs(r.runCtx, slog.LevelError, "fatal error: stopping",
				slog.String("error_code", c.code), slog.Any("error", fe))
		} else {
			r.mu.Unlock()
		}
		r.stop(ReasonFatal, fe)
		r.giveUp(entries, ReasonFatal, "", "", false)
		return
	case c.class == classCanceled || r.stopped():
		r.giveUp(entries, r.reason(), "", "", false)
		return
	case c.class == classThrottle:
		p.stats.throttledRecords.Add(int64(len(entries)))
		p.limiter.throttled(start)
	}
	p.log.LogAttrs(r.runCtx, slog.LevelInfo, "PutRecordBatch failed",
		slog.String("error_code", c.code), slog.Int("records", len(entries)), slog.Bool("outcome_unknown", c.unknownOutcome))
	r.requeue(entries)
}

// markAttempt counts a new try of every entry. A resend after a try whose
// outcome was unknown may store the entry once more: each such resend adds
// the entry's records to PossibleDuplicates, so an entry whose responses were
// lost twice counts twice, as it may be stored three times.
func markAttempt(p *Producer, entries []entry, now time.Time) {
	resent, possibleDups := 0, 0
	for i := range entries {
		e := &entries[i]
		e.attempts++
		if e.attempts == 1 {
			e.first = now
		} else {
			resent += len(e.parts)
		}
		if e.unknown {
			e.unknown = false
			possibleDups += len(e.parts)
		}
	}
	if resent > 0 {
		p.stats.retries.Add(int64(resent))
	}
	if possibleDups > 0 {
		p.stats.possibleDuplicates.Add(int64(possibleDups))
	}
}

// requeue schedules failed entries for a retry after a back-off, or
// dead-letters them when they have used their attempts or time.
func (r *run) requeue(entries []entry) {
	p := r.p
	if r.stopped() {
		r.giveUp(entries, r.reason(), "", "", false)
		return
	}
	now := time.Now()
	var exhausted []entry
	groups := map[int][]entry{}
	for _, e := range entries {
		if e.attempts >= p.cfg.maxAttempts {
			exhausted = append(exhausted, e)
			continue
		}
		groups[e.attempts] = append(groups[e.attempts], e)
	}
	for attempts, group := range groups {
		delay := p.backoff.delay(attempts)
		var keep []entry
		for _, e := range group {
			if now.Add(delay).Sub(e.first) > p.cfg.maxRetryTime {
				exhausted = append(exhausted, e)
			} else {
				keep = append(keep, e)
			}
		}
		if len(keep) == 0 {
			continue
		}
		records, _ := entriesSize(keep)
		p.log.LogAttrs(r.runCtx, slog.LevelInfo, "retrying records",
			slog.Int("records", records), slog.Int("attempt", attempts+1), slog.Duration("delay", delay),
			slog.String("error_code", keep[0].code), slog.Int64("seq", keep[0].parts[0].seq))
		if !r.retry.add(keep, delay) {
			r.giveUp(keep, r.reason(), "", "", false)
		}
	}
	if len(exhausted) > 0 {
		r.giveUp(exhausted, ReasonRetriesExhausted, "", "", false)
	}
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// retryQueue holds failed entries during their back-off. Each group waits on
// its own timer; when it falls due it moves to the ready list and the
// batcher is notified. Closing it hands back everything still held.
type retryQueue struct {
	mu      sync.Mutex
	closed  bool
	waiting map[*retryGroup]struct{}
	ready   []entry
	notify  chan struct{}
}

type retryGroup struct {
	entries []entry
	timer   *time.Timer
}

func newRetryQueue() *retryQueue {
	return &retryQueue{waiting: map[*retryGroup]struct{}{}, notify: make(chan struct{}, 1)}
}

// add schedules entries after delay; false when the queue is closed.
func (q *retryQueue) add(entries []entry, delay time.Duration) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	g := &retryGroup{entries: entries}
	q.waiting[g] = struct{}{}
	g.timer = time.AfterFunc(delay, func() { q.due(g) })
	return true
}

func (q *retryQueue) due(g *retryGroup) {
	q.mu.Lock()
	if _, ok := q.waiting[g]; !ok {
		q.mu.Unlock()
		return
	}
	delete(q.waiting, g)
	q.ready = append(q.ready, g.entries...)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// takeReady returns the entries whose back-off is over.
func (q *retryQueue) takeReady() []entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.ready
	q.ready = nil
	return out
}

// closeAndDrain closes the queue and returns every entry it holds.
func (q *retryQueue) closeAndDrain() []entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	var out []entry
	for g := range q.waiting {
		g.timer.Stop()
		out = append(out, g.entries...)
	}
	q.waiting = nil
	out = append(out, q.ready...)
	q.ready = nil
	return out
}
