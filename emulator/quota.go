package emulator

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// streamQuota holds a stream's three token buckets. Each allows a burst of
// one second's worth, roughly like the real service.
type streamQuota struct {
	cfg QuotaConfig

	mu       sync.Mutex
	records  *rate.Limiter
	requests *rate.Limiter
	bytes    *rate.Limiter
}

func newStreamQuota(q QuotaConfig) *streamQuota {
	return &streamQuota{
		cfg:      q,
		records:  rate.NewLimiter(rate.Limit(q.RecordsPerSecond), q.RecordsPerSecond),
		requests: rate.NewLimiter(rate.Limit(q.RequestsPerSecond), q.RequestsPerSecond),
		bytes:    rate.NewLimiter(rate.Limit(q.BytesPerSecond), int(q.BytesPerSecond)),
	}
}

// admit decides which records of one request fit the quotas at now. It
// sets outcomes[i] to outcomeThrottled for each record over quota and
// returns how many were throttled and whether the request itself fit the
// requests/s quota (if not, every record is throttled).
func (q *streamQuota) admit(now time.Time, records [][]byte, outcomes []recordOutcome) (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.requests.AllowN(now, 1) {
		for i := range outcomes {
			outcomes[i] = outcomeThrottled
		}
		return len(records), false
	}
	recordTokens := int(q.records.TokensAt(now))
	byteTokens := q.bytes.TokensAt(now)
	total := 0
	for _, r := range records {
		total += len(r)
	}
	if len(records) <= recordTokens && float64(total) <= byteTokens {
		q.records.AllowN(now, len(records))
		q.bytes.AllowN(now, total)
		return 0, true
	}
	acceptedRecords, acceptedBytes, nThrottled := 0, 0, 0
	for i, r := range records {
		if acceptedRecords+1 <= recordTokens && float64(acceptedBytes+len(r)) <= byteTokens {
			acceptedRecords++
			acceptedBytes += len(r)
			continue
		}
		outcomes[i] = outcomeThrottled
		nThrottled++
	}
	q.records.AllowN(now, acceptedRecords)
	q.bytes.AllowN(now, acceptedBytes)
	return nThrottled, true
}
