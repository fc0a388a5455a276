package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Source yields records for Send. Next returns io.EOF at the end. If it
// returns an error that is (errors.As) *InvalidRecordError, Send rejects that
// record and goes on; any other error stops reading: what was read is still
// sent, then Send returns the error. Next must return promptly once ctx is
// cancelled, because Send waits for the reader before returning.
type Source interface {
	Next(ctx context.Context) (Record, error)
}

// SliceSource returns a Source that yields recs in order, then io.EOF.
func SliceSource(recs []Record) Source { return &sliceSource{recs: recs} }

type sliceSource struct {
	recs []Record
	next int
}

func (s *sliceSource) Next(ctx context.Context) (Record, error) {
	if s.next >= len(s.recs) {
		return Record{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	r := s.recs[s.next]
	s.next++
	return r, nil
}

// BatchResult is the outcome of PutRecordBatch: one RecordResult per input
// record, in input order, and counts.
type BatchResult struct {
	Records                           []RecordResult
	Delivered, DeadLettered, Rejected int
}

// call follows the records one Send or PutRecordBatch call added, until
// each is settled, and gathers what its error must say.
type call struct {
	left  atomic.Int64 // records not yet settled, plus one until sealed
	ended chan struct{}

	mu         sync.Mutex
	lostNoSink int64
	sinkErr    error
	fatal      error
	record     func(RecordResult) // optional: also keep each outcome
}

func newCall() *call {
	c := &call{ended: make(chan struct{})}
	c.left.Store(1)
	return c
}

// settled is every record's promise.
func (c *call) settled(r RecordResult) {
	if r.Err != nil {
		c.mu.Lock()
		var fatal *FatalError
		switch {
		case errors.Is(r.Err, ErrDeadLetterWrite):
			if c.sinkErr == nil {
				c.sinkErr = r.Err
			}
		case errors.As(r.Err, &fatal):
			c.fatal = fatal
		}
		if errors.Is(r.Err, errNoSink) {
			c.lostNoSink++
		}
		c.mu.Unlock()
	}
	if c.record != nil {
		c.record(r)
	}
	c.done()
}

func (c *call) added() { c.left.Add(1) }

func (c *call) done() {
	if c.left.Add(-1) == 0 {
		close(c.ended)
	}
}

// wait seals the call and waits until all its records are settled. The
// producer is flushing meanwhile, so partial batches go at once. If the
// pipeline ends first, every record it held was settled; a record still
// counted then would be a bug, reported as such rather than waited for.
func (p *Producer) waitCall(ctx context.Context, c *call) error {
	p.flushing.Add(1)
	defer p.flushing.Add(-1)
	p.requestFlush()
	c.done()
	select {
	case <-c.ended:
		return nil
	case <-ctx.Done():
		// Cancelling a synchronous call shuts the producer down; its
		// records are settled by the shutdown.
		p.stop(ctx.Err())
		select {
		case <-c.ended:
			return nil
		case <-p.done:
		}
	case <-p.done:
	}
	select {
	case <-c.ended:
		return nil
	default:
		return fmt.Errorf("producer bug: %d records unsettled after the pipeline ended", c.left.Load())
	}
}

// err is the call's error: the main cause, then sink failures, then records
// lost for want of a sink.
func (c *call) err(main error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if main == nil && c.fatal != nil {
		main = c.fatal
	}
	var lost error
	if c.lostNoSink > 0 {
		lost = fmt.Errorf("%w: %d records dead-lettered or rejected, and no dead-letter sink is configured", ErrNotDelivered, c.lostNoSink)
	}
	return errors.Join(main, c.sinkErr, lost)
}

// Send reads src until io.EOF, adds every record and waits until each is
// delivered, dead-lettered or rejected. It is a loop of Add over the same
// pipeline: batches form across calls (see Linger), workers send them under
// the limiter, failed entries are resent after a back-off.
//
// Cancelling ctx shuts the producer down (as Close with a done context):
// Send stops reading, requests in flight get ShutdownTimeout to finish, the
// rest is dead-lettered (reason "shutdown"), and it returns ctx.Err().
//
// It returns nil when every record was delivered or dead-lettered/rejected
// into the sink without a fatal error (look at Stats); a *FatalError on a
// non-retryable error, after it stopped reading and dead-lettered what was
// queued (reason "fatal-error"); the Source's error when reading failed,
// after sending what was read; and an error matching ErrNotDelivered when
// records were dead-lettered or rejected with no sink configured. Sink
// failures are joined to the result (ErrDeadLetterWrite).
func (p *Producer) Send(ctx context.Context, src Source) error {
	c := newCall()
	readErr := p.readAll(ctx, src, c)
	if ctx.Err() != nil {
		p.shutdown(ctx.Err())
	}
	if err := p.waitCall(ctx, c); err != nil {
		return err
	}
	main := readErr
	if err := ctx.Err(); err != nil {
		main = err
	} else if err := p.stopErr(); err != nil && main == nil && !errors.Is(err, ErrClosed) {
		main = err
	}
	return c.err(main)
}

// readAll adds what src yields to c until EOF, a read error (returned), a
// stop or ctx's end.
func (p *Producer) readAll(ctx context.Context, src Source, c *call) error {
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.runCtx, cancel)()
	for {
		rec, err := src.Next(readCtx)
		if err != nil {
			var invalid *InvalidRecordError
			switch {
			case errors.Is(err, io.EOF):
				return nil
			case errors.As(err, &invalid):
				c.added()
				_ = p.reject(invalid.Record, invalid.Reason, invalid.Err, c.settled) // a sink failure reaches c through the record's outcome
				continue
			case readCtx.Err() != nil:
				return nil
			default:
				return fmt.Errorf("read records: %w", err)
			}
		}
		c.added()
		if err := p.add(ctx, rec, c.settled); err != nil {
			// Not taken: the producer stopped or ctx ended. The record was
			// read, so it is settled here, as the stop would have.
			p.settleNotTaken(rec, c.settled)
			return nil
		}
	}
}

// PutRecordBatch sends any number of records synchronously through the
// pipeline: it adds them all, then waits until each is delivered,
// dead-lettered or rejected, and returns every record's outcome. Partial
// batches go at once (no Linger). The error is as Send's; cancelling ctx
// shuts the producer down as it does for Send.
func (p *Producer) PutRecordBatch(ctx context.Context, recs []Record) (BatchResult, error) {
	res := BatchResult{Records: make([]RecordResult, len(recs))}
	c := newCall()
	var stopped error
	p.filling.Add(1)
	for i, r := range recs {
		res.Records[i] = RecordResult{Seq: r.Seq, Source: r.Source, End: r.End}
		c.added()
		rr := &res.Records[i]
		done := func(out RecordResult) { *rr = out; c.settled(out) }
		if stopped == nil {
			if err := p.add(ctx, r, done); err != nil {
				stopped = err
			} else {
				continue
			}
		}
		p.settleNotTaken(r, done)
	}
	p.filling.Add(-1)
	if ctx.Err() != nil {
		p.shutdown(ctx.Err())
	}
	if err := p.waitCall(ctx, c); err != nil {
		return res, err
	}
	for i := range res.Records {
		switch rr := &res.Records[i]; {
		case rr.Rejected:
			res.Rejected++
		case rr.Err != nil:
			res.DeadLettered++
		default:
			res.Delivered++
		}
	}
	main := stopped
	if err := ctx.Err(); err != nil {
		main = err
	}
	return res, c.err(main)
}

// settleNotTaken settles a record a synchronous call holds but Add did not
// take because the producer stopped: it was handed over, so it is counted
// and settled as the stop settles the others.
func (p *Producer) settleNotTaken(rec Record, done func(RecordResult)) {
	p.stats.submitted.Add(1)
	p.giveUp([]entry{p.singleEntry(rec, done)}, p.stopReason(), "", "not sent: the producer stopped before this record", false)
}
