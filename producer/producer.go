// Package producer sends records to an Amazon Data Firehose delivery stream
// correctly and fast. It is a long-lived pipeline: records are added as they
// happen (Add, from any number of goroutines) or pulled from a Source (Send),
// batched in the background across calls within the service limits (500
// records, 4 MiB per call, 1,000 KiB per record), sent by concurrent workers
// under static and adaptive (AIMD) rate limits, and only the entries that
// failed are resent, with exponential back-off and jitter. It can pack small
// records into larger Firehose records, and it never loses a record
// silently: every record added is delivered, dead-lettered or rejected, and
// its outcome reaches the caller (OnResult, AddFunc). PutRecord and
// PutRecordBatch are synchronous layers over the same pipeline.
//
// The producer never prints. It reports through an injected *slog.Logger,
// per-record outcomes, Stats, and hooks that see every API call (Hooks),
// for what Stats does not hold, such as latency percentiles.
//
// Where each concern lives: producer.go the user API (New, Add, Flush,
// Close); options.go the options; send.go Send and PutRecordBatch;
// putrecord.go PutRecord; buffer.go backpressure; batcher.go batching, linger
// and packing; worker.go one request and its response; retry.go the retry
// policy and back-off; classify.go error classification; limit.go rate
// control (adaptive.go its AIMD, ramp.go its start ramp); concurrency.go the
// adaptive in-flight limit; outcome.go settling records (delivered,
// dead-lettered, rejected, unsent) and their error text;
// stats.go accounting; hooks.go the per-call hooks; deadletter.go the
// dead-letter sink.
//
// # SDK client settings
//
// The producer turns the SDK's own retries off for its PutRecord and
// PutRecordBatch calls (whatever retryer the client has) and makes every
// resend itself: only then does it see each attempt whose response was lost,
// so that PossibleDuplicates is exact, and never counts a request that could
// not reach the service. The client's retryer still applies to every other
// call made with it.
package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// Service limits of PutRecordBatch (Firehose developer guide, quotas).
const (
	// MaxRecordBytes is the largest Firehose record, before base64: 1,000 KiB.
	MaxRecordBytes = 1_024_000
	// MaxBatchRecordsLimit is the most records one PutRecordBatch call takes.
	MaxBatchRecordsLimit = 500
	// MaxBatchBytesLimit is the most bytes (sum of record sizes before base64)
	// one PutRecordBatch call takes: one byte under 4 MiB, since the service
	// refuses a call of 4 MiB or more ("Records size exceeds 4 MB limit").
	MaxBatchBytesLimit = 4<<20 - 1
	// BilledRecordUnit is the size every Firehose record is rounded up to for
	// DirectPut ingestion billing: 5 KiB.
	BilledRecordUnit = 5120
	// DefaultPackTarget is a sensible Pack target: the record limit, 1,000 KiB.
	DefaultPackTarget = MaxRecordBytes
)

// Client is what the producer needs of *firehose.Client.
type Client interface {
	PutRecord(ctx context.Context, in *firehose.PutRecordInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordOutput, error)
	PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
}

var _ Client = (*firehose.Client)(nil)

// Record is one input record.
type Record struct {
	Seq    int64  // position in the input, 1-based; carried to delivery or dead-letter
	Source string // optional human position for messages, e.g. "data.json:12" or "data.json[11]"
	Data   []byte // the input record as read, WITHOUT the newline the producer may append
	// End is where the record ends in its input, for the caller's
	// checkpoint: the producer carries it to the record's RecordResult
	// untouched. Optional.
	End Position
}

// Position is a place in an input: a byte offset and the line there. The
// producer does not read it; see Record.End.
type Position struct {
	Offset, Line int64
}

// RecordResult is the outcome of one input record.
type RecordResult struct {
	Seq      int64
	Source   string
	End      Position // the record's End, as added
	RecordID string   // Firehose record ID when delivered; packed records share one
	Reason   string   // dead-letter reason when not delivered
	Rejected bool     // refused before sending (too large, invalid), not dead-lettered after trying
	// Err is nil when delivered; else it matches ErrNotDelivered,
	// ErrRecordTooLarge or ErrFatal, joined with ErrDeadLetterWrite when the
	// sink could not store the record.
	Err error
}

