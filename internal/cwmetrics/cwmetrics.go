// Package cwmetrics reads a delivery stream's CloudWatch metrics (namespace
// AWS/Firehose) in one GetMetricData call, polls until sent records become
// visible, and renders the report.
package cwmetrics

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Namespace and dimension of the Firehose metrics.
const (
	Namespace = "AWS/Firehose"
	Dimension = "DeliveryStreamName"
)

// Defaults used when the corresponding field or argument is zero.
const (
	// DefaultPeriod is the metric period (CloudWatch publishes Firehose
	// metrics per minute).
	DefaultPeriod = time.Minute
	// DefaultWindow is how far back Start goes when it is zero.
	DefaultWindow = 15 * time.Minute
	// DefaultInterval is the polling interval of Wait.
	DefaultInterval = 15 * time.Second
)

// Metrics are the metric names of the report, in report order. All use the
// Sum statistic except DeliveryToS3.Success, which uses Average (the share of
// successful deliveries, 0 to 1).
var Metrics = []string{
	"IncomingBytes", "IncomingRecords", "IncomingPutRequests", "ThrottledRecords",
	"DeliveryToS3.Records", "DeliveryToS3.Bytes", "DeliveryToS3.Success",
}

// StatFor returns the statistic the report uses for a metric name.
func StatFor(metric string) string {
	if metric == "DeliveryToS3.Success" {
		return "Average"
	}
	return "Sum"
}

// Query selects the stream and the time range of a report.
type Query struct {
	// Stream is the delivery stream name (required).
	Stream string
	// Start is the beginning of the range, truncated down to the period
	// (zero = End minus DefaultWindow).
	Start time.Time
	// End is the end of the range, rounded up to the period (zero = now,
	// re-read at every poll of Wait).
	End time.Time
	// Period is the datapoint period (zero = DefaultPeriod). It must be whole
	// seconds (else ErrBadPeriod); CloudWatch wants a multiple of 60 s for
	// these metrics.
	Period time.Duration
}

// Series is one metric's datapoints in the range.
type Series struct {
	// Name is the metric name, Stat the statistic (Sum or Average).
	Name, Stat string
	// Timestamps and Values are the datapoints, oldest first.
	Timestamps []time.Time
	Values     []float64
	// Total is the sum of Values for Sum, their mean for Average.
	Total float64
	// HasData reports whether any datapoint came back.
	HasData bool
}

// Report is the result of a query: one Series per entry of Metrics, in order.
type Report struct {
	Stream     string
	Start, End time.Time
	// Period is the datapoint period (zero: DefaultPeriod).
	Period time.Duration
	Series []Series
}

// Get returns the series of a metric by name.
func (r Report) Get(name string) (Series, bool) {
	for _, s := range r.Series {
		if s.Name == name {
			return s, true
		}
	}
	return Series{}, false
}

// API is the part of *cloudwatch.Client that this package uses.
type API interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ API = (*cloudwatch.Client)(nil)

// resolve fills the defaults and aligns the range to the period.
func (q Query) resolve(now time.Time) (Query, error) {
	if q.Stream == "" {
		return q, ErrNoStream
	}
	if q.Period == 0 {
		q.Period = DefaultPeriod
	}
	if q.Period < time.Second || q.Period%time.Second != 0 || q.Period/time.Second > math.MaxInt32 {
		return q, fmt.Errorf("%w: %s", ErrBadPeriod, q.Period)
	}
	if q.End.IsZero() {
		q.End = now
	}
	if q.Start.IsZero() {
		q.Start = q.End.Add(-DefaultWindow)
	}
	q.Start = q.Start.UTC().Truncate(q.Period)
	end := q.End.UTC().Truncate(q.Period)
	if end.Before(q.End) {
		end = end.Add(q.Period)
	}
	q.End = end
	if !q.End.After(q.Start) {
		return q, fmt.Errorf("%w (%s, %s)", ErrBadRange, q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339))
	}
	return q, nil
}

