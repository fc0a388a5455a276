package producer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stream  string
		opts    []Option
		wantErr bool
	}{
		{name: "defaults", stream: "s"},
		{name: "all valid", stream: "a-b_c.d", opts: []Option{MaxBatchRecords(1), MaxBatchBytes(MaxRecordBytes), Concurrency(16), Linger(0),
			MaxAttempts(1), MaxRetryTime(time.Second), Backoff(time.Millisecond, time.Millisecond), AppendNewline(false),
			Pack(DefaultPackTarget), MaxRecordsPerSecond(1), MaxBytesPerSecond(2048), MaxRequestsPerSecond(1), Adaptive(false),
			ShutdownTimeout(time.Second), Hooks(), Logger(slog.Default())}},
		{name: "empty stream", stream: "", wantErr: true},
		{name: "stream with a space", stream: "my stream", wantErr: true},
		{name: "stream of 65 characters", stream: strings.Repeat("s", 65), wantErr: true},
		{name: "501 records per batch", stream: "s", opts: []Option{MaxBatchRecords(501)}, wantErr: true},
		{name: "0 records per batch", stream: "s", opts: []Option{MaxBatchRecords(0)}, wantErr: true},
		{name: "batch bytes over 4 MiB", stream: "s", opts: []Option{MaxBatchBytes(MaxBatchBytesLimit + 1)}, wantErr: true},
		{name: "batch bytes below one record", stream: "s", opts: []Option{MaxBatchBytes(MaxRecordBytes - 1)}, wantErr: true},
		{name: "zero concurrency", stream: "s", opts: []Option{Concurrency(0)}, wantErr: true},
		{name: "negative linger", stream: "s", opts: []Option{Linger(-1)}, wantErr: true},
		{name: "zero attempts", stream: "s", opts: []Option{MaxAttempts(0)}, wantErr: true},
		{name: "zero retry time", stream: "s", opts: []Option{MaxRetryTime(0)}, wantErr: true},
		{name: "backoff initial over max", stream: "s", opts: []Option{Backoff(2*time.Second, time.Second)}, wantErr: true},
		{name: "pack over the record limit", stream: "s", opts: []Option{Pack(MaxRecordBytes + 1)}, wantErr: true},
		{name: "negative rate", stream: "s", opts: []Option{MaxRecordsPerSecond(-1)}, wantErr: true},
		{name: "tiny bytes rate", stream: "s", opts: []Option{MaxBytesPerSecond(10)}, wantErr: true},
		{name: "zero shutdown timeout", stream: "s", opts: []Option{ShutdownTimeout(0)}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(&fakeClient{}, tc.stream, tc.opts...)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidOption) || p != nil {
					t.Errorf("New = %v, %v; want ErrInvalidOption", p, err)
				}
				return
			}
			if err != nil || p == nil {
				t.Fatalf("New: %v", err)
			}
			_ = p.Close(context.Background())
		})
	}
	if _, err := New(nil, "s"); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("New(nil client) = %v", err)
	}
}

// trickleSource yields its records, then blocks until release is closed,
// then ends.
type trickleSource struct {
	recs    []Record
	release chan struct{}
	reads   atomic.Int64
}

func (s *trickleSource) Next(ctx context.Context) (Record, error) {
	if i := int(s.reads.Load()); i < len(s.recs) {
		s.reads.Add(1)
		return s.recs[i], nil
	}
	select {
	case <-s.release:
		return Record{}, io.EOF
	case <-ctx.Done():
		return Record{}, ctx.Err()
	}
}

func TestLingerSendsPartialBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fc := &fakeClient{}
		p, err := New(fc, "s", Linger(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		src := &trickleSource{recs: makeRecords(3), release: make(chan struct{})}
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- p.Send(context.Background(), src) }()
		time.Sleep(199 * time.Millisecond)
		synctest.Wait()
		if n := len(fc.calls()); n != 0 {
			t.Fatalf("%d calls before Linger passed", n)
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		calls := fc.calls()
		if len(calls) != 1 || len(calls[0]) != 3 {
			t.Fatalf("calls after Linger = %q, want one of 3 records", calls)
		}
		close(src.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got > 250*time.Millisecond {
			t.Errorf("Send took %v", got)
		}
	})
}

