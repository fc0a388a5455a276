package producer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

func TestStaticLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		opts        []Option
		records     int
		wantSeconds float64
	}{
		// 5,000 records at 1,000/s: 5 s (the bucket starts empty).
		{name: "records per second", opts: []Option{MaxRecordsPerSecond(1000), MaxBatchRecords(100), Linger(time.Minute)}, records: 5000, wantSeconds: 5},
		// 50 requests at 10/s: 5 s. Linger is long so that every batch is
		// full: with the test's 1 ms, a batch waiting for room in the buffer
		// sometimes went out part full, and 55 requests took 5.5 s.
		{name: "requests per second", opts: []Option{MaxRequestsPerSecond(10), MaxBatchRecords(100), Linger(time.Minute)}, records: 5000, wantSeconds: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				fc := &fakeClient{}
				p := newTestProducer(t, fc, append(tc.opts, Adaptive(false))...)
				start := time.Now()
				if err := p.Send(context.Background(), SliceSource(makeRecords(tc.records))); err != nil {
					t.Fatal(err)
				}
				got := time.Since(start).Seconds()
				if got < tc.wantSeconds*0.9 || got > tc.wantSeconds*1.1+0.1 {
					t.Errorf("took %.2fs, want about %.2fs (%d calls)", got, tc.wantSeconds, len(fc.calls()))
				}
				checkInvariant(t, p.Stats())
			})
		})
	}
}

// TestStaticLimitCapsBatches: under a static bytes/s or records/s limit
// (the stream's quota, when known) a batch carries at most 1/64 of a
// second of it, from the first request on; without one, batches fill.
func TestStaticLimitCapsBatches(t *testing.T) {
	t.Parallel()
	const recordBytes = 200 // 199 bytes and the newline
	tests := []struct {
		name     string
		opts     []Option
		wantMax  int // records in the largest batch
		wantCall int // records in the first batch
	}{
		{name: "no static limit: full batches", wantMax: 500, wantCall: 500},
		{name: "2 MiB/s: 32 KiB batches", opts: []Option{MaxBytesPerSecond(2 << 20)}, wantMax: 163, wantCall: 163},
		{name: "6,400 records/s: 100-record batches", opts: []Option{MaxRecordsPerSecond(6400)}, wantMax: 100, wantCall: 100},
		{name: "50 MiB/s: no cap below a full batch", opts: []Option{MaxBytesPerSecond(50 << 20)}, wantMax: 500, wantCall: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				fc := &fakeClient{}
				p := newTestProducer(t, fc, append(tc.opts, Linger(time.Minute))...)
				recs := make([]Record, 2000)
				for i := range recs {
					recs[i] = Record{Seq: int64(i + 1), Data: make([]byte, recordBytes-1)}
				}
				if err := p.Send(context.Background(), SliceSource(recs)); err != nil {
					t.Fatal(err)
				}
				calls := fc.calls()
				largest := 0
				for _, c := range calls {
					largest = max(largest, len(c))
				}
				if largest != tc.wantMax || len(calls[0]) != tc.wantCall {
					t.Errorf("largest batch %d records, first %d; want %d and %d", largest, len(calls[0]), tc.wantMax, tc.wantCall)
				}
				checkInvariant(t, p.Stats())
			})
		})
	}
}

func TestStaticBytesLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fc := &fakeClient{}
		// 20 records of 199,999 bytes + newline = 4,000,000 bytes at 1,000,000 B/s.
		p := newTestProducer(t, fc, MaxBytesPerSecond(1_000_000), Adaptive(false))
		recs := make([]Record, 20)
		for i := range recs {
			recs[i] = Record{Seq: int64(i + 1), Data: make([]byte, 199_999)}
		}
		start := time.Now()
		if _, err := p.PutRecordBatch(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		// The bucket starts empty: no batch (capped at 1,024,000 bytes: 5
		// records) goes before its bytes are due, so the 4,000,000 bytes
		// take 4 s. Starting full let the first batch out at once: 3 s,
		// a third over the limit.
		if got := time.Since(start); got < 3900*time.Millisecond || got > 4300*time.Millisecond {
			t.Errorf("took %v, want about 4s", got)
		}
		for _, c := range fc.calls() {
			total := 0
			for _, d := range c {
				total += len(d)
			}
			if total > MaxRecordBytes {
				t.Errorf("a request carried %d bytes, over one second of quota", total)
			}
		}
	})
}

