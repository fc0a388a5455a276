package cwmetrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/testutil/motoserver"
)

func TestQueryResolve(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 4, 10, 7, 30, 0, time.UTC)
	tests := []struct {
		name      string
		q         Query
		wantStart time.Time
		wantEnd   time.Time
		wantErr   error
	}{
		{
			name:      "defaults: last 15 minutes aligned to the minute",
			q:         Query{Stream: "s"},
			wantStart: time.Date(2025, 3, 4, 9, 52, 0, 0, time.UTC),
			wantEnd:   time.Date(2025, 3, 4, 10, 8, 0, 0, time.UTC),
		},
		{
			name:      "start down, end up, to a 5-minute period",
			q:         Query{Stream: "s", Start: now.Add(-time.Hour), End: now, Period: 5 * time.Minute},
			wantStart: time.Date(2025, 3, 4, 9, 5, 0, 0, time.UTC),
			wantEnd:   time.Date(2025, 3, 4, 10, 10, 0, 0, time.UTC),
		},
		{
			name:      "aligned end stays",
			q:         Query{Stream: "s", Start: now.Add(-time.Hour), End: time.Date(2025, 3, 4, 10, 7, 0, 0, time.UTC)},
			wantStart: time.Date(2025, 3, 4, 9, 7, 0, 0, time.UTC),
			wantEnd:   time.Date(2025, 3, 4, 10, 7, 0, 0, time.UTC),
		},
		{name: "no stream", q: Query{}, wantErr: ErrNoStream},
		{name: "negative period", q: Query{Stream: "s", Period: -time.Minute}, wantErr: ErrBadPeriod},
		{name: "fractional period", q: Query{Stream: "s", Period: 1500 * time.Millisecond}, wantErr: ErrBadPeriod},
		{name: "end before start", q: Query{Stream: "s", Start: now, End: now.Add(-time.Hour)}, wantErr: ErrBadRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.q.resolve(now)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (!got.Start.Equal(tc.wantStart) || !got.End.Equal(tc.wantEnd)) {
				t.Errorf("range = %s..%s, want %s..%s", got.Start, got.End, tc.wantStart, tc.wantEnd)
			}
		})
	}
}

// pagedAPI is a stub GetMetricData for the pure logic of Fetch and Wait: it
// serves pages built by respond and records the inputs.
type pagedAPI struct {
	mu      sync.Mutex
	inputs  []*cloudwatch.GetMetricDataInput
	respond func(call int, in *cloudwatch.GetMetricDataInput) *cloudwatch.GetMetricDataOutput
}

func (p *pagedAPI) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inputs = append(p.inputs, in)
	return p.respond(len(p.inputs)-1, in), nil
}

func (p *pagedAPI) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.inputs)
}

