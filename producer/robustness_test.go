package producer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// stallOnce is a Firehose handler that stalls its first request past the
// client's timeout, then answers every PutRecord/PutRecordBatch with success.
type stallOnce struct {
	requests atomic.Int64
	stall    time.Duration
}

func (s *stallOnce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	body := make([]byte, r.ContentLength)
	_, _ = r.Body.Read(body)
	if n == 1 {
		select {
		case <-time.After(s.stall):
		case <-r.Context().Done():
		}
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutRecord") {
		fmt.Fprint(w, `{"RecordId":"rid","Encrypted":false}`)
		return
	}
	cnt := strings.Count(string(body), `"Data"`)
	resp := make([]string, cnt)
	for i := range resp {
		resp[i] = `{"RecordId":"rid"}`
	}
	fmt.Fprintf(w, `{"FailedPutCount":0,"Encrypted":false,"RequestResponses":[%s]}`, strings.Join(resp, ","))
}

// TestHTTPClientTimeoutIsRetried: an HTTP client timeout (the CLI's
// --request-timeout) is a lost response, to be resent, not a shutdown.
func TestHTTPClientTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"PutRecordBatch", "PutRecord"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(&stallOnce{stall: 2 * time.Second})
			t.Cleanup(srv.Close)
			client := firehose.New(firehose.Options{
				Region:       "us-east-1",
				BaseEndpoint: aws.String(srv.URL),
				Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
				HTTPClient:   awshttp.NewBuildableClient().WithTimeout(100 * time.Millisecond),
				Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 1
					o.RateLimiter = ratelimit.None
				}),
			})
			sink := &memorySink{}
			p := newTestProducer(t, client, DeadLetterTo(sink))
			var err error
			if api == "PutRecord" {
				_, err = p.PutRecord(context.Background(), Record{Seq: 1, Data: []byte("x")})
			} else {
				_, err = p.PutRecordBatch(context.Background(), makeRecords(5))
			}
			st := p.Stats()
			checkInvariant(t, st)
			if err != nil || st.DeadLettered != 0 {
				t.Fatalf("%s = %v; dead letters %v: a client timeout must be retried", api, err, sink.reasons())
			}
			if st.PossibleDuplicates == 0 {
				t.Errorf("PossibleDuplicates = 0; a resend after a timeout may duplicate")
			}
		})
	}
}

// settleGoroutines waits for the goroutine count to fall back to base.
func settleGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%d goroutines after Send, %d before:\n%s", n, base, buf)
	}
}

// TestChaosAccounting runs many sends against a client that fails, throttles,
// delays and honours its context, stopping them at random moments by
// cancel, Abort or a fatal error, and checks the accounting of every record.
func TestChaosAccounting(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Run("runs", func(t *testing.T) {
		for i := range 40 {
			t.Run(fmt.Sprintf("seed%d", i), func(t *testing.T) {
				t.Parallel()
				chaosRun(t, uint64(i))
			})
		}
	})
	settleGoroutines(t, base)
}

func chaosRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var rngMu sync.Mutex
	rnd := func(n int) int { rngMu.Lock(); defer rngMu.Unlock(); return rng.IntN(n) }
	var delMu sync.Mutex
	delivered := map[string]int{}
	fatalAt := -1
	if seed%4 == 3 {
		fatalAt = 3 + rnd(10)
	}
	fc := &fakeClient{}
	answer := func(ctx context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error) {
		select {
		case <-time.After(time.Duration(rnd(3000)) * time.Microsecond):
		case <-ctx.Done():
			return nil, &smithyCanceled{ctx.Err()}
		}
		if n == fatalAt {
			return nil, apiError("ResourceNotFoundException", "gone")
		}
		switch rnd(6) {
		case 0:
			return nil, apiError("InternalFailure", "boom")
		case 1:
			var failed []int
			for i := range data {
				if rnd(3) == 0 {
					failed = append(failed, i)
				}
			}
			out := fc.partial(len(data), codeServiceUnavailable, "Slow down.", failed...)
			delMu.Lock()
			for i, d := range data {
				if out.RequestResponses[i].ErrorCode == nil {
					delivered[d]++
				}
			}
			delMu.Unlock()
			return out, nil
		}
		delMu.Lock()
		for _, d := range data {
			delivered[d]++
		}
		delMu.Unlock()
		return fc.allOK(len(data)), nil
	}
	fc.batch = answer
	sink := &memorySink{}
	opts := []Option{DeadLetterTo(sink), MaxBatchRecords(1 + rnd(40)), Concurrency(1 + rnd(6)),
		MaxAttempts(1 + rnd(4)), Linger(time.Duration(rnd(3)) * time.Millisecond)}
	if rnd(2) == 0 {
		opts = append(opts, Pack(20+rnd(100)))
	}
	if rnd(2) == 0 {
		opts = append(opts, MaxRecordsPerSecond(2000+rnd(20000)))
	}
	p := newTestProducer(t, fc, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 100 + rnd(900)
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Seq: int64(i + 1), Data: []byte(fmt.Sprintf("rec-%d", i+1))}
	}
	mode := rnd(4)
	stopAfter := time.Duration(rnd(20000)) * time.Microsecond
	go func() {
		time.Sleep(stopAfter)
		switch mode {
		case 0:
			cancel()
		case 1:
			p.Abort()
		}
	}()
	var err error
	var res BatchResult
	if seed%2 == 0 {
		err = p.Send(ctx, SliceSource(recs))
	} else {
		res, err = p.PutRecordBatch(ctx, recs)
	}
	_ = err
	st := p.Stats()
	checkInvariant(t, st)
	// PutRecordBatch settles every record it was given; Send stops reading
	// when stopped, and what it read is a prefix of the input.
	if (seed%2 == 1 || mode >= 2) && st.Submitted != int64(n) {
		t.Fatalf("Submitted %d, given %d", st.Submitted, n)
	}
	recs = recs[:st.Submitted]
	// every record sent once, or dead-lettered, never both
	letters := sink.all()
	dead := map[string]int{}
	for _, l := range letters {
		dead[string(l.Data)]++
	}
	if int64(len(letters)) != st.DeadLettered+st.Rejected {
		t.Errorf("%d letters, stats say %d", len(letters), st.DeadLettered+st.Rejected)
	}
	delMu.Lock()
	defer delMu.Unlock()
	// with packing, delivered holds packs: split them into lines
	lines := map[string]int{}
	for d, c := range delivered {
		for _, ln := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
			lines[ln] += c
		}
	}
	for _, r := range recs {
		k := string(r.Data)
		if lines[k] > 0 && dead[k] > 0 {
			t.Errorf("record %s delivered %d times and dead-lettered %d times", k, lines[k], dead[k])
		}
		if lines[k] > 1 {
			t.Errorf("record %s delivered %d times (no unknown outcomes here)", k, lines[k])
		}
		if lines[k]+dead[k] == 0 {
			t.Errorf("record %s neither delivered nor dead-lettered", k)
		}
	}
	if int64(len(lines)) != st.Delivered {
		t.Errorf("server got %d distinct records, Delivered %d", len(lines), st.Delivered)
	}
	if seed%2 == 1 {
		if res.Delivered+res.DeadLettered+res.Rejected != n {
			t.Errorf("BatchResult counts %d+%d+%d != %d", res.Delivered, res.DeadLettered, res.Rejected, n)
		}
		if int64(res.Delivered) != st.Delivered {
			t.Errorf("BatchResult delivered %d, stats %d", res.Delivered, st.Delivered)
		}
	}
}

type smithyCanceled struct{ err error }

func (e *smithyCanceled) Error() string { return "canceled: " + e.err.Error() }
func (e *smithyCanceled) Unwrap() error { return e.err }

// TestPackedTinyRecordsDoNotStall: with packing, one Firehose record holds
// many input records, so the reader's memory bound (counted in input
// records) can be reached while everything outstanding sits in the open
// batch. The batcher must then send that batch instead of waiting for a
// record that cannot come (PutRecordBatch) or for Linger (Send).
func TestPackedTinyRecordsDoNotStall(t *testing.T) {
	t.Parallel()
	recs := make([]Record, 60_000)
	for i := range recs {
		recs[i] = Record{Seq: int64(i + 1), Data: []byte{'0' + byte(i%10)}}
	}
	for _, api := range []string{"PutRecordBatch", "Send"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			sink := &memorySink{}
			p := newTestProducer(t, &fakeClient{}, DeadLetterTo(sink), Pack(1000), Concurrency(1), Linger(time.Hour))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var err error
			if api == "Send" {
				err = p.Send(ctx, SliceSource(recs))
			} else {
				_, err = p.PutRecordBatch(ctx, recs)
			}
			st := p.Stats()
			checkInvariant(t, st)
			if err != nil || st.Delivered != int64(len(recs)) {
				t.Fatalf("%s = %v, delivered %d of %d (dead letters %v)", api, err, st.Delivered, len(recs), sink.reasons())
			}
		})
	}
}

// TestPutRecordAbortDuringLimiterWait: Abort is a hard stop; PutRecord must
// not sit out a limiter wait first.
func TestPutRecordAbortDuringLimiterWait(t *testing.T) {
	t.Parallel()
	sink := &memorySink{}
	p := newTestProducer(t, &fakeClient{}, DeadLetterTo(sink), MaxRequestsPerSecond(1))
	if _, err := p.PutRecord(context.Background(), Record{Seq: 1, Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, p.Abort)
	start := time.Now()
	_, err := p.PutRecord(context.Background(), Record{Seq: 2, Data: []byte("b")})
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("PutRecord returned %v after Abort", took-50*time.Millisecond)
	}
	if !errors.Is(err, ErrAborted) {
		t.Errorf("PutRecord = %v, want ErrAborted", err)
	}
	checkInvariant(t, p.Stats())
	if got := sink.reasons()[ReasonShutdown]; got != 1 {
		t.Errorf("dead letters %v, want the record as shutdown", sink.reasons())
	}
}