// Producer sends records to one delivery stream. It is safe for concurrent
// use: Add, Flush, Send, PutRecord, PutRecordBatch and Stats may be called
// from several goroutines; they share one pipeline, the limits and the
// statistics. New starts it; Close stops it.
type Producer struct {
	client   Client
	stream   string
	cfg      config
	log      *slog.Logger
	limiter  *limiter
	inFlight *concurrencyLimiter
	backoff  backoff
	stats    stats

	// runCtx is cancelled, with the reason as its cause, when the producer
	// stops: after Close, on a fatal error, on a shutdown (Close's or Send's
	// context done) or on Abort. Reading, waiting for space and limiter waits
	// end with it.
	runCtx context.Context
	stop   context.CancelCauseFunc
	// reqCtx carries the API calls: it outlives a stop by ShutdownTimeout so
	// requests in flight can finish, and ends at once on Abort.
	reqCtx    context.Context
	cancelReq context.CancelFunc
	closing   atomic.Bool

	buffer   buffer
	incoming incoming
	retry    *retryQueue
	work     chan *batch
	flushReq chan struct{}
	flushing atomic.Int32 // Flush or a synchronous call waits: send partial batches at once
	filling  atomic.Int32 // PutRecordBatch is adding: hold partial batches
	// batchesOut counts batches handed to the workers and not yet settled
	// or requeued.
	batchesOut atomic.Int64
	// lastContact is when the service last answered (UnixNano); New counts
	// as one.
	lastContact atomic.Int64
	done        chan struct{} // closed when the batcher and the workers have exited

	closeOnce sync.Once
	closeErr  error
}

// New returns a running Producer sending to stream through client. It
// validates the options together and returns an error matching
// ErrInvalidOption if they are not valid. Call Close when done with it.
func New(client Client, stream string, opts ...Option) (*Producer, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOption)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	cfg.applyQuota()
	if err := cfg.validate(stream); err != nil {
		return nil, err
	}
	cfg.finish()
	p := &Producer{
		client:   client,
		stream:   stream,
		cfg:      cfg,
		log:      cfg.logger.With(slog.String("stream", stream)),
		limiter:  newLimiter(cfg),
		inFlight: newConcurrencyLimiter(cfg.concurrencySettings()),
		backoff:  newBackoff(cfg.backoffInitial, cfg.backoffMax),
		retry:    newRetryQueue(),
		work:     make(chan *batch, 1),
		flushReq: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	p.buffer.init(int64(cfg.maxBufferedRecords), cfg.maxBufferedBytes)
	p.contact()
	// The records buffered follow the in-flight limit: what the requests in
	// flight carry and two batches more, so memory stays low while the limit
	// is low.
	perBatch := int64(cfg.maxBufferedRecords / (cfg.maxConcurrency + 2))
	followLimit := func(limit int) {
		if cfg.bufferFollowsLimit {
			p.buffer.setMaxRecords(min(int64(limit+2)*perBatch, int64(cfg.maxBufferedRecords)))
		}
	}
	followLimit(p.inFlight.stats().Limit)
	p.inFlight.onChange = func(from, to int, reason string) {
		followLimit(to)
		p.log.LogAttrs(context.Background(), slog.LevelDebug, "requests in flight limit",
			slog.Int("from", from), slog.Int("to", to), slog.String("reason", reason))
	}
	p.incoming.init()
	p.runCtx, p.stop = context.WithCancelCause(context.Background())
	p.reqCtx, p.cancelReq = context.WithCancel(context.Background())
	// After a stop, requests in flight get ShutdownTimeout to finish.
	context.AfterFunc(p.runCtx, func() {
		if !errors.Is(context.Cause(p.runCtx), errClosed) {
			time.AfterFunc(cfg.shutdownTimeout, p.cancelReq)
		}
	})
	var wg sync.WaitGroup
	wg.Go(p.batchLoop)
	workers := cfg.maxConcurrency
	if cfg.concurrencySet {
		workers = cfg.concurrency
	}
	for range workers {
		wg.Go(p.workLoop)
	}
	go func() {
		wg.Wait()
		p.cancelReq()
		close(p.done)
	}()
	return p, nil
}

// Validate checks stream and opts as New does, without starting anything:
// for callers that check their settings before connecting. The error
// matches ErrInvalidOption and names each option by its function's name.
func Validate(stream string, opts ...Option) error {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return cfg.validate(stream)
}

// errClosed is the stop cause after a clean Close.
var errClosed = ErrClosed

// Add queues one record and returns at once; the record is copied, so the
// caller may reuse rec.Data. It blocks only while the buffer is full (see
// MaxBufferedRecords and MaxBufferedBytes), until there is room or ctx is
// done. Batches form in the background across Add calls (see Linger). The
// record's outcome goes to the OnResult function; Flush waits for it.
//
// A record over MaxRecordBytes (newline included) is rejected at once
// (dead-letter reason "too-large") and Add returns nil: it was taken and
// settled. Add returns an error only when it did not take the record:
// ctx.Err() when ctx ended while it waited for room, ErrClosed after Close,
// the *FatalError after a fatal error stopped the producer, ErrAborted
// after Abort, or the shutdown's cause.
func (p *Producer) Add(ctx context.Context, rec Record) error {
	return p.add(ctx, rec, nil)
}

