package producer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

func TestPutRecordBatchDeliversAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n         int
		wantCalls []int
	}{
		{name: "empty input", n: 0, wantCalls: nil},
		{name: "one record", n: 1, wantCalls: []int{1}},
		{name: "exactly 500", n: 500, wantCalls: []int{500}},
		{name: "501 makes two calls", n: 501, wantCalls: []int{500, 1}},
		{name: "1234", n: 1234, wantCalls: []int{500, 500, 234}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := &fakeClient{}
			p := newTestProducer(t, fc, Concurrency(1))
			res, err := p.PutRecordBatch(context.Background(), makeRecords(tc.n))
			if err != nil {
				t.Fatalf("PutRecordBatch: %v", err)
			}
			var got []int
			var all []string
			for _, c := range fc.calls() {
				got = append(got, len(c))
				all = append(all, c...)
			}
			if !slices.Equal(got, tc.wantCalls) {
				t.Errorf("call sizes = %v, want %v", got, tc.wantCalls)
			}
			if res.Delivered != tc.n || len(res.Records) != tc.n {
				t.Errorf("delivered %d of %d results, want %d", res.Delivered, len(res.Records), tc.n)
			}
			for i, s := range all {
				if want := "r" + itoa(i+1) + "\n"; s != want {
					t.Fatalf("record %d sent as %q, want %q (order and newline)", i, s, want)
				}
			}
			for _, rr := range res.Records {
				if rr.Err != nil || rr.RecordID == "" {
					t.Fatalf("record %d: id %q err %v", rr.Seq, rr.RecordID, rr.Err)
				}
			}
			st := p.Stats()
			checkInvariant(t, st)
			if st.Delivered != int64(tc.n) || st.PutRecordBatchCalls != int64(len(tc.wantCalls)) {
				t.Errorf("stats delivered %d calls %d", st.Delivered, st.PutRecordBatchCalls)
			}
		})
	}
}

func TestRetryOnlyFailedEntries(t *testing.T) {
	t.Parallel()
	fc := &fakeClient{}
	fc.batch = func(_ context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
		if n == 0 {
			return fc.partial(len(data), codeInternalFailure, "boom", 3, 7), nil
		}
		return nil, nil
	}
	sink := &memorySink{}
	p := newTestProducer(t, fc, Concurrency(1), DeadLetterTo(sink))
	res, err := p.PutRecordBatch(context.Background(), makeRecords(10))
	if err != nil {
		t.Fatalf("PutRecordBatch: %v", err)
	}
	calls := fc.calls()
	if len(calls) != 2 {
		t.Fatalf("got %d calls, want 2", len(calls))
	}
	if want := []string{"r4\n", "r8\n"}; !slices.Equal(calls[1], want) {
		t.Errorf("second call carried %q, want %q", calls[1], want)
	}
	if res.Delivered != 10 {
		t.Errorf("delivered %d, want 10", res.Delivered)
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.Retries != 2 || st.FailedPutCount != 2 || st.ThrottledRecords != 0 {
		t.Errorf("retries %d failedPutCount %d throttled %d, want 2 2 0", st.Retries, st.FailedPutCount, st.ThrottledRecords)
	}
	if len(sink.all()) != 0 {
		t.Errorf("dead letters %v, want none", sink.all())
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		withSink bool
	}{
		{name: "with sink", withSink: true},
		{name: "without sink", withSink: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := &fakeClient{}
			fc.batch = func(_ context.Context, _ int, data []string) (*firehose.PutRecordBatchOutput, error) {
				var bad []int
				for i, d := range data {
					if d == "r2\n" {
						bad = append(bad, i)
					}
				}
				return fc.partial(len(data), codeInternalFailure, "Try again.", bad...), nil
			}
			sink := &memorySink{}
			opts := []Option{MaxAttempts(3), Adaptive(false)}
			if tc.withSink {
				opts = append(opts, DeadLetterTo(sink))
			}
			p := newTestProducer(t, fc, opts...)
			res, err := p.PutRecordBatch(context.Background(), makeRecords(3))
			if tc.withSink && err != nil {
				t.Fatalf("with a sink the error should be nil, got %v", err)
			}
			if !tc.withSink && !errors.Is(err, ErrNotDelivered) {
				t.Fatalf("without a sink the error should match ErrNotDelivered, got %v", err)
			}
			if res.Delivered != 2 || res.DeadLettered != 1 {
				t.Errorf("delivered %d dead-lettered %d, want 2 1", res.Delivered, res.DeadLettered)
			}
			rr := res.Records[1]
			if rr.Reason != ReasonRetriesExhausted || !errors.Is(rr.Err, ErrNotDelivered) {
				t.Errorf("record 2 result: reason %q err %v", rr.Reason, rr.Err)
			}
			if got := len(fc.calls()); got != 3 {
				t.Errorf("calls %d, want 3 (MaxAttempts)", got)
			}
			st := p.Stats()
			checkInvariant(t, st)
			if st.FailedPutCount != 3 || st.DeadLettered != 1 {
				t.Errorf("failed %d dead-lettered %d, want 3 1", st.FailedPutCount, st.DeadLettered)
			}
			if tc.withSink {
				l := sink.all()
				if len(l) != 1 || l[0].Seq != 2 || string(l[0].Data) != "r2" || l[0].Attempts != 3 ||
					l[0].Reason != ReasonRetriesExhausted || l[0].ErrorCode != codeInternalFailure || l[0].ErrorMessage != "Try again." {
					t.Errorf("dead letters = %+v", l)
				}
			}
		})
	}
}

