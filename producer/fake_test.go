package producer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// fakeClient is a Client for unit tests of the producer's logic. Each call
// is recorded (record data copied) and answered by the optional hooks; with
// no hook every record succeeds.
type fakeClient struct {
	mu         sync.Mutex
	batchCalls [][]string
	putCalls   []string
	nextID     int

	// batch answers PutRecordBatch call number n (0-based). It may return
	// nil, nil for "all succeeded".
	batch func(ctx context.Context, n int, data []string) (*firehose.PutRecordBatchOutput, error)
	// put answers PutRecord call number n (0-based); nil, nil is success.
	put func(ctx context.Context, n int, data string) (*firehose.PutRecordOutput, error)
	// region is the region Options reports, as a *firehose.Client does.
	region string
}

// Options reports the fake's region the way a *firehose.Client reports
// its own; the producer names it in FatalError messages.
func (f *fakeClient) Options() firehose.Options { return firehose.Options{Region: f.region} }

var _ Client = (*fakeClient)(nil)

func (f *fakeClient) PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	data := make([]string, len(in.Records))
	for i, r := range in.Records {
		data[i] = string(r.Data)
	}
	f.mu.Lock()
	n := len(f.batchCalls)
	f.batchCalls = append(f.batchCalls, data)
	f.mu.Unlock()
	if f.batch != nil {
		out, err := f.batch(ctx, n, data)
		if out != nil || err != nil {
			return out, err
		}
	}
	return f.allOK(len(data)), nil
}

func (f *fakeClient) allOK(n int) *firehose.PutRecordBatchOutput {
	out := &firehose.PutRecordBatchOutput{FailedPutCount: aws.Int32(0)}
	for range n {
		out.RequestResponses = append(out.RequestResponses, types.PutRecordBatchResponseEntry{RecordId: aws.String(f.id())})
	}
	return out
}

func (f *fakeClient) id() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	return "id-" + itoa(f.nextID)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func (f *fakeClient) PutRecord(ctx context.Context, in *firehose.PutRecordInput, _ ...func(*firehose.Options)) (*firehose.PutRecordOutput, error) {
	f.mu.Lock()
	n := len(f.putCalls)
	f.putCalls = append(f.putCalls, string(in.Record.Data))
	f.mu.Unlock()
	if f.put != nil {
		out, err := f.put(ctx, n, string(in.Record.Data))
		if out != nil || err != nil {
			return out, err
		}
	}
	return &firehose.PutRecordOutput{RecordId: aws.String(f.id())}, nil
}

func (f *fakeClient) calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.batchCalls...)
}

// partial builds a response failing the entries whose index is in failed
// with code and message.
func (f *fakeClient) partial(n int, code, msg string, failed ...int) *firehose.PutRecordBatchOutput {
	out := f.allOK(n)
	for _, i := range failed {
		out.RequestResponses[i] = types.PutRecordBatchResponseEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String(msg)}
	}
	out.FailedPutCount = aws.Int32(int32(len(failed)))
	return out
}

// memorySink is a DeadLetterSink that keeps letters in memory.
type memorySink struct {
	mu      sync.Mutex
	letters []DeadLetter
}

func (m *memorySink) WriteDeadLetters(_ context.Context, letters []DeadLetter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range letters {
		l.Data = append([]byte(nil), l.Data...)
		m.letters = append(m.letters, l)
	}
	return nil
}

func (m *memorySink) all() []DeadLetter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]DeadLetter(nil), m.letters...)
}

func (m *memorySink) reasons() map[string]int {
	out := map[string]int{}
	for _, l := range m.all() {
		out[l.Reason]++
	}
	return out
}

// makeRecords returns n records with Seq 1..n and data "r<seq>".
func makeRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Seq: int64(i + 1), Data: []byte("r" + itoa(i+1))}
	}
	return recs
}

// newTestProducer builds a producer with fast retries for tests.
func newTestProducer(t *testing.T, c Client, opts ...Option) *Producer {
	t.Helper()
	base := []Option{Backoff(time.Millisecond, 5*time.Millisecond), Linger(time.Millisecond)}
	p, err := New(c, "test-stream", append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// checkInvariant fails unless Submitted = Delivered + DeadLettered +
// Rejected + Unsent + Lost.
func checkInvariant(t *testing.T, s Stats) {
	t.Helper()
	if s.Submitted != s.Delivered+s.DeadLettered+s.Rejected+s.Unsent+s.Lost {
		t.Fatalf("accounting broken: submitted %d != delivered %d + dead-lettered %d + rejected %d + unsent %d + lost %d",
			s.Submitted, s.Delivered, s.DeadLettered, s.Rejected, s.Unsent, s.Lost)
	}
}
