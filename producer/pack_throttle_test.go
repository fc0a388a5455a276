package producer

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// throttleWatch wraps a real client and accounts for every PutRecordBatch
// call: the bytes offered, the bytes in flight at once, and for each
// response with throttled records what it refused.
type throttleWatch struct {
	Client
	p *Producer // set once New returned, before the first Add

	mu             sync.Mutex
	offered        int64
	inFlight       int64
	maxInFlight    int64
	maxRequest     int
	throttledCalls int
	throttledBytes int64
	// overQuota estimates the bytes the quota refused, as if it throttled
	// byte by byte: a request's records are taken while they fit in what
	// is left of the quota, so it refused each throttled response's
	// throttled bytes less under one record (half a record on average).
	overQuota           float64
	maxBuffered         int64
	maxBufferedRecords  int64
	bufferBoundExceeded bool
}

func (w *throttleWatch) PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	size := 0
	for _, r := range in.Records {
		size += len(r.Data)
	}
	w.p.buffer.mu.Lock()
	buffered, records := w.p.buffer.bytes, w.p.buffer.records
	exceeded := buffered > w.p.buffer.maxBytes || records > w.p.buffer.maxRecords
	w.p.buffer.mu.Unlock()
	w.mu.Lock()
	w.offered += int64(size)
	w.inFlight += int64(size)
	w.maxInFlight = max(w.maxInFlight, w.inFlight)
	w.maxRequest = max(w.maxRequest, size)
	w.maxBuffered = max(w.maxBuffered, buffered)
	w.maxBufferedRecords = max(w.maxBufferedRecords, records)
	w.bufferBoundExceeded = w.bufferBoundExceeded || exceeded
	w.mu.Unlock()

	out, err := w.Client.PutRecordBatch(ctx, in, optFns...)

	w.mu.Lock()
	defer w.mu.Unlock()
	w.inFlight -= int64(size)
	if err != nil || out == nil {
		return out, err
	}
	var refused, count int
	for i, resp := range out.RequestResponses {
		if resp.ErrorCode != nil && classifyEntry(*resp.ErrorCode, deref(resp.ErrorMessage)) == classThrottle {
			refused += len(in.Records[i].Data)
			count++
		}
	}
	if count > 0 {
		w.throttledCalls++
		w.throttledBytes += int64(refused)
		w.overQuota += float64(refused) - float64(refused)/float64(count)/2
	}
	return out, err
}

// idRecord is a ~90-byte NDJSON record carrying its number.
func idRecord(i int) []byte {
	return fmt.Appendf(nil, `{"id":%08d,"level":"High","msg":"%s"}`, i, bytes.Repeat([]byte{'a' + byte(i%26)}, 46))
}