// AddFunc is Add with a function called once with this record's outcome
// (besides OnResult), from a producer goroutine: a promise, as kgo's
// Produce has. When AddFunc returns an error, done is not called.
func (p *Producer) AddFunc(ctx context.Context, rec Record, done func(RecordResult)) error {
	return p.add(ctx, rec, done)
}

func (p *Producer) add(ctx context.Context, rec Record, done func(RecordResult)) error {
	if err := p.stopErr(); err != nil {
		return err
	}
	size := wireSize(p.cfg.appendNewline, rec.Data)
	if size > MaxRecordBytes {
		p.stats.submitted.Add(1)
		e := p.singleEntry(rec, done)
		p.giveUp([]entry{e}, ReasonTooLarge, "", tooLargeError(rec, size).Error(), true)
		return nil
	}
	if err := p.buffer.acquire(ctx, p.runCtx.Done(), p.requestFlush, int64(size)); err != nil {
		if stopped := p.stopErr(); stopped != nil {
			return stopped
		}
		return err
	}
	if !p.incoming.push(rec, done, p.cfg.appendNewline) {
		p.buffer.release(1, int64(size))
		return p.stopErr()
	}
	p.stats.submitted.Add(1)
	return nil
}

// stopErr is why the producer takes no more records, or nil.
func (p *Producer) stopErr() error {
	if p.closing.Load() {
		return ErrClosed
	}
	if p.runCtx.Err() != nil {
		cause := context.Cause(p.runCtx)
		if errors.Is(cause, errClosed) {
			return ErrClosed
		}
		return cause
	}
	return nil
}

// requestFlush asks the batcher to send what it holds now, without waiting
// for Linger.
func (p *Producer) requestFlush() {
	select {
	case p.flushReq <- struct{}{}:
	default:
	}
}

// Flush waits until every record added so far (and any added meanwhile) is
// delivered, dead-lettered or rejected. While it waits, partial batches go
// at once instead of after Linger. It returns ctx.Err() if ctx ends first
// (the records stay queued), or the stop cause if the producer stopped.
func (p *Producer) Flush(ctx context.Context) error {
	p.flushing.Add(1)
	defer p.flushing.Add(-1)
	p.requestFlush()
	if err := p.buffer.waitEmpty(ctx, p.done); err != nil {
		return err
	}
	if err := p.stopErr(); err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

// Close flushes everything added, stops the producer and closes the
// dead-letter sink if it has a Close() or Close(context.Context) error
// method. If ctx ends before the flush is over, Close shuts down: records
// not yet sent are dead-lettered (reason "shutdown"), requests in flight get
// ShutdownTimeout to finish, and Close returns ctx.Err(). It is idempotent
// and returns the first result.
func (p *Producer) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closing.Store(true)
		var flushErr error
		if err := p.Flush(ctx); err != nil && p.runCtx.Err() == nil {
			flushErr = err
			p.stop(err)
		}
		p.stop(errClosed)
		<-p.done
		var sinkErr error
		switch s := p.cfg.sink.(type) {
		case interface{ Close(context.Context) error }:
			sinkErr = s.Close(context.WithoutCancel(ctx))
		case interface{ Close() error }:
			sinkErr = s.Close()
		}
		p.closeErr = errors.Join(flushErr, sinkErr)
	})
	return p.closeErr
}

// Abort is a hard stop, for a second interrupt: requests in flight are
// cancelled at once and nothing more is read or sent; every record not
// delivered is dead-lettered (reason "shutdown"). Later calls fail with
// ErrAborted. Close is still needed to close the sink.
func (p *Producer) Abort() {
	p.stop(ErrAborted)
	p.cancelReq()
}

// shutdown stops the producer early with cause: nothing more is read or
// sent, what is queued is dead-lettered, requests in flight get
// ShutdownTimeout to finish. It waits for the pipeline to end.
func (p *Producer) shutdown(cause error) {
	p.stop(cause)
	<-p.done
}

// stopReason is the dead-letter reason for records caught by a stop.
func (p *Producer) stopReason() string {
	var fatal *FatalError
	if errors.As(context.Cause(p.runCtx), &fatal) {
		return ReasonFatal
	}
	return ReasonShutdown
}
