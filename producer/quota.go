package producer

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Where ReadQuota finds the quota: the limit metrics Firehose publishes to
// CloudWatch with a stream's traffic, under the stream's name.
const (
	// quotaWindow is how far back ReadQuota looks: as far as CloudWatch
	// keeps the metrics (hourly datapoints for 455 days). A quota changes
	// rarely (raised on request, or by Firehose for a stream throttled by
	// growing traffic), so a stream used at any time in that span tells
	// its quota; a weekly or monthly job's stream has not had traffic
	// that day.
	quotaWindow = 455 * 24 * time.Hour
	// quotaPeriod is the datapoint period of the query: a day, so at most
	// 456 datapoints per metric, and the newest is the highest limit of
	// the stream's last day with traffic.
	quotaPeriod = 24 * time.Hour
)

// quotaMetrics are the limit metrics ReadQuota reads, in Quota's order.
var quotaMetrics = [...]string{"BytesPerSecondLimit", "RecordsPerSecondLimit", "PutRequestsPerSecondLimit"}

// CloudWatchAPI is the CloudWatch call ReadQuota makes; *cloudwatch.Client
// implements it.
type CloudWatchAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ CloudWatchAPI = (*cloudwatch.Client)(nil)

// Quota is a delivery stream's throughput quota, as Firehose reports it in
// the stream's CloudWatch limit metrics. A zero field is not known.
type Quota struct {
	BytesPerSecond    float64
	RecordsPerSecond  float64
	RequestsPerSecond float64
	// AsOf is the start of the stream's last UTC day with traffic, the
	// day of the newest datapoint (zero when none).
	AsOf time.Time
}

// Known reports whether any of the limits is known.
func (q Quota) Known() bool {
	return q.BytesPerSecond > 0 || q.RecordsPerSecond > 0 || q.RequestsPerSecond > 0
}

// Predates reports whether q is known and its newest datapoint's day ended
// by t. With t the stream's CreateTimestamp (DescribeDeliveryStream), the
// limits were an earlier stream's of the same name: CloudWatch keeps a
// deleted stream's metrics, and a stream created again starts at its
// region's default quota. (A stream deleted and created again on the same
// day is not told apart: the day's datapoint covers both.)
func (q Quota) Predates(t time.Time) bool {
	return q.Known() && !t.IsZero() && !q.AsOf.Add(quotaPeriod).After(t)
}

// ReadQuota reads a stream's quota from the BytesPerSecondLimit,
// RecordsPerSecondLimit and PutRequestsPerSecondLimit metrics Firehose
// publishes to CloudWatch with the stream's traffic: their value on the
// stream's last day with traffic, as far back as CloudWatch keeps them
// (455 days). One GetMetricData call (the policy needs
// cloudwatch:GetMetricData; CloudWatch bills three metrics read). A stream
// without traffic in that span gives a Quota that is not Known, and no
// error. Give the result to New as KnownQuota.
func ReadQuota(ctx context.Context, cw CloudWatchAPI, stream string) (Quota, error) {
	end := time.Now().UTC().Truncate(quotaPeriod).Add(quotaPeriod)
	dims := []types.Dimension{{Name: aws.String("DeliveryStreamName"), Value: aws.String(stream)}}
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(end.Add(-quotaWindow)), EndTime: aws.Time(end)}
	byID := make(map[string]int, len(quotaMetrics)) // query id -> index in quotaMetrics
	for i, name := range quotaMetrics {
		id := fmt.Sprintf("q%d", i)
		byID[id] = i
		in.MetricDataQueries = append(in.MetricDataQueries, types.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String("AWS/Firehose"), MetricName: aws.String(name), Dimensions: dims},
				Period: aws.Int32(int32(quotaPeriod / time.Second)),
				Stat:   aws.String("Maximum"),
			},
			ReturnData: aws.Bool(true),
		})
	}
	var q Quota
	fields := [...]*float64{&q.BytesPerSecond, &q.RecordsPerSecond, &q.RequestsPerSecond}
	var newest [len(quotaMetrics)]time.Time
	pages := cloudwatch.NewGetMetricDataPaginator(cw, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return Quota{}, fmt.Errorf("read the quota of stream %q from CloudWatch: %w", stream, err)
		}
		for _, res := range out.MetricDataResults {
			i, ok := byID[aws.ToString(res.Id)]
			if !ok {
				continue
			}
			for j := range min(len(res.Timestamps), len(res.Values)) {
				if ts := res.Timestamps[j]; ts.After(newest[i]) {
					newest[i], *fields[i] = ts, res.Values[j]
					if ts.After(q.AsOf) {
						q.AsOf = ts
					}
				}
			}
		}
	}
	return q, nil
}

// KnownQuota gives the producer the stream's quota (from ReadQuota, or
// from your own configuration) as its static limits: each of
// MaxRecordsPerSecond, MaxBytesPerSecond and MaxRequestsPerSecond becomes
// the quota's value where that option is unset or higher, whatever the
// order of the options. Under the quota a producer alone on the stream has
// nothing throttled, not even in the first second (the service's buckets
// start full, and a sender that must find the quota goes over it once);
// the in-flight limit goes
// straight to what the quota needs; and requests carry at most 1/64 of a
// second of it, so producers sharing the stream lose less when it is full.
// A limit not known (zero) is left to the adaptive rate control, as is a
// bytes/s quota under MinBytesPerSecond.
func KnownQuota(q Quota) Option { return func(c *config) { c.quota = q } }

// applyQuota lowers the static limits to the known quota (see KnownQuota).
func (c *config) applyQuota() {
	lower := func(limit *float64, quota float64) {
		if quota >= 1 && (*limit <= 0 || quota < *limit) {
			*limit = quota
		}
	}
	lower(&c.maxRecordsPerSecond, c.quota.RecordsPerSecond)
	lower(&c.maxRequestsPerSecond, c.quota.RequestsPerSecond)
	if c.quota.BytesPerSecond >= MinBytesPerSecond {
		lower(&c.maxBytesPerSecond, c.quota.BytesPerSecond)
	}
}
