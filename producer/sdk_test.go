package producer

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// sdkEmulator is the in-process emulator that the tests in this file reach
// over HTTP with a real *firehose.Client. Its faults are scripted with
// Server.Control.
type sdkEmulator struct {
	srv *emulator.Server
	url string
}

// startSDKEmulator starts the emulator on loopback with its data in a
// temporary directory, without quotas so that every failure a test sees is
// one it scripted. streams are created at start: pass "test-stream" (the
// stream of newTestProducer), or nothing for an emulator that knows no
// stream. It is not backend.StartEmulator because that one sets the
// environment, which parallel tests cannot do; the client of newSDKClient
// needs no environment.
func startSDKEmulator(t *testing.T, streams ...string) *sdkEmulator {
	t.Helper()
	opts := []emulator.Option{emulator.DataDir(t.TempDir()), emulator.NoQuotas()}
	for _, s := range streams {
		opts = append(opts, emulator.Stream(s, backend.Bucket))
	}
	srv, err := emulator.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return &sdkEmulator{srv: srv, url: url}
}

// script scripts faults (see emulator.Server.Control).
func (e *sdkEmulator) script(t *testing.T, faults ...emulator.Fault) {
	t.Helper()
	if err := e.srv.Control(faults...); err != nil {
		t.Fatalf("script faults: %v", err)
	}
}

// checkFaultsUsed fails unless every scripted fault has taken its calls.
func (e *sdkEmulator) checkFaultsUsed(t *testing.T) {
	t.Helper()
	if pending := e.srv.PendingFaults(); len(pending) != 0 {
		t.Errorf("scripted faults never met: %+v", pending)
	}
}

// delivered flushes the emulator and returns the content of every object
// it delivered to backend.Bucket.
func (e *sdkEmulator) delivered(t *testing.T) [][]byte {
	t.Helper()
	if err := e.srv.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return backend.ReadTree(t, filepath.Join(e.srv.DataDir(), backend.Bucket))
}

// stored counts the copies of each record in the delivered objects, by
// record data (without its newline).
func (e *sdkEmulator) stored(t *testing.T) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, obj := range e.delivered(t) {
		for line := range bytes.Lines(obj) {
			counts[string(bytes.TrimSuffix(line, []byte("\n")))]++
		}
	}
	return counts
}

// checkStored fails unless the emulator stored each of recs exactly copies
// times and nothing else.
func (e *sdkEmulator) checkStored(t *testing.T, recs []Record, copies int) {
	t.Helper()
	got := e.stored(t)
	want := make(map[string]int, len(recs))
	for _, r := range recs {
		want[string(r.Data)] += copies
	}
	if len(got) != len(want) {
		t.Errorf("stored %d distinct records %v, want %d", len(got), got, len(want))
	}
	for data, n := range want {
		if got[data] != n {
			t.Errorf("record %q stored %d times, want %d", data, got[data], n)
		}
	}
}

// emulatorRecordIDLen is the length of the emulator's RecordIds: a
// 48-character prefix drawn once per request and the record's index in the
// request as 8 hex digits.
const emulatorRecordIDLen = 56

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

// throttledThenDropped are the faults of the tests below for op: the first
// call fails whole with ServiceUnavailableException "Slow down." (HTTP
// 500), the second has its connection dropped after the body was read and
// before anything of it is stored, and the rest are served.
func throttledThenDropped(op string) []emulator.Fault {
	return []emulator.Fault{
		emulator.FailNext(op, 1, emulator.FaultThrottled),
		emulator.DropConnectionNext(op, 1),
	}
}

