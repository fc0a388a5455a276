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
	// QuotaWindow is how far back FetchQuota looks for the limit metrics.
	QuotaWindow = 24 * time.Hour
	// quotaPeriod is the datapoint period of the quota query: 288 points
	// per metric over QuotaWindow, one page.
	quotaPeriod = 5 * time.Minute
)

// quotaMetrics are the limit metrics FetchQuota reads, in Quota's order.
var quotaMetrics = []string{BytesPerSecondLimit, RecordsPerSecondLimit, PutRequestsPerSecondLimit}

// Quota is a stream's throughput quota, from the newest datapoint of each
// limit metric. A zero field was not reported.
type Quota struct {
	BytesPerSecond    float64
	RecordsPerSecond  float64
	RequestsPerSecond float64
	// At is the time of the newest datapoint (zero when none came back).
	At time.Time
}

// Known reports whether any of the limits was reported.
func (q Quota) Known() bool {
	return q.BytesPerSecond > 0 || q.RecordsPerSecond > 0 || q.RequestsPerSecond > 0
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
