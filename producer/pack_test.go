package producer

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

func TestPackingIsByteIdentical(t *testing.T) {
	t.Parallel()
	mk := func(sizes ...int) []Record {
		recs := make([]Record, len(sizes))
		for i, s := range sizes {
			recs[i] = Record{Seq: int64(i + 1), Data: bytes.Repeat([]byte{'a' + byte(i%26)}, s)}
		}
		return recs
	}
	tests := []struct {
		name      string
		target    int
		recs      []Record
		wantPacks []int // input records per Firehose record
	}{
		{name: "empty input", target: 100, recs: nil, wantPacks: nil},
		{name: "small records share a record", target: 100, recs: mk(9, 9, 9), wantPacks: []int{3}},
		{name: "exactly the target closes the pack", target: 30, recs: mk(9, 9, 9, 9), wantPacks: []int{3, 1}},
		{name: "one byte over starts a new pack", target: 29, recs: mk(9, 9, 9, 9), wantPacks: []int{2, 2}},
		{name: "record over the target goes alone, never split", target: 20, recs: mk(5, 50, 5), wantPacks: []int{1, 1, 1}},
		{name: "full-size record next to small ones", target: MaxRecordBytes, recs: mk(10, MaxRecordBytes-1, 10), wantPacks: []int{1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fc := &fakeClient{}
			p := newTestProducer(t, fc, Pack(tc.target), Concurrency(1))
			res, err := p.PutRecordBatch(context.Background(), tc.recs)
			if err != nil || res.Delivered != len(tc.recs) {
				t.Fatalf("PutRecordBatch: delivered %d err %v", res.Delivered, err)
			}
			var want, got bytes.Buffer
			for _, r := range tc.recs {
				want.Write(r.Data)
				want.WriteByte('\n')
			}
			var packs []int
			for _, c := range fc.calls() {
				for _, fhRecord := range c {
					got.WriteString(fhRecord)
					packs = append(packs, strings.Count(fhRecord, "\n"))
					if len(fhRecord) > MaxRecordBytes {
						t.Errorf("Firehose record of %d bytes", len(fhRecord))
					}
					if !strings.HasSuffix(fhRecord, "\n") {
						t.Errorf("Firehose record does not end at a record boundary")
					}
				}
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("packed bytes differ from records sent one by one (%d vs %d bytes)", got.Len(), want.Len())
			}
			if len(packs) != len(tc.wantPacks) {
				t.Fatalf("packs %v, want %v", packs, tc.wantPacks)
			}
			for i := range packs {
				if packs[i] != tc.wantPacks[i] {
					t.Fatalf("packs %v, want %v", packs, tc.wantPacks)
				}
			}
			st := p.Stats()
			checkInvariant(t, st)
			if st.Delivered != int64(len(tc.recs)) || st.FirehoseRecords != int64(len(packs)) || st.Bytes != int64(want.Len()) {
				t.Errorf("stats delivered %d firehose records %d bytes %d", st.Delivered, st.FirehoseRecords, st.Bytes)
			}
			var billedWant int64
			for _, c := range fc.calls() {
				for _, r := range c {
					billedWant += billed(len(r))
				}
			}
			if st.BilledBytes != billedWant {
				t.Errorf("BilledBytes %d, want %d", st.BilledBytes, billedWant)
			}
		})
	}
}

// A packed Firehose record that keeps failing is resent as a whole and
// dead-lettered as the input records it holds.
func TestPackedRecordFailsAsAWhole(t *testing.T) {
	t.Parallel()
	fc := &fakeClient{}
	fc.batch = func(_ context.Context, _ int, data []string) (*firehose.PutRecordBatchOutput, error) {
		var bad []int
		for i, d := range data {
			if strings.HasPrefix(d, "r1\n") {
				bad = append(bad, i)
			}
		}
		return fc.partial(len(data), codeInternalFailure, "nope", bad...), nil
	}
	sink := &memorySink{}
	p := newTestProducer(t, fc, Pack(9), MaxAttempts(3), DeadLetterTo(sink), Concurrency(1))
	// r1..r9 are 3 bytes with the newline: three per pack.
	res, err := p.PutRecordBatch(context.Background(), makeRecords(9))
	if err != nil {
		t.Fatalf("PutRecordBatch: %v", err)
	}
	if res.Delivered != 6 || res.DeadLettered != 3 {
		t.Fatalf("delivered %d dead-lettered %d, want 6 3", res.Delivered, res.DeadLettered)
	}
	calls := fc.calls()
	if len(calls) != 3 || len(calls[1]) != 1 || calls[1][0] != "r1\nr2\nr3\n" {
		t.Fatalf("calls %q: want the failed pack resent whole", calls)
	}
	l := sink.all()
	if len(l) != 3 {
		t.Fatalf("%d dead letters, want 3", len(l))
	}
	for i, dl := range l {
		if dl.Seq != int64(i+1) || string(dl.Data) != "r"+itoa(i+1) || dl.Attempts != 3 || dl.Reason != ReasonRetriesExhausted {
			t.Errorf("dead letter %d = %+v", i, dl)
		}
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.FirehoseRecords != 2 || st.Retries != 6 {
		t.Errorf("FirehoseRecords %d Retries %d, want 2 and 6", st.FirehoseRecords, st.Retries)
	}
}

func BenchmarkPacker(b *testing.B) {
	data := bytes.Repeat([]byte("x"), 90)
	k := packer{target: DefaultPackTarget}
	b.ReportAllocs()
	b.SetBytes(int64(len(data) + 1))
	n := 0
	for b.Loop() {
		if !k.fits(len(data) + 1) {
			_ = k.take()
		}
		k.add(part{seq: int64(n)}, data, true)
		n++
	}
}
