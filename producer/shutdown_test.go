package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// endlessSource yields records until its context is done.
type endlessSource struct{ n int64 }

func (s *endlessSource) Next(ctx context.Context) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	s.n++
	return Record{Seq: s.n, Data: []byte(fmt.Sprintf(`{"n":%d}`, s.n))}, nil
}

func TestSendCancelDeadLettersTheRest(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	fc := &fakeClient{}
	fc.batch = func(ctx context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
		calls.Add(1)
		time.Sleep(2 * time.Millisecond)
		if n%3 == 0 {
			return fc.partial(len(data), codeServiceUnavailable, "Slow down.", 0, 1), nil
		}
		return nil, nil
	}
	sink := &memorySink{}
	// Throttling every third call is not how a quota behaves; adaptive
	// control would slow this test down for nothing.
	p := newTestProducer(t, fc, DeadLetterTo(sink), MaxBatchRecords(50), Backoff(20*time.Millisecond, 50*time.Millisecond), Adaptive(false))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for calls.Load() < 20 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := p.Send(ctx, &endlessSource{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.Delivered == 0 || st.DeadLettered == 0 {
		t.Errorf("delivered %d dead-lettered %d: want both > 0", st.Delivered, st.DeadLettered)
	}
	if got := sink.reasons(); got[ReasonShutdown] != int(st.DeadLettered) {
		t.Errorf("dead-letter reasons %v, want all %d %q", got, st.DeadLettered, ReasonShutdown)
	}
}

func TestSendInFlightFinishAfterCancel(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	fc := &fakeClient{}
	fc.batch = func(ctx context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
		if n == 0 {
			close(started)
			time.Sleep(50 * time.Millisecond)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		return nil, nil
	}
	sink := &memorySink{}
	p := newTestProducer(t, fc, DeadLetterTo(sink), Concurrency(1), MaxBatchRecords(10))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	err := p.Send(ctx, SliceSource(makeRecords(100)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.Delivered != 10 {
		t.Errorf("delivered %d, want the 10 in flight at cancel", st.Delivered)
	}
}

func TestAbortCancelsInFlight(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	fc := &fakeClient{}
	fc.batch = func(ctx context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
		if n == 0 {
			close(started)
		}
		<-ctx.Done() // hangs until cancelled
		return nil, fmt.Errorf("request: %w", ctx.Err())
	}
	sink := &memorySink{}
	p := newTestProducer(t, fc, DeadLetterTo(sink), ShutdownTimeout(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-started
		cancel()  // first signal: the hanging request keeps going
		p.Abort() // second signal: cancel it now
	}()
	done := make(chan error, 1)
	go func() { done <- p.Send(ctx, &endlessSource{}) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not return after Abort")
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.Delivered != 0 || st.DeadLettered == 0 || sink.reasons()[ReasonShutdown] != int(st.DeadLettered) {
		t.Errorf("delivered %d dead-lettered %d reasons %v", st.Delivered, st.DeadLettered, sink.reasons())
	}
	if err := p.Send(context.Background(), SliceSource(makeRecords(1))); !errors.Is(err, ErrAborted) {
		t.Errorf("Send after Abort = %v, want ErrAborted", err)
	}
}

// scriptedSource yields a fixed list of records and errors.
type scriptedSource struct {
	items []any // Record or error
	i     int
}

func (s *scriptedSource) Next(context.Context) (Record, error) {
	if s.i >= len(s.items) {
		return Record{}, io.EOF
	}
	it := s.items[s.i]
	s.i++
	if err, ok := it.(error); ok {
		return Record{}, err
	}
	return it.(Record), nil
}

func TestSendSourceErrors(t *testing.T) {
	t.Parallel()
	readFailure := errors.New("disk on fire")
	bad := &InvalidRecordError{Record: Record{Seq: 2, Source: "in.json:2", Data: []byte("{nope")}, Reason: ReasonInvalidJSON, Err: errors.New("unexpected end")}
	tests := []struct {
		name          string
		items         []any
		wantErr       error
		wantDelivered int64
		wantRejected  int64
	}{
		{name: "invalid record is rejected and reading goes on",
			items:         []any{Record{Seq: 1, Data: []byte("a")}, bad, Record{Seq: 3, Data: []byte("c")}},
			wantDelivered: 2, wantRejected: 1},
		{name: "read error stops reading but sends what was read",
			items:   []any{Record{Seq: 1, Data: []byte("a")}, readFailure, Record{Seq: 3, Data: []byte("c")}},
			wantErr: readFailure, wantDelivered: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := &fakeClient{}
			sink := &memorySink{}
			p := newTestProducer(t, fc, DeadLetterTo(sink))
			err := p.Send(context.Background(), &scriptedSource{items: tc.items})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Send = %v, want %v", err, tc.wantErr)
			}
			st := p.Stats()
			checkInvariant(t, st)
			if st.Delivered != tc.wantDelivered || st.Rejected != tc.wantRejected {
				t.Errorf("delivered %d rejected %d, want %d %d", st.Delivered, st.Rejected, tc.wantDelivered, tc.wantRejected)
			}
			if tc.wantRejected > 0 {
				l := sink.all()
				if len(l) != 1 || l[0].Seq != 2 || l[0].Reason != ReasonInvalidJSON || l[0].Source != "in.json:2" || string(l[0].Data) != "{nope" {
					t.Errorf("dead letters %+v", l)
				}
			}
		})
	}
}

// TestSendLargeInputBoundedAndAccounted streams many records through
// several workers with random per-entry failures and checks the books.
func TestSendManyRecordsWithFailures(t *testing.T) {
	t.Parallel()
	fc := &fakeClient{}
	fc.batch = func(_ context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
		switch n % 7 {
		case 3:
			return fc.partial(len(data), codeInternalFailure, "x", 0, len(data)/2, len(data)-1), nil
		case 5:
			return nil, opErr(500, apiError("InternalFailure", "whole request"))
		}
		return nil, nil
	}
	sink := &memorySink{}
	p := newTestProducer(t, fc, DeadLetterTo(sink), Concurrency(4), MaxAttempts(4))
	const n = 50_000
	if err := p.Send(context.Background(), SliceSource(makeRecords(n))); err != nil {
		t.Fatalf("Send: %v", err)
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.Submitted != n || st.Delivered+st.DeadLettered != n || st.Retries == 0 || st.RequestErrors == 0 {
		t.Errorf("stats %+v", st)
	}
	// Every record was delivered exactly once or dead-lettered.
	seen := map[string]int{}
	for _, c := range fc.calls() {
		for _, d := range c {
			seen[d]++
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct records sent, want %d", len(seen), n)
	}
	if int64(len(sink.all())) != st.DeadLettered {
		t.Errorf("%d dead letters, stats say %d", len(sink.all()), st.DeadLettered)
	}
}

// TestDeadLetterOnStopFalseLeavesRecordsUnsent: with DeadLetterOnStop(false)
// a shutdown reports what it did not deliver as unsent (ErrUnsent), writes
// nothing to the sink, and counts a record whose response was lost as a
// possible duplicate.
func TestDeadLetterOnStopFalseLeavesRecordsUnsent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fc := &fakeClient{}
		fc.batch = func(ctx context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
			if n == 0 {
				return fc.allOK(len(data)), nil
			}
			<-ctx.Done() // the second request hangs until the shutdown timeout
			return nil, ctx.Err()
		}
		sink := &memorySink{}
		var mu sync.Mutex
		results := map[string]int{}
		p, err := New(fc, "s", DeadLetterTo(sink), DeadLetterOnStop(false), MaxBatchRecords(10), Concurrency(1),
			Linger(time.Millisecond), ShutdownTimeout(time.Second), OnResult(func(r RecordResult) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.Err == nil:
					results["delivered"]++
				case errors.Is(r.Err, ErrUnsent) && r.Reason == ReasonShutdown:
					results["unsent"]++
				default:
					results["other: "+r.Err.Error()]++
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if err := p.Send(ctx, SliceSource(makeRecords(35))); !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v, want context.Canceled", err)
		}
		st := p.Stats()
		checkInvariant(t, st)
		if len(sink.all()) != 0 {
			t.Errorf("%d dead letters; unsent records stay with the caller", len(sink.all()))
		}
		mu.Lock()
		defer mu.Unlock()
		if results["delivered"] != 10 || results["unsent"] != 25 || len(results) != 2 {
			t.Errorf("outcomes %v, want 10 delivered and 25 unsent", results)
		}
		if st.Unsent != 25 || st.PossibleDuplicates != 10 {
			t.Errorf("Unsent %d, PossibleDuplicates %d; want 25 and 10 (the request cut short)", st.Unsent, st.PossibleDuplicates)
		}
	})
}