// sendAccepted sends records and bytes through l's pacing every 100 ms,
// tenths times, each accepted whole: a sender under its quota, in a
// synctest bubble.
func sendAccepted(t *testing.T, l *limiter, tenths, records, bytes int) {
	t.Helper()
	for range tenths {
		if err := l.wait(context.Background(), records, bytes); err != nil {
			t.Fatal(err)
		}
		l.accepted(records, bytes)
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAdaptiveAIMD(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(config{maxBatchRecords: 500, maxBatchBytes: MaxBatchBytesLimit, adaptive: true})
		ctx := context.Background()
		// Send 10,000 records/s (100 bytes each) for 2 s.
		sendAccepted(t, l, 20, 1000, 100_000)
		if r, b := l.limits(); r != 0 || b != 0 {
			t.Fatalf("limits before any throttling = %v, %v; want none", r, b)
		}
		sent := time.Now()
		if !l.throttled(sent) {
			t.Fatal("first throttle did not cut")
		}
		r, b := l.limits()
		// The sliding second holds 9 or 10 of the 100ms sends: 70% of 9,000-10,000.
		if r < 6300 || r > 7000 || b < 630_000 || b > 700_000 {
			t.Fatalf("after the cut limits = %v rec/s, %v B/s; want 6,300-7,000 and 630,000-700,000", r, b)
		}
		// A response to a request sent before the cut does not cut again,
		// nor does a new throttle within the same second.
		time.Sleep(10 * time.Millisecond)
		if l.throttled(sent.Add(-time.Millisecond)) {
			t.Error("a stale throttle cut again")
		}
		if l.throttled(time.Now()) {
			t.Error("a second cut within one second")
		}
		// A limit the sender does not use (nothing sent for a second) is
		// not raised: it would let the next burst far over the quota.
		time.Sleep(time.Second)
		l.succeeded()
		if idle, _ := l.limits(); idle != r {
			t.Errorf("after an idle second the limit moved from %v to %v, want unchanged", r, idle)
		}
		// sendAtLimit sends at the current limit for one second.
		sendAtLimit := func() {
			for range 10 {
				lr, lb := l.limits()
				if lr == 0 {
					lr, lb = 10_000, 1_000_000
				}
				if err := l.wait(ctx, int(lr/10), int(lb/10)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		// Additive increase per second in use without throttling: bytes/s
		// by 5% of the cut rate or minAdaptiveBytesStep, whichever is more
		// (here 100 KiB/s); records/s by as many 100-byte records, so that
		// it does not hold the bytes/s limit back (1,024 records/s, more
		// than 5% of 9,000-10,000).
		r, b = l.limits()
		sendAtLimit()
		l.succeeded()
		r2, b2 := l.limits()
		if d := r2 - r; d != minAdaptiveBytesStep/100 {
			t.Errorf("after 1 s the records/s limit rose by %v, want %v", d, minAdaptiveBytesStep/100)
		}
		if d := b2 - b; d != minAdaptiveBytesStep {
			t.Errorf("after 1 s the bytes/s limit rose by %v, want %v", d, minAdaptiveBytesStep)
		}
		// After a minute in use without throttling the adaptive limit has
		// grown past adaptiveRelease times the cut and is lifted
		// altogether.
		for range 60 {
			sendAtLimit()
			l.succeeded()
		}
		if r3, b3 := l.limits(); r3 != 0 || b3 != 0 {
			t.Errorf("limits after a minute without throttling = %v, %v; want lifted", r3, b3)
		}
	})
}

// quotaClient emulates a stream quota of records per (fake) second: records
// over it fail with "Slow down.", and each call takes 10ms.
type quotaClient struct {
	fakeClient
	perSecond int
	mu        sync.Mutex
	window    int64
	used      int
}

func (q *quotaClient) PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	time.Sleep(10 * time.Millisecond)
	q.mu.Lock()
	sec := time.Now().Unix()
	if sec != q.window {
		q.window, q.used = sec, 0
	}
	var failed []int
	for i := range in.Records {
		if q.used >= q.perSecond {
			failed = append(failed, i)
			continue
		}
		q.used++
	}
	q.mu.Unlock()
	return q.partial(len(in.Records), codeServiceUnavailable, "Slow down.", failed...), nil
}

func TestAdaptiveRunsNearQuotaWithFewThrottles(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, adaptive bool) (Stats, time.Duration) {
		var st Stats
		var took time.Duration
		synctest.Test(t, func(t *testing.T) {
			qc := &quotaClient{perSecond: 20_000}
			p := newTestProducer(t, qc, Adaptive(adaptive), MaxBatchRecords(200), Concurrency(4),
				MaxAttempts(50), Backoff(50*time.Millisecond, time.Second))
			start := time.Now()
			if err := p.Send(context.Background(), SliceSource(makeRecords(150_000))); err != nil {
				t.Fatal(err)
			}
			took = time.Since(start)
			st = p.Stats()
		})
		return st, took
	}
	static, staticTook := run(t, false)
	adaptive, adaptiveTook := run(t, true)
	t.Logf("without adaptive: %v, %d throttled; adaptive: %v, %d throttled",
		staticTook, static.ThrottledRecords, adaptiveTook, adaptive.ThrottledRecords)
	if adaptive.Delivered != 150_000 {
		t.Fatalf("adaptive delivered %d of 150,000", adaptive.Delivered)
	}
	// 150,000 records at 20,000/s need 7.5 s; allow 60% efficiency.
	if adaptiveTook > 12500*time.Millisecond {
		t.Errorf("adaptive run took %v: too far below the quota", adaptiveTook)
	}
	if adaptive.ThrottledRecords*3 > static.ThrottledRecords {
		t.Errorf("adaptive throttled %d records, not much fewer than %d without", adaptive.ThrottledRecords, static.ThrottledRecords)
	}
	if adaptive.ThrottledRecords > 150_000/5 {
		t.Errorf("adaptive throttled %d records: more than 20%%", adaptive.ThrottledRecords)
	}
}

// TestAdaptiveBelowOneBatchPerSecond: a stream whose quota is less than one
// full batch per second (a few hundred records/s) with default options:
// every record is delivered, none dead-lettered, in about the time the
// quota allows, with a bounded number of throttled records. Before, the
// rate could not go under its floor of 1,000 records/s: every record was
// throttled 2.6 times on average at 500/s, and records were dead-lettered
// at 200/s.
func TestAdaptiveBelowOneBatchPerSecond(t *testing.T) {
	t.Parallel()
	for _, quota := range []int{500, 200} {
		t.Run(fmt.Sprintf("%d records/s", quota), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				n := 30 * quota
				qc := &quotaClient{perSecond: quota}
				sink := &memorySink{}
				p := newTestProducer(t, qc, DeadLetterTo(sink))
				start := time.Now()
				if err := p.Send(context.Background(), SliceSource(makeRecords(n))); err != nil {
					t.Fatalf("Send: %v", err)
				}
				took := time.Since(start)
				st := p.Stats()
				ideal := time.Duration(n/quota) * time.Second
				t.Logf("%d records in %v (ideal %v), %d throttled, %d calls", n, took, ideal, st.ThrottledRecords, st.PutRecordBatchCalls)
				if st.Delivered != int64(n) || st.DeadLettered != 0 || len(sink.all()) != 0 {
					t.Fatalf("delivered %d of %d, dead-lettered %d", st.Delivered, n, st.DeadLettered)
				}
				if took > ideal*13/10 {
					t.Errorf("took %v, over 1.3x the %v the quota allows", took, ideal)
				}
				// Most throttling is the start: the batches built and sent
				// before the first answer, then two seconds at the floor
				// (see floored); fewer than one throttle a record.
				if st.ThrottledRecords >= int64(n) {
					t.Errorf("%d records throttled for %d records", st.ThrottledRecords, n)
				}
			})
		})
	}
}

