package cwmetrics

import (
	"context"
	"time"
)

// The stream's quota as Firehose reports it in CloudWatch: the limit
// metrics come with the stream's traffic, so a stream that received
// nothing in QuotaWindow has none.
const (
	BytesPerSecondLimit       = "BytesPerSecondLimit"
	RecordsPerSecondLimit     = "RecordsPerSecondLimit"
	PutRequestsPerSecondLimit = "PutRequestsPerSecondLimit"
	// QuotaWindow is how far back FetchQuota looks for the limit metrics:
	// as far as CloudWatch keeps them (hourly datapoints for 455 days).
	// A quota changes rarely (raised on request, or by Firehose for a
	// stream throttled by growing traffic), so a stream used at any time
	// in that span tells its quota; a weekly or monthly job's stream has
	// not had traffic that day.
	QuotaWindow = 455 * 24 * time.Hour
	// quotaPeriod is the datapoint period of the quota query: a day, so at
	// most 456 points per metric over QuotaWindow, one page, and the
	// newest is the highest limit of the stream's last day with traffic.
	quotaPeriod = 24 * time.Hour
)

// quotaMetrics are the limit metrics FetchQuota reads, in Quota's order.
var quotaMetrics = []string{BytesPerSecondLimit, RecordsPerSecondLimit, PutRequestsPerSecondLimit}

// Quota is a stream's throughput quota, from the newest datapoint of each
// limit metric. A zero field was not reported.
type Quota struct {
	BytesPerSecond    float64
	RecordsPerSecond  float64
	RequestsPerSecond float64
	// At is the start of the newest datapoint's period, the stream's last
	// UTC day with traffic (zero when none came back).
	At time.Time
}

// Known reports whether any of the limits was reported.
func (q Quota) Known() bool {
	return q.BytesPerSecond > 0 || q.RecordsPerSecond > 0 || q.RequestsPerSecond > 0
}

// Predates reports whether q is known and its newest datapoint's period
// ended by t. With t the stream's creation, the limits were an earlier
// stream's of the same name: CloudWatch keeps a deleted stream's metrics,
// and a stream created again starts at its region's default quota. (A
// stream deleted and created again on the same day is not told apart:
// the day's datapoint covers both.)
func (q Quota) Predates(t time.Time) bool {
	return q.Known() && !t.IsZero() && !q.At.Add(quotaPeriod).After(t)
}

// FetchQuota reads the stream's limit metrics (BytesPerSecondLimit,
// RecordsPerSecondLimit, PutRequestsPerSecondLimit; Maximum) over the
// QuotaWindow before now, in one GetMetricData request, and returns the
// newest value of each. A stream without traffic in the window gives a
// Quota that is not Known; that is not an error.
func FetchQuota(ctx context.Context, api API, stream string, now time.Time) (Quota, error) {
	q, err := Query{Stream: stream, Start: now.Add(-QuotaWindow), End: now, Period: quotaPeriod}.resolve(now)
	if err != nil {
		return Quota{}, err
	}
	series, err := fetchSeries(ctx, api, q, quotaMetrics, func(string) string { return "Maximum" })
	if err != nil {
		return Quota{}, err
	}
	var quota Quota
	fields := []*float64{&quota.BytesPerSecond, &quota.RecordsPerSecond, &quota.RequestsPerSecond}
	for i, s := range series {
		if !s.HasData {
			continue
		}
		last := len(s.Values) - 1 // finish sorted them, oldest first
		*fields[i] = s.Values[last]
		if s.Timestamps[last].After(quota.At) {
			quota.At = s.Timestamps[last]
		}
	}
	return quota, nil
}