func TestFetchQueriesAndPages(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	api := &pagedAPI{respond: func(call int, in *cloudwatch.GetMetricDataInput) *cloudwatch.GetMetricDataOutput {
		switch call {
		case 0: // newest datapoint first on this page, to prove sorting
			return &cloudwatch.GetMetricDataOutput{NextToken: aws.String("p2"), MetricDataResults: []types.MetricDataResult{
				{Id: aws.String("m1"), Timestamps: []time.Time{t0.Add(2 * time.Minute), t0}, Values: []float64{30, 10}},
				{Id: aws.String("m6"), Timestamps: []time.Time{t0}, Values: []float64{1}},
			}}
		default:
			return &cloudwatch.GetMetricDataOutput{MetricDataResults: []types.MetricDataResult{
				{Id: aws.String("m1"), Timestamps: []time.Time{t0.Add(time.Minute)}, Values: []float64{20}},
				{Id: aws.String("m6"), Timestamps: []time.Time{t0.Add(time.Minute)}, Values: []float64{0.5}},
				{Id: aws.String("unknown"), Timestamps: []time.Time{t0}, Values: []float64{99}},
			}}
		}
	}}
	report, err := Fetch(t.Context(), api, Query{Stream: "s1", Start: t0.Add(-30 * time.Second), End: t0.Add(3*time.Minute + time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(api.inputs) != 2 || aws.ToString(api.inputs[1].NextToken) != "p2" {
		t.Fatalf("made %d calls (second token %v), want 2 following NextToken", len(api.inputs), api.inputs[len(api.inputs)-1].NextToken)
	}
	in := api.inputs[0]
	if !in.StartTime.Equal(t0.Add(-time.Minute)) || !in.EndTime.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("range sent = %s..%s", in.StartTime, in.EndTime)
	}
	if len(in.MetricDataQueries) != len(Metrics) {
		t.Fatalf("sent %d queries, want %d in one call", len(in.MetricDataQueries), len(Metrics))
	}
	for i, mq := range in.MetricDataQueries {
		ms := mq.MetricStat
		if aws.ToString(mq.Id) != "m"+strconv.Itoa(i) || aws.ToString(ms.Metric.MetricName) != Metrics[i] ||
			aws.ToString(ms.Metric.Namespace) != "AWS/Firehose" || aws.ToInt32(ms.Period) != 60 ||
			aws.ToString(ms.Stat) != StatFor(Metrics[i]) || len(ms.Metric.Dimensions) != 1 ||
			aws.ToString(ms.Metric.Dimensions[0].Name) != "DeliveryStreamName" || aws.ToString(ms.Metric.Dimensions[0].Value) != "s1" {
			t.Errorf("query %d = %s %+v", i, aws.ToString(mq.Id), ms)
		}
	}

	records, ok := report.Get("IncomingRecords")
	if !ok || !records.HasData || records.Total != 60 || !slices.Equal(records.Values, []float64{10, 20, 30}) ||
		!records.Timestamps[0].Equal(t0) || !records.Timestamps[2].Equal(t0.Add(2*time.Minute)) {
		t.Errorf("IncomingRecords = %+v, want 10,20,30 oldest first, total 60", records)
	}
	success, _ := report.Get("DeliveryToS3.Success")
	if success.Stat != "Average" || success.Total != 0.75 {
		t.Errorf("DeliveryToS3.Success = %+v, want Average total 0.75", success)
	}
	if bytesSeries, _ := report.Get("IncomingBytes"); bytesSeries.HasData || bytesSeries.Total != 0 {
		t.Errorf("IncomingBytes = %+v, want no data", bytesSeries)
	}
	if _, ok := report.Get("NoSuchMetric"); ok {
		t.Error("Get(NoSuchMetric) found a series")
	}
}

// recordsAfter answers with IncomingRecords = value from the given call on.
func recordsAfter(fromCall int, value float64) func(int, *cloudwatch.GetMetricDataInput) *cloudwatch.GetMetricDataOutput {
	return func(call int, in *cloudwatch.GetMetricDataInput) *cloudwatch.GetMetricDataOutput {
		if call < fromCall {
			return &cloudwatch.GetMetricDataOutput{}
		}
		return &cloudwatch.GetMetricDataOutput{MetricDataResults: []types.MetricDataResult{
			{Id: aws.String("m1"), Timestamps: []time.Time{*in.StartTime}, Values: []float64{value}},
		}}
	}
}

func TestWaitPolling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		respond     func(int, *cloudwatch.GetMetricDataInput) *cloudwatch.GetMetricDataOutput
		want        int64
		maxWait     time.Duration
		interval    time.Duration
		wantPolls   int
		wantElapsed time.Duration
		wantData    bool
	}{
		{name: "maxWait zero is one query", respond: recordsAfter(99, 0), want: 10, wantPolls: 1},
		{name: "gives up after maxWait", respond: recordsAfter(99, 0), want: 10, maxWait: time.Minute, interval: 15 * time.Second,
			wantPolls: 5, wantElapsed: time.Minute},
		{name: "last poll lands on the deadline", respond: recordsAfter(99, 0), want: 10, maxWait: 40 * time.Second, interval: 15 * time.Second,
			wantPolls: 4, wantElapsed: 40 * time.Second},
		{name: "stops when the records are visible", respond: recordsAfter(2, 10), want: 10, maxWait: time.Hour, interval: 15 * time.Second,
			wantPolls: 3, wantElapsed: 30 * time.Second, wantData: true},
		{name: "partial count keeps polling", respond: recordsAfter(1, 5), want: 10, maxWait: 30 * time.Second, interval: 10 * time.Second,
			wantPolls: 4, wantElapsed: 30 * time.Second, wantData: true},
		{name: "default interval", respond: recordsAfter(99, 0), want: 1, maxWait: 30 * time.Second,
			wantPolls: 3, wantElapsed: 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				api := &pagedAPI{respond: tc.respond}
				polls := 0
				start := time.Now()
				report, err := Wait(t.Context(), api, Query{Stream: "s"}, tc.want, tc.maxWait, tc.interval, func(Report) { polls++ })
				if err != nil {
					t.Fatal(err)
				}
				elapsed := time.Since(start)
				got, _ := report.Get("IncomingRecords")
				if polls != tc.wantPolls || api.calls() != tc.wantPolls || elapsed != tc.wantElapsed || got.HasData != tc.wantData {
					t.Errorf("polls %d (calls %d), elapsed %s, HasData %v; want %d polls, %s, HasData %v",
						polls, api.calls(), elapsed, got.HasData, tc.wantPolls, tc.wantElapsed, tc.wantData)
				}
			})
		})
	}
}

