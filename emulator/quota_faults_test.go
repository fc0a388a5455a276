package emulator

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

func numberedRecords(from, n int) ([]types.Record, []string) {
	recs := make([]types.Record, n)
	lines := make([]string, n)
	for i := range recs {
		lines[i] = fmt.Sprintf("r%06d\n", from+i)
		recs[i] = types.Record{Data: []byte(lines[i])}
	}
	return recs, lines
}

func metricSum(t *testing.T, cw *cloudwatch.Client, stream, name string) float64 {
	t.Helper()
	out, err := cw.GetMetricStatistics(ctxTimeout(t), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("AWS/Firehose"), MetricName: aws.String(name), Dimensions: streamDims(stream),
		StartTime: aws.Time(fixedTime.Add(-time.Hour)), EndTime: aws.Time(fixedTime.Add(time.Hour)), Period: aws.Int32(3600),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
	})
	if err != nil {
		t.Fatalf("GetMetricStatistics %s: %v", name, err)
	}
	var sum float64
	for _, dp := range out.Datapoints {
		sum += aws.ToFloat64(dp.Sum)
	}
	return sum
}

func TestQuotasThrottleInsideA200(t *testing.T) {
	tests := []struct {
		name          string
		quota         QuotaConfig
		batches       int
		wantAccepted  int
		wantThrottled int
	}{
		{name: "records per second", quota: QuotaConfig{RecordsPerSecond: 150, RequestsPerSecond: 100, BytesPerSecond: 1 << 20}, batches: 2, wantAccepted: 150, wantThrottled: 250},
		{name: "bytes per second", quota: QuotaConfig{RecordsPerSecond: 1000, RequestsPerSecond: 100, BytesPerSecond: 8 * 120}, batches: 2, wantAccepted: 120, wantThrottled: 280},
		{name: "requests per second", quota: QuotaConfig{RecordsPerSecond: 1000, RequestsPerSecond: 2, BytesPerSecond: 1 << 20}, batches: 3, wantAccepted: 400, wantThrottled: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A frozen clock: the buckets hold exactly one second's burst.
			srv, url := startServer(t, Clock(fixedClock), Quotas(tt.quota))
			fh := firehoseClient(url, 1)
			createStream(t, fh, "q", "bkt", "", 5, 300)
			var wantDelivered []string
			accepted, throttled := 0, 0
			for b := range tt.batches {
				recs, lines := numberedRecords(b*200, 200)
				out, err := fh.PutRecordBatch(ctxTimeout(t), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("q"), Records: recs})
				if err != nil {
					t.Fatalf("PutRecordBatch: %v", err)
				}
				failed := 0
				for i, e := range out.RequestResponses {
					if e.ErrorCode == nil {
						accepted++
						wantDelivered = append(wantDelivered, lines[i])
						continue
					}
					failed++
					if aws.ToString(e.ErrorCode) != "ServiceUnavailableException" || aws.ToString(e.ErrorMessage) != "Slow down." {
						t.Errorf("entry %d: %s %q, want ServiceUnavailableException \"Slow down.\"", i, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
					}
				}
				if got := int(aws.ToInt32(out.FailedPutCount)); got != failed {
					t.Errorf("FailedPutCount %d, entries failed %d", got, failed)
				}
				throttled += failed
			}
			if accepted != tt.wantAccepted || throttled != tt.wantThrottled {
				t.Errorf("accepted %d throttled %d, want %d and %d", accepted, throttled, tt.wantAccepted, tt.wantThrottled)
			}
			if err := srv.Flush(ctxTimeout(t)); err != nil {
				t.Fatal(err)
			}
			if got, want := allDelivered(t, srv.DataDir(), "bkt"), strings.Join(wantDelivered, ""); got != want {
				t.Errorf("delivered %d bytes, want exactly the %d accepted records (%d bytes)", len(got), len(wantDelivered), len(want))
			}
			cw := cloudwatchClient(url)
			if got := metricSum(t, cw, "q", "ThrottledRecords"); got != float64(tt.wantThrottled) {
				t.Errorf("ThrottledRecords = %v, want %d", got, tt.wantThrottled)
			}
			if got := metricSum(t, cw, "q", "IncomingRecords"); got != float64(tt.wantAccepted) {
				t.Errorf("IncomingRecords = %v, want %d", got, tt.wantAccepted)
			}
		})
	}
}

