package producer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// benchSource yields n records of 90 bytes.
type benchSource struct {
	n, i int
	data []byte
}

func (s *benchSource) Next(context.Context) (Record, error) {
	if s.i >= s.n {
		return Record{}, io.EOF
	}
	s.i++
	return Record{Seq: int64(s.i), Data: s.data}, nil
}

func newBenchSource(n int) *benchSource {
	return &benchSource{n: n, data: []byte(strings.Repeat("x", 90))}
}

// okClient answers every batch with success, without recording anything.
type okClient struct {
	resp map[int]*firehose.PutRecordBatchOutput
	mu   sync.Mutex
	fc   fakeClient
}

func (c *okClient) PutRecord(ctx context.Context, in *firehose.PutRecordInput, o ...func(*firehose.Options)) (*firehose.PutRecordOutput, error) {
	return c.fc.PutRecord(ctx, in, o...)
}

func (c *okClient) PutRecordBatch(_ context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resp == nil {
		c.resp = map[int]*firehose.PutRecordBatchOutput{}
	}
	out, ok := c.resp[len(in.Records)]
	if !ok {
		out = c.fc.allOK(len(in.Records))
		c.resp[len(in.Records)] = out
	}
	return out, nil
}

// BenchmarkSendProducerOverhead measures the producer alone (a client that
// answers at once): records/s of 90-byte records.
func BenchmarkSendProducerOverhead(b *testing.B) {
	for _, pack := range []int{0, DefaultPackTarget} {
		b.Run(fmt.Sprintf("pack=%d", pack), func(b *testing.B) {
			p, err := New(&okClient{}, "bench", Pack(pack))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = p.Close(context.Background()) })
			const n = 200_000
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Send(context.Background(), newBenchSource(n)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkSendRealSDKLoopback sends 90-byte records through a real
// *firehose.Client to a minimal loopback server: the number the >250k
// records/s target is about.
func BenchmarkSendRealSDKLoopback(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"FailedPutCount":0,"Encrypted":false,"RequestResponses":[`)
	for i := range MaxBatchRecordsLimit {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"RecordId":"id-%d"}`, i)
	}
	body.WriteString(`]}`)
	full := body.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, full)
	}))
	b.Cleanup(srv.Close)
	client := newSDKClientB(b, srv.URL)
	p, err := New(client, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	const n = 100_000
	for b.Loop() {
		if err := p.Send(context.Background(), newBenchSource(n)); err != nil {
			b.Fatal(err)
		}
	}
	if st := p.Stats(); st.Delivered != st.Submitted || st.Submitted != int64(n*b.N) {
		b.Fatalf("delivered %d of %d", st.Delivered, st.Submitted)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
