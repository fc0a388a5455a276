package ui

import (
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/firehose-tools/firehose/producer"
)

// LatencyHistogram is a producer.CallHook that records the latency of every
// successful API call (one the service answered, even with failed entries)
// for the summary's percentiles. It is safe for concurrent use, and its zero
// value is ready.
//
// Durations go to fixed log-linear buckets of microseconds: values below
// 4 µs have their own bucket, then each power of two is split in four. A
// percentile is the upper bound of its bucket, at most about 25% above the
// true value.
type LatencyHistogram struct {
	counts [latencyBuckets]atomic.Int64
}

var _ producer.CallHook = (*LatencyHistogram)(nil)

const latencyBuckets = 4 * 40

// OnCall records info's latency when the call was answered.
func (h *LatencyHistogram) OnCall(info producer.CallInfo) {
	if info.Err == nil {
		h.Observe(info.Latency)
	}
}

// Observe records one latency.
func (h *LatencyHistogram) Observe(d time.Duration) { h.counts[bucketOf(d)].Add(1) }

// Quantile returns the upper bound of the bucket holding quantile q (0..1),
// or 0 when nothing was observed.
func (h *LatencyHistogram) Quantile(q float64) time.Duration {
	var snapshot [latencyBuckets]int64
	var total int64
	for i := range h.counts {
		snapshot[i] = h.counts[i].Load()
		total += snapshot[i]
	}
	if total == 0 {
		return 0
	}
	rank := int64(q*float64(total) + 0.999999)
	rank = max(rank, 1)
	var cum int64
	for i, c := range snapshot {
		cum += c
		if cum >= rank {
			return bucketUpper(i)
		}
	}
	return bucketUpper(latencyBuckets - 1)
}

func bucketOf(d time.Duration) int {
	us := d.Microseconds()
	if us < 4 {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - 1 // floor(log2 us) >= 2
	top := int(us >> (e - 2))       // 4..7
	return min((e-2)*4+top, latencyBuckets-1)
}

// bucketUpper is the exclusive upper bound of bucket i.
func bucketUpper(i int) time.Duration {
	if i < 4 {
		return time.Duration(i+1) * time.Microsecond
	}
	e := i/4 + 1
	top := i%4 + 4
	return time.Duration(int64(top+1)<<(e-2)) * time.Microsecond
}