func TestQuotaRefillsOverTime(t *testing.T) {
	clock := fixedTime
	var mu = make(chan struct{}, 1)
	now := func() time.Time { mu <- struct{}{}; defer func() { <-mu }(); return clock }
	advance := func(d time.Duration) { mu <- struct{}{}; clock = clock.Add(d); <-mu }
	srv, url := startServer(t, Clock(now), Quotas(QuotaConfig{RecordsPerSecond: 100}))
	_ = srv
	fh := firehoseClient(url, 1)
	createStream(t, fh, "q", "bkt", "", 5, 300)
	put := func() int32 {
		recs, _ := numberedRecords(0, 100)
		out, err := fh.PutRecordBatch(ctxTimeout(t), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("q"), Records: recs})
		if err != nil {
			t.Fatalf("PutRecordBatch: %v", err)
		}
		return aws.ToInt32(out.FailedPutCount)
	}
	if got := put(); got != 0 {
		t.Errorf("first second: %d failed, want 0", got)
	}
	if got := put(); got != 100 {
		t.Errorf("same second again: %d failed, want 100", got)
	}
	advance(500 * time.Millisecond)
	if got := put(); got != 50 {
		t.Errorf("half a second later: %d failed, want 50", got)
	}
}

func TestPutRecordThrottledIsAWholeRequestError(t *testing.T) {
	_, url := startServer(t, Clock(fixedClock), Quotas(QuotaConfig{RecordsPerSecond: 1}))
	fh := firehoseClient(url, 1)
	createStream(t, fh, "q", "bkt", "", 5, 300)
	in := &firehose.PutRecordInput{DeliveryStreamName: aws.String("q"), Record: &types.Record{Data: []byte("x")}}
	if _, err := fh.PutRecord(ctxTimeout(t), in); err != nil {
		t.Fatalf("first PutRecord: %v", err)
	}
	_, err := fh.PutRecord(ctxTimeout(t), in)
	code, msg, status := apiErrorOf(t, err)
	if code != "ServiceUnavailableException" || msg != "Slow down." || status != http.StatusInternalServerError {
		t.Errorf("second PutRecord: %s %q %d, want ServiceUnavailableException \"Slow down.\" 500", code, msg, status)
	}
}

// failurePattern sends 10,000 records in batches of 500 and returns the
// indexes of the failed ones and what was delivered.
func failurePattern(t *testing.T, seed int64, rate float64) ([]int, string, string) {
	t.Helper()
	srv, url := startServer(t, NoQuotas(), Faults(FaultConfig{Seed: seed, RecordErrorRate: rate}))
	fh := firehoseClient(url, 1)
	createStream(t, fh, "f", "bkt", "", 5, 300)
	var failed []int
	var want strings.Builder
	for b := range 20 {
		recs, lines := numberedRecords(b*500, 500)
		out, err := fh.PutRecordBatch(ctxTimeout(t), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("f"), Records: recs})
		if err != nil {
			t.Fatalf("PutRecordBatch: %v", err)
		}
		for i, e := range out.RequestResponses {
			if e.ErrorCode == nil {
				want.WriteString(lines[i])
				continue
			}
			if c := aws.ToString(e.ErrorCode); c != "ServiceUnavailableException" && c != "InternalFailure" {
				t.Errorf("ErrorCode %q", c)
			}
			failed = append(failed, b*500+i)
		}
	}
	if err := srv.Flush(ctxTimeout(t)); err != nil {
		t.Fatal(err)
	}
	return failed, want.String(), allDelivered(t, srv.DataDir(), "bkt")
}

