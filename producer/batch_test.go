package producer

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
)

func TestSplitIntoBatches(t *testing.T) {
	t.Parallel()
	repeat := func(n, size int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = size
		}
		return s
	}
	const fullRecord = MaxRecordBytes
	exact4MiB := append(repeat(4, fullRecord), MaxBatchBytesLimit-4*fullRecord)
	over4MiB := append(repeat(4, fullRecord), MaxBatchBytesLimit-4*fullRecord+1)
	tests := []struct {
		name       string
		sizes      []int
		maxRecords int
		want       []int
	}{
		{name: "empty input", sizes: nil, maxRecords: 500, want: nil},
		{name: "500 records fill one batch", sizes: repeat(500, 90), maxRecords: 500, want: []int{500}},
		{name: "501 records make two", sizes: repeat(501, 90), maxRecords: 500, want: []int{500, 1}},
		{name: "exactly 4 MiB is one batch", sizes: exact4MiB, maxRecords: 500, want: []int{5}},
		{name: "1 byte over 4 MiB is two", sizes: over4MiB, maxRecords: 500, want: []int{4, 1}},
		{name: "count limit below 500", sizes: repeat(7, 10), maxRecords: 3, want: []int{3, 3, 1}},
		{name: "full-size records four a batch", sizes: repeat(9, fullRecord), maxRecords: 500, want: []int{4, 4, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := splitIntoBatches(tc.sizes, tc.maxRecords, MaxBatchBytesLimit)
			if !slices.Equal(got, tc.want) {
				t.Errorf("splitIntoBatches = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBatchBytesLimitOnTheWire checks the byte limit through the real
// sending path: the sum of record sizes (newline included) per call.
func TestBatchBytesLimitOnTheWire(t *testing.T) {
	t.Parallel()
	// Data sizes before the newline; each record gets one "\n".
	mk := func(sizes ...int) []Record {
		recs := make([]Record, len(sizes))
		for i, s := range sizes {
			recs[i] = Record{Seq: int64(i + 1), Data: bytes.Repeat([]byte{'a' + byte(i)}, s)}
		}
		return recs
	}
	last := MaxBatchBytesLimit - 4*MaxRecordBytes
	tests := []struct {
		name string
		recs []Record
		want []int
	}{
		{name: "exactly 4 MiB", recs: mk(MaxRecordBytes-1, MaxRecordBytes-1, MaxRecordBytes-1, MaxRecordBytes-1, last-1), want: []int{5}},
		{name: "4 MiB plus one byte", recs: mk(MaxRecordBytes-1, MaxRecordBytes-1, MaxRecordBytes-1, MaxRecordBytes-1, last), want: []int{4, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := &fakeClient{}
			p := newTestProducer(t, fc, Concurrency(1))
			res, err := p.PutRecordBatch(context.Background(), tc.recs)
			if err != nil || res.Delivered != len(tc.recs) {
				t.Fatalf("PutRecordBatch: delivered %d, err %v", res.Delivered, err)
			}
			var got []int
			for _, c := range fc.calls() {
				got = append(got, len(c))
				total := 0
				for _, d := range c {
					total += len(d)
				}
				if total > MaxBatchBytesLimit {
					t.Errorf("a call carried %d bytes, over %d", total, MaxBatchBytesLimit)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("call sizes %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRecordSizeLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		data          []byte
		appendNewline bool
		wantRejected  bool
	}{
		{name: "1,023,999 bytes plus newline is exactly the limit", data: bytes.Repeat([]byte("x"), MaxRecordBytes-1), appendNewline: true},
		{name: "1,024,000 bytes plus newline is over", data: bytes.Repeat([]byte("x"), MaxRecordBytes), appendNewline: true, wantRejected: true},
		{name: "1,024,000 bytes without newline is the limit", data: bytes.Repeat([]byte("x"), MaxRecordBytes), appendNewline: false},
		{name: "1,024,000 bytes already ending in a newline", data: append(bytes.Repeat([]byte("x"), MaxRecordBytes-1), '\n'), appendNewline: true},
		{name: "1,024,001 bytes without newline is over", data: bytes.Repeat([]byte("x"), MaxRecordBytes+1), appendNewline: false, wantRejected: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := &fakeClient{}
			sink := &memorySink{}
			p := newTestProducer(t, fc, AppendNewline(tc.appendNewline), DeadLetterTo(sink))
			recs := []Record{{Seq: 1, Data: []byte("small")}, {Seq: 2, Source: "big.json:2", Data: tc.data}}
			res, err := p.PutRecordBatch(context.Background(), recs)
			if err != nil {
				t.Fatalf("PutRecordBatch: %v", err)
			}
			rr := res.Records[1]
			if tc.wantRejected {
				if !errors.Is(rr.Err, ErrRecordTooLarge) || rr.Reason != ReasonTooLarge || res.Rejected != 1 {
					t.Fatalf("big record: err %v reason %q rejected %d; want too-large", rr.Err, rr.Reason, res.Rejected)
				}
				for _, want := range []string{"#2", "big.json:2", "1024001"} {
					if !bytes.Contains([]byte(rr.Err.Error()), []byte(want)) {
						t.Errorf("message %q lacks %q", rr.Err, want)
					}
				}
				l := sink.all()
				if len(l) != 1 || l[0].Reason != ReasonTooLarge || !bytes.Equal(l[0].Data, tc.data) {
					t.Errorf("dead letter not as expected: %d letters", len(l))
				}
				if p.Stats().Rejected != 1 {
					t.Errorf("Rejected = %d, want 1", p.Stats().Rejected)
				}
			} else {
				if rr.Err != nil || res.Delivered != 2 {
					t.Fatalf("big record: err %v delivered %d", rr.Err, res.Delivered)
				}
				var sent int
				for _, c := range fc.calls() {
					for _, d := range c {
						sent = max(sent, len(d))
					}
				}
				if sent > MaxRecordBytes {
					t.Errorf("sent a %d-byte record", sent)
				}
			}
			checkInvariant(t, p.Stats())
		})
	}
}

func TestPutRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		put       func(n int) error
		data      []byte
		wantCalls int
		wantErr   error
		wantDL    string
	}{
		{name: "success", data: []byte(`{"a":1}`), wantCalls: 1},
		{name: "retried then delivered", data: []byte("x"), wantCalls: 3, put: func(n int) error {
			if n < 2 {
				return apiError(codeServiceUnavailable, "Slow down.")
			}
			return nil
		}},
		{name: "retries exhausted", data: []byte("x"), wantCalls: 4, wantErr: ErrNotDelivered, wantDL: ReasonRetriesExhausted,
			put: func(int) error { return apiError(codeInternalFailure, "oops") }},
		{name: "fatal", data: []byte("x"), wantCalls: 1, wantErr: ErrFatal, wantDL: ReasonFatal,
			put: func(int) error { return apiError("AccessDeniedException", "no") }},
		{name: "too large", data: bytes.Repeat([]byte("x"), MaxRecordBytes), wantCalls: 0, wantErr: ErrRecordTooLarge, wantDL: ReasonTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := &fakeClient{}
			if tc.put != nil {
				fc.put = func(_ context.Context, n int, _ string) (*firehoseOut, error) { return nil, tc.put(n) }
			}
			sink := &memorySink{}
			p := newTestProducer(t, fc, MaxAttempts(4), DeadLetterTo(sink))
			id, err := p.PutRecord(context.Background(), Record{Seq: 7, Data: tc.data})
			if tc.wantErr == nil && (err != nil || id == "") {
				t.Fatalf("PutRecord = %q, %v", id, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("PutRecord error %v, want %v", err, tc.wantErr)
			}
			if len(fc.putCalls) != tc.wantCalls {
				t.Errorf("calls %d, want %d", len(fc.putCalls), tc.wantCalls)
			}
			if tc.wantCalls > 0 && fc.putCalls[0] != string(tc.data)+"\n" {
				t.Errorf("sent %q, want data plus newline", fc.putCalls[0])
			}
			l := sink.all()
			if tc.wantDL == "" && len(l) != 0 || tc.wantDL != "" && (len(l) != 1 || l[0].Reason != tc.wantDL || l[0].Seq != 7) {
				t.Errorf("dead letters %+v, want reason %q", l, tc.wantDL)
			}
			st := p.Stats()
			checkInvariant(t, st)
			if st.PutRecordCalls != int64(tc.wantCalls) {
				t.Errorf("PutRecordCalls %d, want %d", st.PutRecordCalls, tc.wantCalls)
			}
		})
	}
}

func BenchmarkSplitIntoBatches(b *testing.B) {
	sizes := make([]int, 100_000)
	for i := range sizes {
		sizes[i] = 91
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = splitIntoBatches(sizes, MaxBatchRecordsLimit, MaxBatchBytesLimit)
	}
	b.ReportMetric(float64(len(sizes))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
