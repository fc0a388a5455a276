package producer_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
	"github.com/firehose-tools/firehose/producer"
)

// sendingPaths are every way of sending through the producer. Each sends
// recs and returns the producer's error.
var sendingPaths = []struct {
	name string
	send func(ctx context.Context, p *producer.Producer, recs []producer.Record) error
}{
	{name: "Add/Flush from 4 goroutines", send: func(ctx context.Context, p *producer.Producer, recs []producer.Record) error {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Go(func() {
				for i := g; i < len(recs); i += 4 {
					if err := p.Add(ctx, recs[i]); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		return p.Flush(ctx)
	}},
	{name: "Send", send: func(ctx context.Context, p *producer.Producer, recs []producer.Record) error {
		return p.Send(ctx, producer.SliceSource(recs))
	}},
	{name: "PutRecord", send: func(ctx context.Context, p *producer.Producer, recs []producer.Record) error {
		for _, r := range recs {
			if _, err := p.PutRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}},
	{name: "PutRecordBatch", send: func(ctx context.Context, p *producer.Producer, recs []producer.Record) error {
		res, err := p.PutRecordBatch(ctx, recs)
		if err == nil && res.Delivered != len(recs) {
			err = fmt.Errorf("PutRecordBatch delivered %d of %d", res.Delivered, len(recs))
		}
		return err
	}},
}

// TestConformance runs every sending path against every backend (the
// in-process emulator and moto_server) through the real AWS SDK and checks
// that each record arrives exactly once, as one line.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	for _, be := range backend.All {
		t.Run(be.Name, func(t *testing.T) {
			for _, path := range sendingPaths {
				t.Run(path.name, func(t *testing.T) {
					n := 1234
					if path.name == "PutRecord" {
						n = 150
					}
					stream := "conformance-" + strings.ToLower(strings.Fields(path.name)[0][:3])
					endpoint, objects := be.Start(t, stream)
					client := firehose.NewFromConfig(backend.AWSConfig(endpoint))
					p, err := producer.New(client, stream, producer.MaxBatchRecords(500))
					if err != nil {
						t.Fatal(err)
					}
					recs, want := numbered(n)
					if err := path.send(t.Context(), p, recs); err != nil {
						t.Fatalf("send: %v", err)
					}
					if err := p.Close(t.Context()); err != nil {
						t.Fatalf("Close: %v", err)
					}
					st := p.Stats()
					if st.Delivered != int64(n) || st.Submitted != int64(n) {
						t.Errorf("stats: submitted %d delivered %d, want %d", st.Submitted, st.Delivered, n)
					}
					assertLinesOnce(t, objects(), want, st.PossibleDuplicates)
				})
			}
		})
	}
}

// TestServiceAddsFromManyGoroutines: 8 goroutines Add 100,000 records to
// the in-process emulator; Close returns nil, every record is delivered
// exactly once, and what is added and not yet settled never exceeds the
// buffer.
func TestServiceAddsFromManyGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const goroutines, perGoroutine, maxBuffered = 8, 12_500, 5_000
	endpoint, objects := backend.StartEmulator(t, "service", emulator.NoQuotas())
	client := firehose.NewFromConfig(backend.AWSConfig(endpoint))
	var outstanding, peak atomic.Int64
	p, err := producer.New(client, "service", producer.MaxBufferedRecords(maxBuffered),
		producer.OnResult(func(producer.RecordResult) { outstanding.Add(-1) }))
	if err != nil {
		t.Fatal(err)
	}
	recs, want := numbered(goroutines * perGoroutine)
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for _, r := range recs[g*perGoroutine : (g+1)*perGoroutine] {
				// Counted before Add: Add may settle the record before it
				// returns, and the count must never go below zero.
				now := outstanding.Add(1)
				if err := p.Add(t.Context(), r); err != nil {
					t.Errorf("Add: %v", err)
					return
				}
				for {
					old := peak.Load()
					if now <= old || peak.CompareAndSwap(old, now) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	if err := p.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Each goroutine may hold one record beyond the buffer while it waits.
	if got := peak.Load(); got > maxBuffered+goroutines {
		t.Errorf("%d records added and not settled at once; the buffer holds %d", got, maxBuffered)
	}
	if st := p.Stats(); st.Delivered != int64(len(recs)) {
		t.Errorf("delivered %d of %d", st.Delivered, len(recs))
	}
	assertLinesOnce(t, objects(), want, 0)
}

func numbered(n int) ([]producer.Record, []string) {
	recs := make([]producer.Record, n)
	want := make([]string, n)
	for i := range recs {
		want[i] = fmt.Sprintf(`{"id":%d}`, i+1)
		recs[i] = producer.Record{Seq: int64(i + 1), Data: []byte(want[i])}
	}
	return recs, want
}

// assertLinesOnce checks that the objects hold every wanted line exactly
// once and nothing else.
func assertLinesOnce(t *testing.T, objects [][]byte, want []string, possibleDuplicates int64) {
	t.Helper()
	got := map[string]int{}
	for _, obj := range objects {
		for _, line := range strings.Split(strings.TrimSuffix(string(obj), "\n"), "\n") {
			if line != "" {
				got[line]++
			}
		}
	}
	missing, dup := 0, 0
	for _, w := range want {
		switch got[w] {
		case 0:
			missing++
		case 1:
		default:
			dup += got[w] - 1
		}
		delete(got, w)
	}
	// A request whose answer was lost (a timeout, a connection dropped on a
	// loaded machine) is resent and may be stored twice; the producer counts
	// each such resend, and there are never more duplicates than that.
	if missing > 0 || int64(dup) > possibleDuplicates || len(got) > 0 {
		t.Errorf("%d of %d records missing, %d duplicated (possible duplicates %d), %d unexpected lines",
			missing, len(want), dup, possibleDuplicates, len(got))
	}
	if dup > 0 {
		t.Logf("%d duplicates, within the %d possible duplicates counted", dup, possibleDuplicates)
	}
}