func TestRecordErrorRateIsReproducible(t *testing.T) {
	first, want, got := failurePattern(t, 42, 0.1)
	if len(first) < 800 || len(first) > 1200 {
		t.Errorf("%d of 10,000 records failed at rate 0.1, want 800..1200", len(first))
	}
	if got != want {
		t.Errorf("delivered %d bytes, want exactly the %d succeeded bytes", len(got), len(want))
	}
	second, _, _ := failurePattern(t, 42, 0.1)
	if !slices.Equal(first, second) {
		t.Errorf("same seed, different failures: %d vs %d failed", len(first), len(second))
	}
	other, _, _ := failurePattern(t, 7, 0.1)
	if slices.Equal(first, other) {
		t.Error("seeds 42 and 7 failed exactly the same records")
	}
}

func TestRequestErrorsDeliverNothing(t *testing.T) {
	srv, url := startServer(t, Faults(FaultConfig{Seed: 1, RequestErrorRate: 1}))
	fh := firehoseClient(url, 1)
	createStream(t, fh, "f", "bkt", "", 5, 300)
	codes := map[string]int{}
	for range 20 {
		recs, _ := numberedRecords(0, 10)
		_, err := fh.PutRecordBatch(ctxTimeout(t), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("f"), Records: recs})
		code, _, status := apiErrorOf(t, err)
		if status != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", status)
		}
		codes[code]++
	}
	if codes["ServiceUnavailableException"] == 0 || codes["InternalFailure"] == 0 || len(codes) != 2 {
		t.Errorf("codes = %v, want both ServiceUnavailableException and InternalFailure only", codes)
	}
	if err := srv.Flush(ctxTimeout(t)); err != nil {
		t.Fatal(err)
	}
	if got := allDelivered(t, srv.DataDir(), "bkt"); got != "" {
		t.Errorf("failed requests delivered %q", got)
	}
}

func TestLostResponseDeliversButTheClientSeesAnError(t *testing.T) {
	srv, url := startServer(t, Faults(FaultConfig{Seed: 1, LostResponseRate: 1}))
	fh := firehoseClient(url, 1)
	createStream(t, fh, "f", "bkt", "", 5, 300)
	recs, lines := numberedRecords(0, 50)
	_, err := fh.PutRecordBatch(ctxTimeout(t), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("f"), Records: recs})
	if err == nil {
		t.Fatal("PutRecordBatch succeeded; want a connection error")
	}
	_, err = fh.PutRecord(ctxTimeout(t), &firehose.PutRecordInput{DeliveryStreamName: aws.String("f"), Record: &types.Record{Data: []byte("single\n")}})
	if err == nil {
		t.Fatal("PutRecord succeeded; want a connection error")
	}
	if err := srv.Flush(ctxTimeout(t)); err != nil {
		t.Fatal(err)
	}
	if got, want := allDelivered(t, srv.DataDir(), "bkt"), strings.Join(lines, "")+"single\n"; got != want {
		t.Errorf("delivered %q, want %q", got, want)
	}
}

func TestLatencyRespectsTheClientDeadline(t *testing.T) {
	srv, url := startServer(t, Faults(FaultConfig{Latency: 300 * time.Millisecond}))
	fh := firehoseClient(url, 1)
	createStream(t, fh, "f", "bkt", "", 5, 300)

	start := time.Now()
	if _, err := fh.PutRecord(ctxTimeout(t), &firehose.PutRecordInput{DeliveryStreamName: aws.String("f"), Record: &types.Record{Data: []byte("slow")}}); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answer after %v, want at least the 300ms latency", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("f"), Record: &types.Record{Data: []byte("late")}}); err == nil {
		t.Fatal("PutRecord with a 50ms deadline succeeded")
	}
	time.Sleep(400 * time.Millisecond) // let the handler see the cancelled request
	if err := srv.Flush(ctxTimeout(t)); err != nil {
		t.Fatal(err)
	}
	if got := allDelivered(t, srv.DataDir(), "bkt"); got != "slow" {
		t.Errorf("delivered %q, want only %q (the cancelled request is never accepted)", got, "slow")
	}
}
