package producer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/smithy-go"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// callRecorder is a CallHook that keeps every CallInfo.
type callRecorder struct {
	mu    sync.Mutex
	calls []CallInfo
}

func (r *callRecorder) OnCall(info CallInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, info)
}

// byAttempt returns the calls seen, in attempt order.
func (r *callRecorder) byAttempt() []CallInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.calls)
	slices.SortStableFunc(out, func(a, b CallInfo) int { return cmp.Compare(a.Attempt, b.Attempt) })
	return out
}

// wantCall is what one CallInfo must hold; errCode "" means Err == nil.
type wantCall struct {
	api                               string
	seq                               int64
	records, failed, throttled, bytes int
	attempt                           int
	errCode                           string
}

// TestHooksSeeEveryAttempt scripts faults in the emulator and checks that a
// hook saw each attempt, with what it sent and how it ended.
func TestHooksSeeEveryAttempt(t *testing.T) {
	batch := make([]Record, 10)
	batchBytes := 0
	for i := range batch {
		batch[i] = Record{Seq: int64(i + 1), Data: fmt.Appendf(nil, `{"n":%d}`, i)}
		batchBytes += len(batch[i].Data) + 1 // the appended newline
	}
	single := Record{Seq: 7, Data: []byte(`{"single":true}`)}
	singleBytes := len(single.Data) + 1
	putBatch := func(ctx context.Context, p *Producer) error {
		_, err := p.PutRecordBatch(ctx, batch)
		return err
	}
	putSingle := func(ctx context.Context, p *Producer) error {
		_, err := p.PutRecord(ctx, single)
		return err
	}

	tests := []struct {
		name   string
		faults []emulator.Fault
		send   func(ctx context.Context, p *Producer) error
		want   []wantCall
	}{
		{
			name: "PutRecordBatch: failed whole, then every entry throttled, then delivered",
			faults: []emulator.Fault{
				emulator.FailNext("PutRecordBatch", 1, emulator.FaultInternalFailure),
				emulator.FailRecordsNext("PutRecordBatch", 1, emulator.FaultThrottled),
			},
			send: putBatch,
			want: []wantCall{
				{api: "PutRecordBatch", records: 10, attempt: 1, errCode: "InternalFailure", bytes: batchBytes},
				{api: "PutRecordBatch", records: 10, failed: 10, throttled: 10, attempt: 2, bytes: batchBytes},
				{api: "PutRecordBatch", records: 10, attempt: 3, bytes: batchBytes},
			},
		},
		{
			name: "PutRecordBatch: some attempts fail entries with InternalFailure",
			faults: []emulator.Fault{
				emulator.FailRecordsNext("PutRecordBatch", 2, emulator.FaultInternalFailure),
			},
			send: putBatch,
			want: []wantCall{
				{api: "PutRecordBatch", records: 10, failed: 10, attempt: 1, bytes: batchBytes},
				{api: "PutRecordBatch", records: 10, failed: 10, attempt: 2, bytes: batchBytes},
				{api: "PutRecordBatch", records: 10, attempt: 3, bytes: batchBytes},
			},
		},
		{
			name: "PutRecord: throttled whole, then failed whole, then delivered",
			faults: []emulator.Fault{
				emulator.FailNext("PutRecord", 1, emulator.FaultThrottled),
				emulator.FailNext("PutRecord", 1, emulator.FaultServiceUnavailable),
			},
			send: putSingle,
			want: []wantCall{
				{api: "PutRecord", seq: 7, records: 1, throttled: 1, attempt: 1, errCode: "ServiceUnavailableException", bytes: singleBytes},
				{api: "PutRecord", seq: 7, records: 1, attempt: 2, errCode: "ServiceUnavailableException", bytes: singleBytes},
				{api: "PutRecord", seq: 7, records: 1, attempt: 3, bytes: singleBytes},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, url, _ := backend.StartEmulatorServer(t, "hooked")
			if err := srv.Control(tc.faults...); err != nil {
				t.Fatal(err)
			}
			rec := &callRecorder{}
			// A batch goes when it holds all ten records, never split.
			p, err := New(firehose.NewFromConfig(backend.AWSConfig(url)), "hooked", Hooks(rec),
				MaxBatchRecords(len(batch)), Linger(time.Hour), Backoff(time.Millisecond, 2*time.Millisecond),
				Adaptive(false), Concurrency(1))
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.send(t.Context(), p); err != nil {
				t.Fatalf("send: %v", err)
			}
			if err := p.Close(t.Context()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			got := rec.byAttempt()
			if len(got) != len(tc.want) {
				t.Fatalf("hook saw %d calls, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				checkCall(t, i, got[i], w)
			}
			st := p.Stats()
			if n := int(st.PutRecordCalls + st.PutRecordBatchCalls); n != len(got) {
				t.Errorf("Stats count %d calls, the hook saw %d", n, len(got))
			}
		})
	}
}

func checkCall(t *testing.T, i int, got CallInfo, w wantCall) {
	t.Helper()
	if got.API != w.api || got.Seq != w.seq || got.Records != w.records || got.Failed != w.failed ||
		got.Throttled != w.throttled || got.Attempt != w.attempt || got.Bytes != w.bytes {
		t.Errorf("call %d = {API %s Seq %d Records %d Failed %d Throttled %d Attempt %d Bytes %d}, want %+v",
			i, got.API, got.Seq, got.Records, got.Failed, got.Throttled, got.Attempt, got.Bytes, w)
	}
	if got.Latency <= 0 {
		t.Errorf("call %d: latency %v, want > 0", i, got.Latency)
	}
	if w.errCode == "" {
		if got.Err != nil {
			t.Errorf("call %d: Err = %v, want nil", i, got.Err)
		}
		return
	}
	var apiErr smithy.APIError
	if !errors.As(got.Err, &apiErr) || apiErr.ErrorCode() != w.errCode {
		t.Errorf("call %d: Err = %v, want an API error %s", i, got.Err, w.errCode)
	}
}
