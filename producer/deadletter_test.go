package producer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

func TestFileSinkRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dead.ndjson")
	s := NewFileSink(path)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file exists before the first write: %v", err)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	in := []DeadLetter{
		{Seq: 1, Source: "data.json:1", Reason: ReasonRetriesExhausted, ErrorCode: codeServiceUnavailable, ErrorMessage: "Slow down.", Attempts: 8, Time: now, Data: []byte(`{"a":1}`)},
		{Seq: 2, Reason: ReasonInvalidJSON, Attempts: 0, Time: now, Data: []byte("not json\x00\xff binary")},
	}
	if err := s.WriteDeadLetters(context.Background(), in[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteDeadLetters(context.Background(), in[1:]); err != nil {
		t.Fatal(err)
	}
	if s.Count() != 2 || s.Path() != path {
		t.Errorf("Count %d Path %q", s.Count(), s.Path())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.WriteDeadLetters(context.Background(), in); !errors.Is(err, ErrSinkClosed) {
		t.Errorf("write after Close: %v, want ErrSinkClosed", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// A second sink appends.
	s2 := NewFileSink(path)
	if err := s2.WriteDeadLetters(context.Background(), in[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []DeadLetter
	for dl, err := range ReadDeadLetters(f) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	want := append(append([]DeadLetter(nil), in...), in[0])
	if len(out) != len(want) {
		t.Fatalf("read %d letters, want %d", len(out), len(want))
	}
	for i := range want {
		w, g := want[i], out[i]
		if g.Seq != w.Seq || g.Source != w.Source || g.Reason != w.Reason || g.ErrorCode != w.ErrorCode ||
			g.ErrorMessage != w.ErrorMessage || g.Attempts != w.Attempts || !g.Time.Equal(w.Time) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("letter %d = %+v, want %+v", i, g, w)
		}
		if r := g.Record(); r.Seq != w.Seq || !bytes.Equal(r.Data, w.Data) {
			t.Errorf("Record() = %+v", r)
		}
	}
}

func TestFileSinkNoFileWhenNothingFailed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dead.ndjson")
	fc := &fakeClient{}
	p := newTestProducer(t, fc, DeadLetterTo(NewFileSink(path)))
	if _, err := p.PutRecordBatch(context.Background(), makeRecords(10)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead-letter file created with nothing to write: %v", err)
	}
}

func TestReadDeadLettersReportsBadLine(t *testing.T) {
	t.Parallel()
	input := `{"seq":1,"reason":"shutdown","attempts":1,"time":"2025-01-01T00:00:00Z","data":"eA=="}

{"seq":2, broken
{"seq":3,"reason":"shutdown","attempts":1,"time":"2025-01-01T00:00:00Z","data":"eQ=="}
`
	var seqs []int64
	var errs []error
	for dl, err := range ReadDeadLetters(strings.NewReader(input)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seqs = append(seqs, dl.Seq)
	}
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 3 {
		t.Errorf("seqs %v, want [1 3]", seqs)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "line 3") {
		t.Errorf("errors %v, want one naming line 3", errs)
	}
}

type failingSink struct{}

func (failingSink) WriteDeadLetters(context.Context, []DeadLetter) error {
	return errors.New("no space left on device")
}

// TestDeadLetterWriteFailureStops: when the sink cannot store records, the
// producer stops instead of going on losing them, and Send says so.
func TestDeadLetterWriteFailureStops(t *testing.T) {
	t.Parallel()
	fc := &fakeClient{}
	fc.batch = func(_ context.Context, _ int, data []string) (*firehose.PutRecordBatchOutput, error) {
		all := make([]int, len(data))
		for i := range all {
			all[i] = i
		}
		return fc.partial(len(data), codeInternalFailure, "boom", all...), nil
	}
	p := newTestProducer(t, fc, DeadLetterTo(failingSink{}), MaxAttempts(1), MaxBatchRecords(10), Concurrency(1))
	err := p.Send(context.Background(), SliceSource(makeRecords(1000)))
	if !errors.Is(err, ErrDeadLetterWrite) {
		t.Fatalf("Send = %v, want ErrDeadLetterWrite", err)
	}
	st := p.Stats()
	checkInvariant(t, st)
	if calls := len(fc.calls()); calls > 5 {
		t.Errorf("%d requests after the sink failed: the producer must stop", calls)
	}
	if err := p.Add(context.Background(), Record{Seq: 1001, Data: []byte("x")}); !errors.Is(err, ErrDeadLetterWrite) {
		t.Errorf("Add after the failure = %v, want ErrDeadLetterWrite", err)
	}
}