// TestThrottledTriesDoNotUseAttempts: a record throttled again and again
// ("Slow down.") is retried past MaxAttempts, until MaxRetryTime: throttling
// says the stream is at its quota, not that the record is bad.
func TestThrottledTriesDoNotUseAttempts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fc := &fakeClient{}
		fc.batch = func(_ context.Context, _ int, data []string) (*firehose.PutRecordBatchOutput, error) {
			return fc.partial(len(data), codeServiceUnavailable, "Slow down.", 0), nil
		}
		sink := &memorySink{}
		p := newTestProducer(t, fc, MaxAttempts(3), MaxRetryTime(20*time.Second), Backoff(100*time.Millisecond, time.Second),
			Adaptive(false), DeadLetterTo(sink))
		start := time.Now()
		res, err := p.PutRecordBatch(context.Background(), makeRecords(1))
		if err != nil {
			t.Fatalf("PutRecordBatch: %v", err)
		}
		calls, took := len(fc.calls()), time.Since(start)
		if res.DeadLettered != 1 || calls <= 3 || took < 15*time.Second || took > 21*time.Second {
			t.Errorf("dead-lettered %d after %d calls and %v; want 1 after more than MaxAttempts (3) calls, near MaxRetryTime (20s)",
				res.DeadLettered, calls, took)
		}
		if l := sink.all(); len(l) != 1 || l[0].Reason != ReasonRetriesExhausted {
			t.Errorf("dead letters %+v", l)
		}
	})
}

func TestFatalErrorStopsAndDeadLetters(t *testing.T) {
	t.Parallel()
	fc := &fakeClient{region: "eu-west-1"}
	fc.batch = func(context.Context, int, []string) (*firehose.PutRecordBatchOutput, error) {
		return nil, apiError("ResourceNotFoundException", "Firehose test-stream under account 1 not found.")
	}
	sink := &memorySink{}
	p := newTestProducer(t, fc, DeadLetterTo(sink), MaxBatchRecords(10))
	err := p.Send(context.Background(), SliceSource(makeRecords(100_000)))
	var fe *FatalError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFatal) {
		t.Fatalf("err = %v, want *FatalError", err)
	}
	for _, want := range []string{`stream "test-stream"`, "eu-west-1", "not found", "ResourceNotFoundException", "check the stream name and region"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err.Error(), want)
		}
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.Delivered != 0 || st.Submitted == 100_000 {
		t.Errorf("delivered %d submitted %d: should stop reading early", st.Delivered, st.Submitted)
	}
	if got := sink.reasons(); got[ReasonFatal] != int(st.DeadLettered) || len(got) != 1 {
		t.Errorf("dead-letter reasons %v, want all %q (%d)", got, ReasonFatal, st.DeadLettered)
	}
}
