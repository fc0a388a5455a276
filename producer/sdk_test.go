package producer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// flakyFirehose is an HTTP handler speaking just enough Firehose JSON 1.1:
// its first request gets a 500 ServiceUnavailableException, its second has
// the connection dropped after the body was read, and the rest succeed.
type flakyFirehose struct {
	mu       sync.Mutex
	requests int
	received [][]string // records of each successful request
}

func (f *flakyFirehose) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests++
	n := f.requests
	f.mu.Unlock()
	target := r.Header.Get("X-Amz-Target")
	switch n {
	case 1:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"__type":"ServiceUnavailableException","message":"Slow down."}`)
		return
	case 2:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	var in struct {
		Records []struct{ Data []byte }
		Record  struct{ Data []byte }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if strings.HasSuffix(target, ".PutRecord") {
		f.mu.Lock()
		f.received = append(f.received, []string{string(in.Record.Data)})
		f.mu.Unlock()
		fmt.Fprintf(w, `{"RecordId":"rid-%d","Encrypted":false}`, n)
		return
	}
	var data []string
	resp := make([]string, len(in.Records))
	for i, rec := range in.Records {
		data = append(data, string(rec.Data))
		resp[i] = fmt.Sprintf(`{"RecordId":"rid-%d-%d"}`, n, i)
	}
	f.mu.Lock()
	f.received = append(f.received, data)
	f.mu.Unlock()
	fmt.Fprintf(w, `{"FailedPutCount":0,"Encrypted":false,"RequestResponses":[%s]}`, strings.Join(resp, ","))
}

func newSDKClient(t testing.TB, url string, sdkAttempts int) *firehose.Client {
	t.Helper()
	return firehose.New(firehose.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = sdkAttempts
			o.MaxBackoff = 5 * time.Millisecond
			o.RateLimiter = ratelimit.None // as the package doc advises
		}),
	})
}

// TestRealSDKRetriesAndPossibleDuplicates runs a real *firehose.Client
// against flakyFirehose, once with a client whose own retryer would resend
// and once with a client that does not retry. The producer turns the SDK's
// retries off for its calls, so in both cases it makes every resend itself
// and counts the records resent after the dropped connection as possible
// duplicates.
func TestRealSDKRetriesAndPossibleDuplicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		sdkAttempts int
		wantRetries int64 // producer-level record resends
	}{
		{name: "client with an SDK retryer", sdkAttempts: 3, wantRetries: 20},
		{name: "client without retries", sdkAttempts: 1, wantRetries: 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &flakyFirehose{}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			sink := &memorySink{}
			p := newTestProducer(t, newSDKClient(t, srv.URL, tc.sdkAttempts), DeadLetterTo(sink), Concurrency(1))
			res, err := p.PutRecordBatch(context.Background(), makeRecords(10))
			if err != nil {
				t.Fatalf("PutRecordBatch: %v", err)
			}
			if res.Delivered != 10 || len(sink.all()) != 0 {
				t.Fatalf("delivered %d, dead letters %d", res.Delivered, len(sink.all()))
			}
			if !strings.HasPrefix(res.Records[0].RecordID, "rid-3-") {
				t.Errorf("record ID %q, want one from the third request", res.Records[0].RecordID)
			}
			if len(h.received) != 1 || len(h.received[0]) != 10 || h.received[0][9] != "r10\n" {
				t.Errorf("server received %q", h.received)
			}
			st := p.Stats()
			checkInvariant(t, st)
			if st.PutRecordBatchCalls != 3 || st.RequestErrors != 2 {
				t.Errorf("calls %d errors %d, want 3 and 2", st.PutRecordBatchCalls, st.RequestErrors)
			}
			if st.PossibleDuplicates != 10 {
				t.Errorf("PossibleDuplicates %d, want 10 (resent after the dropped connection)", st.PossibleDuplicates)
			}
			if st.Retries != tc.wantRetries {
				t.Errorf("Retries %d, want %d", st.Retries, tc.wantRetries)
			}
		})
	}
}

func TestRealSDKPutRecord(t *testing.T) {
	t.Parallel()
	h := &flakyFirehose{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	p := newTestProducer(t, newSDKClient(t, srv.URL, 1))
	id, err := p.PutRecord(context.Background(), Record{Seq: 1, Data: []byte(`{"x":1}`)})
	if err != nil || id != "rid-3" {
		t.Fatalf("PutRecord = %q, %v", id, err)
	}
	st := p.Stats()
	if st.PutRecordCalls != 3 || st.PossibleDuplicates != 1 || st.Delivered != 1 || st.ThrottledRecords != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRealSDKFatal(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"Firehose nope under account 123 not found."}`)
	}))
	t.Cleanup(srv.Close)
	sink := &memorySink{}
	p := newTestProducer(t, newSDKClient(t, srv.URL, 3), DeadLetterTo(sink))
	err := p.Send(context.Background(), SliceSource(makeRecords(1000)))
	var fe *FatalError
	if !errorsAs(err, &fe) || fe.Code != "ResourceNotFoundException" {
		t.Fatalf("Send = %v, want FatalError ResourceNotFoundException", err)
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.Delivered != 0 || int(st.DeadLettered) != len(sink.all()) || sink.reasons()[ReasonFatal] != len(sink.all()) {
		t.Errorf("stats %+v, reasons %v", st, sink.reasons())
	}
}

