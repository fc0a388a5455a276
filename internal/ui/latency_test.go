package ui

import (
	"errors"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/producer"
)

func TestLatencyHistogramQuantiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		values   []time.Duration
		p50, p99 time.Duration
	}{
		{name: "empty", values: nil, p50: 0, p99: 0},
		{name: "one value", values: []time.Duration{10 * time.Millisecond}, p50: 10 * time.Millisecond, p99: 10 * time.Millisecond},
		{name: "skewed", values: append(repeatDur(98, time.Millisecond), time.Second, time.Second), p50: time.Millisecond, p99: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var h LatencyHistogram
			for _, v := range tc.values {
				h.Observe(v)
			}
			check := func(q float64, want time.Duration) {
				got := h.Quantile(q)
				if want == 0 && got != 0 || got < want || float64(got) > float64(want)*1.26 {
					t.Errorf("Quantile(%v) = %v, want %v (up to 25%% over)", q, got, want)
				}
			}
			check(0.5, tc.p50)
			check(0.99, tc.p99)
		})
	}
	for d := time.Microsecond; d < time.Hour; d = d*3/2 + time.Microsecond {
		if i := bucketOf(d); bucketUpper(i) <= d && i < latencyBuckets-1 {
			t.Fatalf("bucket %d upper %v <= value %v", i, bucketUpper(i), d)
		}
	}
}

// TestLatencyHistogramCountsAnsweredCalls: a call that failed whole has no
// service latency to show; one answered with failed entries has.
func TestLatencyHistogramCountsAnsweredCalls(t *testing.T) {
	t.Parallel()
	var h LatencyHistogram
	h.OnCall(producer.CallInfo{API: "PutRecordBatch", Records: 500, Failed: 3, Latency: 2 * time.Millisecond})
	h.OnCall(producer.CallInfo{API: "PutRecordBatch", Records: 500, Latency: time.Hour, Err: errors.New("timeout")})
	if got := h.Quantile(1); got < 2*time.Millisecond || got > 3*time.Millisecond {
		t.Errorf("max latency %v, want about 2ms: the failed call must not count", got)
	}
}

func repeatDur(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