func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		api := &pagedAPI{respond: recordsAfter(99, 0)}
		_, err := Wait(ctx, api, Query{Stream: "s"}, 1, time.Hour, 15*time.Second, nil)
		if !errors.Is(err, context.DeadlineExceeded) || api.calls() != 2 {
			t.Errorf("err = %v after %d calls, want DeadlineExceeded after 2", err, api.calls())
		}
	})
}

// putMetrics writes datapoints into moto's CloudWatch, as Firehose would.
func putMetrics(ctx context.Context, t *testing.T, cw *cloudwatch.Client, stream, metric string, at []time.Time, values []float64) {
	t.Helper()
	var data []types.MetricDatum
	for i := range at {
		data = append(data, types.MetricDatum{
			MetricName: aws.String(metric), Timestamp: aws.Time(at[i]), Value: aws.Float64(values[i]),
			Dimensions: []types.Dimension{{Name: aws.String(Dimension), Value: aws.String(stream)}},
		})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(Namespace), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData %s: %v", metric, err)
	}
}

func motoCloudWatch(t *testing.T) *cloudwatch.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	moto := motoserver.Start(t)
	opts := awsconf.Options{EndpointURL: moto.URL, Local: true, CloudWatchProtocol: awsconf.ProtocolJSON}
	cfg, err := awsconf.Load(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return awsconf.CloudWatch(cfg, opts)
}

func TestFetchAndWaitAgainstMoto(t *testing.T) {
	cw := motoCloudWatch(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	base := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	at := []time.Time{base.Add(time.Minute), base.Add(2 * time.Minute), base.Add(4 * time.Minute)}
	put := map[string][]float64{
		"IncomingRecords":      {100, 250, 5200},
		"IncomingBytes":        {9000, 22500, 468000},
		"IncomingPutRequests":  {100, 1, 11},
		"DeliveryToS3.Success": {1, 0.5, 1},
	}
	for metric, values := range put {
		putMetrics(ctx, t, cw, "stream-a", metric, at, values)
	}
	putMetrics(ctx, t, cw, "other-stream", "IncomingRecords", at[:1], []float64{7}) // must not be counted

	q := Query{Stream: "stream-a", Start: base, End: time.Now()}
	report, err := Fetch(ctx, cw, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Metrics {
		s, ok := report.Get(name)
		if !ok {
			t.Fatalf("report lacks %s", name)
		}
		values, wasPut := put[name]
		var want float64
		for _, v := range values {
			want += v
		}
		if StatFor(name) == "Average" && wasPut {
			want /= float64(len(values))
		}
		if s.HasData != wasPut || math.Abs(s.Total-want) > 1e-9 || (wasPut && len(s.Values) != len(values)) {
			t.Errorf("%s = %+v, want HasData %v total %v over %d datapoints", name, s, wasPut, want, len(values))
		}
	}

	// Visible records reach the target at once: one poll.
	polls := 0
	if _, err := Wait(ctx, cw, q, 5550, time.Minute, 10*time.Millisecond, func(Report) { polls++ }); err != nil || polls != 1 {
		t.Errorf("Wait for visible records: %d polls, %v; want 1 poll", polls, err)
	}

	// A stream without metrics: Wait gives up after maxWait, without error.
	polls = 0
	start := time.Now()
	report, err = Wait(ctx, cw, Query{Stream: "no-metrics", Start: base}, 10, 300*time.Millisecond, 100*time.Millisecond, func(Report) { polls++ })
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond || polls < 2 {
		t.Errorf("Wait returned after %s and %d polls, want >= 300ms and >= 2 polls", elapsed, polls)
	}
	if s, _ := report.Get("IncomingRecords"); s.HasData {
		t.Errorf("IncomingRecords of a stream without metrics = %+v, want no data", s)
	}
}

func ExampleFormatValue() {
	fmt.Println(FormatValue(5550), FormatValue(0.75), FormatValue(2.0/3))
	// Output: 5550 0.75 0.667
}