// TestFirstCutCorrectedOnce: while the service's bucket held its burst it
// accepted all we sent, so the first cut (70% of that) can sit above the
// quota. A request sent after it that still comes back throttled sets the
// limit to 95% of what the service accepted since the cut, once.
func TestFirstCutCorrectedOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(config{maxBatchRecords: 500, maxBatchBytes: MaxBatchBytesLimit, adaptive: true})
		// 20,000 records/s sent and accepted (the burst) for a second.
		for range 10 {
			l.accepted(2000, 200_000)
			time.Sleep(100 * time.Millisecond)
		}
		if !l.throttled(time.Now()) {
			t.Fatal("first throttle did not cut")
		}
		first, _ := l.limits()
		// The bucket is empty: the service takes 10,000/s.
		time.Sleep(50 * time.Millisecond)
		early := time.Now()
		for range 5 {
			time.Sleep(100 * time.Millisecond)
			l.accepted(1000, 100_000)
		}
		if l.throttled(early) {
			t.Error("a request sent 50 ms after the cut corrected it")
		}
		if !l.throttled(time.Now().Add(-10 * time.Millisecond)) {
			t.Fatal("a request sent well after the first cut did not correct it")
		}
		r, b := l.limits()
		t.Logf("first cut %v records/s, corrected to %v records/s, %v B/s", first, r, b)
		// 70% of the 18,000-20,000 of the sliding second, then 95% of the
		// 10,000/s since (measured over whole 100 ms buckets: up to 11,111).
		if first < 12_000 || r < 9000 || r > 10_600 || b < 900_000 || b > 1_060_000 {
			t.Errorf("first cut %v, corrected %v records/s %v B/s; want 12,600-14,000 then 9,500-10,560 and 950,000-1,056,000", first, r, b)
		}
		// Once only: later throttling within the second does not cut again.
		time.Sleep(200 * time.Millisecond)
		if l.throttled(time.Now().Add(-10 * time.Millisecond)) {
			t.Error("corrected twice")
		}
	})
}