// TestRealSDKRetriesAndPossibleDuplicates runs a real *firehose.Client
// against the emulator scripted with throttledThenDropped, once with a
// client whose own retryer would resend and once with a client that does
// not retry. The producer turns the SDK's retries off for its calls, so in
// both cases it makes every resend itself and counts the records resent
// after the dropped connection as possible duplicates, though the emulator
// stored each record once.
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
			emu := startSDKEmulator(t, "test-stream")
			emu.script(t, throttledThenDropped("PutRecordBatch")...)
			sink := &memorySink{}
			p := newTestProducer(t, newSDKClient(t, emu.url, tc.sdkAttempts), DeadLetterTo(sink), Concurrency(1))
			recs := makeRecords(10)
			res, err := p.PutRecordBatch(context.Background(), recs)
			if err != nil {
				t.Fatalf("PutRecordBatch: %v", err)
			}
			if res.Delivered != 10 || len(sink.all()) != 0 {
				t.Fatalf("delivered %d, dead letters %d", res.Delivered, len(sink.all()))
			}
			// Every RecordId comes from the one answered request: one
			// prefix, and each record's index in that request.
			prefix := res.Records[0].RecordID[:min(len(res.Records[0].RecordID), emulatorRecordIDLen-8)]
			for i, r := range res.Records {
				if want := fmt.Sprintf("%s%08x", prefix, i); len(r.RecordID) != emulatorRecordIDLen || r.RecordID != want {
					t.Errorf("record %d ID %q, want %q from the one answered request", i, r.RecordID, want)
				}
			}
			emu.checkFaultsUsed(t)
			emu.checkStored(t, recs, 1)
			// The answered request carried the ten records in order, each
			// with the newline the producer appends.
			if got := bytes.Join(emu.delivered(t), nil); string(got) != "r1\nr2\nr3\nr4\nr5\nr6\nr7\nr8\nr9\nr10\n" {
				t.Errorf("emulator delivered %q", got)
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

// TestRealSDKPutRecord: PutRecord meets the same faults as the batch above
// and delivers its record on the third call, counting the throttled first
// call and the resend after the dropped connection.
func TestRealSDKPutRecord(t *testing.T) {
	t.Parallel()
	emu := startSDKEmulator(t, "test-stream")
	emu.script(t, throttledThenDropped("PutRecord")...)
	p := newTestProducer(t, newSDKClient(t, emu.url, 1))
	rec := Record{Seq: 1, Data: []byte(`{"x":1}`)}
	id, err := p.PutRecord(context.Background(), rec)
	if err != nil || len(id) != emulatorRecordIDLen {
		t.Fatalf("PutRecord = %q, %v; want the RecordId of the answered call", id, err)
	}
	emu.checkFaultsUsed(t)
	emu.checkStored(t, []Record{rec}, 1)
	st := p.Stats()
	if st.PutRecordCalls != 3 || st.PossibleDuplicates != 1 || st.Delivered != 1 || st.ThrottledRecords != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestRealSDKFatal: a stream the emulator does not know is a fatal error;
// every record is dead-lettered as such and nothing is stored.
func TestRealSDKFatal(t *testing.T) {
	t.Parallel()
	emu := startSDKEmulator(t)
	sink := &memorySink{}
	p := newTestProducer(t, newSDKClient(t, emu.url, 3), DeadLetterTo(sink))
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
	emu.checkStored(t, nil, 0)
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
		wantStored int // copies of each record the emulator stored
	}{
		{name: "no loss", lost: 0, wantStored: 1},
		{name: "one lost response", lost: 1, wantStored: 2},
		{name: "two lost responses", lost: 2, wantStored: 3},
		{name: "four lost responses", lost: 4, wantStored: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			emu := startSDKEmulator(t, "test-stream")
			if tc.lost > 0 {
				emu.script(t, emulator.LoseResponseNext("PutRecordBatch", tc.lost))
			}
			p := newTestProducer(t, newSDKClient(t, emu.url, 3), Concurrency(1))
			recs := makeRecords(10)
			if _, err := p.PutRecordBatch(context.Background(), recs); err != nil {
				t.Fatalf("PutRecordBatch: %v", err)
			}
			emu.checkFaultsUsed(t)
			emu.checkStored(t, recs, tc.wantStored)
			st := p.Stats()
			if want := int64(10 * (tc.wantStored - 1)); st.PossibleDuplicates != want {
				t.Errorf("PossibleDuplicates %d, want %d (copies stored beyond the first)", st.PossibleDuplicates, want)
			}
			if st.PutRecordBatchCalls != int64(tc.lost+1) {
				t.Errorf("PutRecordBatchCalls %d, want %d", st.PutRecordBatchCalls, tc.lost+1)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String()
		_ = ln.Close() // the port is now closed: every dial is refused
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