// TestMemoryBounded checks that Send stops reading while requests hang:
// records read but not finished are bounded, whatever the input size.
func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		fc := &fakeClient{}
		fc.batch = func(ctx context.Context, _ int, _ []string) (*firehose.PutRecordBatchOutput, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, nil
		}
		p, err := New(fc, "s", Concurrency(2), MaxBatchRecords(10), Linger(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		src := &endlessSource{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Send(ctx, src) }()
		time.Sleep(time.Second)
		synctest.Wait()
		read := p.Stats().Submitted
		// (3*Concurrency+2) batches of 10 outstanding, plus the one the reader holds.
		if limit := int64((3*2+2)*10 + 1); read > limit || read == 0 {
			t.Errorf("read %d records while requests hang; want 1..%d", read, limit)
		}
		close(release)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v", err)
		}
		checkInvariant(t, p.Stats())
	})
}

func TestLogsNeverCarryRecordDataAboveDebug(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fc := &fakeClient{}
	fc.batch = func(_ context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
		if n == 0 {
			return fc.partial(len(data), codeInternalFailure, "boom", 0), nil
		}
		return nil, apiError("AccessDeniedException", "denied")
	}
	// One worker: the failed entry of the first batch is requeued (and
	// logged at info; a throttled one would be at debug) before the fatal
	// error of the second stops the run.
	p := newTestProducer(t, fc, Logger(logger), MaxBatchRecords(5), Concurrency(1))
	recs := []Record{{Seq: 1, Data: []byte(`{"secret":"hunter2"}`)}}
	recs = append(recs, makeRecords(20)[1:]...)
	err := p.Send(context.Background(), SliceSource(recs))
	if !errors.Is(err, ErrFatal) {
		t.Fatalf("Send = %v", err)
	}
	out := buf.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("record data in the logs: %s", out)
	}
	for _, want := range []string{`"stream":"test-stream"`, `"error_code":"InternalFailure"`, `"msg":"retrying records"`, `"reason":"fatal-error"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}

// TestThrottleLogShowsWholeRates: the info line of a cut gives the new rates
// as whole numbers (1618604, not 1.6186037e+06), as the progress lines do.
func TestThrottleLogShowsWholeRates(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		fc := &fakeClient{}
		fc.batch = func(_ context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
			if n == 0 {
				// Ten records of the first request over the quota.
				return fc.partial(len(data), codeServiceUnavailable, "Slow down.", 50, 51, 52, 53, 54, 55, 56, 57, 58, 59), nil
			}
			return fc.allOK(len(data)), nil
		}
		p := newTestProducer(t, fc, Logger(logger), MaxBatchRecords(100), Concurrency(1))
		// 20 KB records: the rates run to millions of bytes a second, which a
		// float prints with an exponent.
		recs := make([]Record, 300)
		for i := range recs {
			recs[i] = Record{Seq: int64(i + 1), Data: bytes.Repeat([]byte("x"), 20_000)}
		}
		if err := p.Send(context.Background(), SliceSource(recs)); err != nil {
			t.Fatalf("Send = %v", err)
		}
		var line string
		for l := range strings.Lines(buf.String()) {
			if strings.Contains(l, `msg="throttled: slowing down"`) {
				line = l
			}
		}
		if line == "" {
			t.Fatalf("no throttle line in the logs:\n%s", buf.String())
		}
		for _, key := range []string{"records_per_second", "bytes_per_second"} {
			_, rest, ok := strings.Cut(line, " "+key+"=")
			v, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			if n, err := strconv.ParseInt(v, 10, 64); !ok || err != nil || n <= 0 {
				t.Errorf("%s=%q is not a positive whole number: %s", key, v, line)
			}
		}
	})
}