// Fetch reads every metric of Metrics for q in one GetMetricData request
// (following NextToken pages) and returns them as a Report. Metrics without
// datapoints have HasData false; that is not an error.
func Fetch(ctx context.Context, api API, q Query) (Report, error) {
	q, err := q.resolve(time.Now())
	if err != nil {
		return Report{}, err
	}
	series, err := fetchSeries(ctx, api, q, Metrics, StatFor)
	if err != nil {
		return Report{}, err
	}
	return Report{Stream: q.Stream, Start: q.Start, End: q.End, Period: q.Period, Series: series}, nil
}

// fetchSeries reads the named metrics of q's stream, each with the
// statistic stat gives, in one GetMetricData request (following NextToken
// pages). q must be resolved.
func fetchSeries(ctx context.Context, api API, q Query, names []string, stat func(string) string) ([]Series, error) {
	dims := []types.Dimension{{Name: aws.String(Dimension), Value: aws.String(q.Stream)}}
	queries := make([]types.MetricDataQuery, len(names))
	series := make([]Series, len(names))
	byID := make(map[string]*Series, len(names))
	for i, name := range names {
		id := fmt.Sprintf("m%d", i)
		queries[i] = types.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(Namespace), MetricName: aws.String(name), Dimensions: dims},
				Period: aws.Int32(int32(q.Period / time.Second)), //nolint:gosec // resolve bounds Period to int32 seconds
				Stat:   aws.String(stat(name)),
			},
			ReturnData: aws.Bool(true),
		}
		series[i] = Series{Name: name, Stat: stat(name)}
		byID[id] = &series[i]
	}
	in := &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries,
		StartTime:         aws.Time(q.Start),
		EndTime:           aws.Time(q.End),
		ScanBy:            types.ScanByTimestampAscending,
	}
	paginator := cloudwatch.NewGetMetricDataPaginator(api, in)
	for paginator.HasMorePages() {
		out, err := paginator.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("get metrics of stream %q: %w", q.Stream, err)
		}
		for _, res := range out.MetricDataResults {
			s, ok := byID[aws.ToString(res.Id)]
			if !ok {
				continue
			}
			n := min(len(res.Timestamps), len(res.Values))
			s.Timestamps = append(s.Timestamps, res.Timestamps[:n]...)
			s.Values = append(s.Values, res.Values[:n]...)
		}
	}
	for i := range series {
		series[i].finish()
	}
	return series, nil
}

// finish sorts the datapoints by time and computes Total and HasData.
func (s *Series) finish() {
	sort.Sort(byTime{s})
	s.HasData = len(s.Values) > 0
	s.Total = 0
	for _, v := range s.Values {
		s.Total += v
	}
	if s.Stat == "Average" && s.HasData {
		s.Total /= float64(len(s.Values))
	}
}

type byTime struct{ s *Series }

func (b byTime) Len() int           { return len(b.s.Values) }
func (b byTime) Less(i, j int) bool { return b.s.Timestamps[i].Before(b.s.Timestamps[j]) }
func (b byTime) Swap(i, j int) {
	b.s.Timestamps[i], b.s.Timestamps[j] = b.s.Timestamps[j], b.s.Timestamps[i]
	b.s.Values[i], b.s.Values[j] = b.s.Values[j], b.s.Values[i]
}

// Wait polls Fetch every interval (zero = DefaultInterval) until the
// IncomingRecords total reaches wantRecords or maxWait has passed (maxWait
// zero = a single query), calling onPoll (if not nil) with each report. It
// returns the last report; missing data is not an error (the renderer says
// so). It returns early with ctx's error when ctx is done, and with Fetch's
// error when a query fails.
func Wait(ctx context.Context, api API, q Query, wantRecords int64, maxWait, interval time.Duration, onPoll func(Report)) (Report, error) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	deadline := time.Now().Add(maxWait)
	for {
		report, err := Fetch(ctx, api, q)
		if err != nil {
			return report, err
		}
		if onPoll != nil {
			onPoll(report)
		}
		incoming, _ := report.Get("IncomingRecords")
		remaining := time.Until(deadline)
		if incoming.Total >= float64(wantRecords) || remaining <= 0 {
			return report, nil
		}
		timer := time.NewTimer(min(interval, remaining))
		select {
		case <-ctx.Done():
			timer.Stop()
			return report, fmt.Errorf("wait for metrics of stream %q: %w", q.Stream, ctx.Err())
		case <-timer.C:
		}
	}
}