func newSDKClientB(b *testing.B, url string) *firehose.Client { return newSDKClient(b, url, 3) }

// TestPossibleDuplicatesAreExact: every resend after a lost response may
// store the records once more, so it counts once more; a request that never
// reached a server counts nothing.
func TestPossibleDuplicatesAreExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		lost       int // responses lost (records stored, connection dropped) before one is answered
		wantStored int // copies of each record the server stored
	}{
		{name: "no loss", lost: 0, wantStored: 1},
		{name: "one lost response", lost: 1, wantStored: 2},
		{name: "two lost responses", lost: 2, wantStored: 3},
		{name: "four lost responses", lost: 4, wantStored: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			stored, calls := 0, 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var in struct{ Records []struct{ Data []byte } }
				if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				mu.Lock()
				stored += len(in.Records)
				calls++
				n := calls
				mu.Unlock()
				if n <= tc.lost {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						_ = conn.Close()
					}
					return
				}
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				resp := strings.TrimSuffix(strings.Repeat(`{"RecordId":"x"},`, len(in.Records)), ",")
				fmt.Fprintf(w, `{"FailedPutCount":0,"RequestResponses":[%s]}`, resp)
			}))
			t.Cleanup(srv.Close)
			p := newTestProducer(t, newSDKClient(t, srv.URL, 3), Concurrency(1))
			if _, err := p.PutRecordBatch(context.Background(), makeRecords(10)); err != nil {
				t.Fatalf("PutRecordBatch: %v", err)
			}
			st := p.Stats()
			mu.Lock()
			defer mu.Unlock()
			if stored != 10*tc.wantStored {
				t.Fatalf("server stored %d records, want %d", stored, 10*tc.wantStored)
			}
			if want := int64(stored - 10); st.PossibleDuplicates != want {
				t.Errorf("PossibleDuplicates %d, want %d (copies stored beyond the first)", st.PossibleDuplicates, want)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close() // the port is now closed: every dial is refused
		sink := &memorySink{}
		p := newTestProducer(t, newSDKClient(t, url, 3), Concurrency(1), MaxAttempts(3), DeadLetterTo(sink),
			MaxRetryTime(200*time.Millisecond))
		res, err := p.PutRecordBatch(context.Background(), makeRecords(10))
		var fatal *FatalError
		if !errorsAs(err, &fatal) || fatal.Code != codeEndpointUnreachable {
			t.Fatalf("PutRecordBatch = %v, want a FatalError %s once the endpoint was silent for MaxRetryTime", err, codeEndpointUnreachable)
		}
		if res.Delivered != 0 {
			t.Fatalf("delivered %d with nothing listening", res.Delivered)
		}
		st := p.Stats()
		checkInvariant(t, st)
		if st.PossibleDuplicates != 0 || st.Delivered != 0 || len(sink.all()) != 10 {
			t.Errorf("possible duplicates %d, delivered %d, dead letters %d; want 0, 0, 10",
				st.PossibleDuplicates, st.Delivered, len(sink.all()))
		}
	})
}