// TestPackUnderThrottlingResendsWhatWasRefused sends small records, packed,
// to the emulator with a small bytes/s quota, so that it throttles, and
// checks that every record arrives, that what was resent stays close to
// what the quota refused, and that memory stays within the buffer bounds.
func TestPackUnderThrottlingResendsWhatWasRefused(t *testing.T) {
	const (
		stream  = "pack-throttled"
		records = 45_000 // 4 MB: four seconds of the quota
		quota   = 1 << 20
	)
	endpoint, objects := backend.StartEmulator(t, stream, emulator.Quotas(emulator.QuotaConfig{BytesPerSecond: quota}))
	w := &throttleWatch{Client: firehose.NewFromConfig(backend.AWSConfig(endpoint))}
	p, err := New(w, stream, Pack(DefaultPackTarget), Backoff(20*time.Millisecond, time.Second), MaxAttempts(100), MaxRetryTime(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
	ctx := context.Background()
	var input int64
	for i := range records {
		data := idRecord(i)
		input += int64(len(data)) + 1
		if err := p.Add(ctx, Record{Seq: int64(i + 1), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	checkInvariant(t, st)
	if st.Delivered != records || st.Bytes != input {
		t.Fatalf("delivered %d of %d records, %d of %d bytes", st.Delivered, records, st.Bytes, input)
	}

	// Every record exactly once (a lost response may add a duplicate).
	seen := make([]int, records)
	for _, obj := range objects() {
		for line := range bytes.Lines(obj) {
			id, ok := bytes.CutPrefix(line, []byte(`{"id":`))
			n, err := strconv.Atoi(string(id[:min(8, len(id))]))
			if !ok || err != nil || n < 0 || n >= records {
				t.Fatalf("unexpected line %q", line)
			}
			seen[n]++
		}
	}
	var lost, dups int64
	for _, k := range seen {
		if k == 0 {
			lost++
		}
		if k > 1 {
			dups += int64(k - 1)
		}
	}
	if lost > 0 || dups > st.PossibleDuplicates {
		t.Fatalf("%d records lost, %d duplicated (%d possible duplicates)", lost, dups, st.PossibleDuplicates)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if st.ThrottledRecords == 0 || w.throttledCalls == 0 {
		t.Fatal("nothing throttled: the quota did not bind and the test shows nothing")
	}
	resent := w.offered - st.Bytes
	if resent != w.throttledBytes {
		t.Errorf("resent %d bytes, throttled %d: only throttled records are resent here", resent, w.throttledBytes)
	}
	ratio := float64(resent) / w.overQuota
	t.Logf("resent %d bytes (%.1f%% of the input) for %.0f over the quota in %d throttled requests: %.3f; %d Firehose records",
		resent, 100*float64(resent)/float64(input), w.overQuota, w.throttledCalls, ratio, st.FirehoseRecords)
	// A rate control that overshoots by a pack or two at a time would make
	// the ratio large on a few bytes: those are noise, under 1% of the input.
	if ratio > 1.1 && float64(resent) > 0.01*float64(input) {
		t.Errorf("resent bytes / bytes over quota = %.3f, want <= 1.1", ratio)
	}
	// Memory: the buffer holds its bounds, and what is in flight (which the
	// SDK holds again, base64-encoded) is within them.
	if w.bufferBoundExceeded {
		t.Errorf("buffered %d bytes / %d records, over the bounds %d / %d", w.maxBuffered, w.maxBufferedRecords, p.cfg.maxBufferedBytes, p.cfg.maxBufferedRecords)
	}
	if w.maxInFlight > p.cfg.maxBufferedBytes || w.maxRequest > packBatchBytes {
		t.Errorf("%d bytes in flight at once (bound %d), largest request %d (bound %d)", w.maxInFlight, p.cfg.maxBufferedBytes, w.maxRequest, packBatchBytes)
	}
}

func TestPackTargetFollowsTheRate(t *testing.T) {
	tests := []struct {
		name      string
		rate      float64
		maxTarget int
		want      int
	}{
		{"no rate yet: the smallest pack", 0, DefaultPackTarget, minPackTarget},
		{"1 MiB/s: still the smallest", 1 << 20, DefaultPackTarget, minPackTarget},
		{"5 MiB/s: 1/512 of a second", 5 << 20, DefaultPackTarget, 10 * 1024},
		{"rounded down to the billing unit", 31 << 20, DefaultPackTarget, 61_440},
		{"a fast stream reaches the Pack target", 1 << 30, DefaultPackTarget, DefaultPackTarget},
		{"a Pack target under the smallest pack wins", 1 << 30, 1000, 1000},
		{"a Pack target that is not a multiple of the unit is kept", 1 << 30, 100_001, 100_001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := packTargetFor(tt.rate, tt.maxTarget)
			if got != tt.want {
				t.Errorf("packTargetFor(%.0f, %d) = %d, want %d", tt.rate, tt.maxTarget, got, tt.want)
			}
			if got < tt.maxTarget && got%BilledRecordUnit != 0 {
				t.Errorf("target %d below the Pack target is not a multiple of %d", got, BilledRecordUnit)
			}
		})
	}
}

func TestPackSizerMeasuresTheDeliveredRate(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		after          time.Duration // since start
		bytes, records int64         // delivered so far
		want           int
	}
	tests := []struct {
		name                 string
		maxRecords, maxBytes int64
		steps                []step
	}{
		{"starts small, follows the rate once a second has passed", 1 << 30, 1 << 30, []step{
			{0, 0, 0, minPackTarget},
			{500 * time.Millisecond, 25 << 20, 250_000, minPackTarget}, // within the first second: no rate yet
			{time.Second, 50 << 20, 500_000, 100 * 1024},               // 50 MiB/s
			{2 * time.Second, 55 << 20, 550_000, minPackTarget},        // 5 MiB/s: throttled down
		}},
		{"no more than an eighth of the bytes the buffer holds", 1 << 20, 1536 << 10, []step{
			{0, 0, 0, minPackTarget},
			{time.Second, 500 << 20, 5_000_000, 194_560}, // 1.5 MiB / 8 = 196,608, down to 38 units
		}},
		{"no more than an eighth of the records the buffer holds", 1 << 14, 1 << 30, []step{
			{0, 0, 0, minPackTarget},
			{time.Second, 500 << 20, 5_000_000, 209_920}, // 16,384 records of 104 bytes / 8 = 212,992, down to 41 units
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := packSizer{max: DefaultPackTarget, maxRecords: tt.maxRecords, maxBytes: tt.maxBytes}
			for i, st := range tt.steps {
				if got := s.target(start.Add(st.after), st.bytes, st.records); got != st.want {
					t.Errorf("step %d (%v): target %d, want %d", i, st.after, got, st.want)
				}
			}
		})
	}
}

// TestPackBufferBounds checks the buffer bounds New derives with Pack: small
// by default whatever the in-flight limit may grow to (a record held costs
// some 300 bytes besides its data), and what the caller set is kept.
func TestPackBufferBounds(t *testing.T) {
	const bookkeeping = 300 // bytes per record held, besides its data
	tests := []struct {
		name        string
		opts        []Option
		wantRecords int
		wantBytes   int64
		budget      int64 // bytes bound + records bound * bookkeeping, at most
	}{
		{"default", []Option{Pack(DefaultPackTarget)}, 0, 0, 8 << 20},
		{"fixed concurrency: its requests in flight and two waiting", []Option{Pack(DefaultPackTarget), Concurrency(4)}, 0, 6 * packBatchBytes, 8 << 20},
		{"set by the caller", []Option{Pack(DefaultPackTarget), MaxBufferedRecords(100_000), MaxBufferedBytes(64 << 20)}, 100_000, 64 << 20, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			for _, o := range tt.opts {
				o(&cfg)
			}
			if err := cfg.validate("s"); err != nil {
				t.Fatal(err)
			}
			cfg.finish()
			if cfg.bufferFollowsLimit {
				t.Error("with Pack the records bound must not shrink with the in-flight limit: packs would be cut short")
			}
			if cfg.maxBatchBytes > packBatchBytes {
				t.Errorf("MaxBatchBytes %d with Pack, want at most %d", cfg.maxBatchBytes, packBatchBytes)
			}
			if tt.wantRecords > 0 && cfg.maxBufferedRecords != tt.wantRecords {
				t.Errorf("MaxBufferedRecords %d, want %d", cfg.maxBufferedRecords, tt.wantRecords)
			}
			if tt.wantBytes > 0 && cfg.maxBufferedBytes != tt.wantBytes {
				t.Errorf("MaxBufferedBytes %d, want %d", cfg.maxBufferedBytes, tt.wantBytes)
			}
			if used := cfg.maxBufferedBytes + int64(cfg.maxBufferedRecords)*bookkeeping; tt.budget > 0 && used > tt.budget {
				t.Errorf("bounds allow %d bytes (%d records, %d bytes), want at most %d", used, cfg.maxBufferedRecords, cfg.maxBufferedBytes, tt.budget)
			}
		})
	}
}
