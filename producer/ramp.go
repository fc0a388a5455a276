package producer

import (
	"math"
	"sync/atomic"
	"time"
)

// The start ramp (see rampLocked).
const (
	// startRecords and startBytes are where the start ramp begins (see
	// rampLocked): three times the largest default DirectPut quota
	// (500,000 records/s, 5 MiB/s).
	startRecords = 3 * 500_000
	startBytes   = 3 * 5 * 1024 * 1024
	// startDoubling is how often the start ramp doubles. Only an endpoint
	// with no quota pays for the ramp, in its first few hundred
	// milliseconds: on a million records at loopback, 840,000 records/s
	// against 945,000 without it (650,000 doubling every 250 ms, 900,000
	// every 50 ms). A 2 MiB/s stream at loopback throttled 0.2-0.3% of
	// 300,000 records doubling every 100 ms, 0.1-0.7% every 50 ms. The
	// realistic case is a nearby producer and a small quota (1 MiB/s is
	// the default in most regions).
	startDoubling = 100 * time.Millisecond
	// startDoublings: after this many doublings (256 times the start,
	// some 4 GB/s, in under a second) the ramp ends.
	startDoublings = 8
)

// startRamp bounds the rate before the first throttle, while the quota is
// unknown: from startRecords and startBytes it doubles every startDoubling
// (see rampLocked).
type startRamp struct {
	records, bytes bool      // the dimensions it paces (no static limit)
	start          time.Time // the first request; zero: not started
	doublings      int       // since start
	// ended: throttled, or startDoublings reached. Written under the
	// limiter's lock; atomic so that wait stops taking the lock for the
	// ramp once it is over.
	ended atomic.Bool
}

// live reports whether the ramp paces anything or may yet.
func (r *startRamp) live() bool { return (r.records || r.bytes) && !r.ended.Load() }

// limits returns the ramp's records/s and bytes/s limits (0 = none).
func (r *startRamp) limits() (records, bytes float64) {
	if r.start.IsZero() || r.ended.Load() {
		return 0, 0
	}
	scale := math.Ldexp(1, r.doublings)
	if r.records {
		records = startRecords * scale
	}
	if r.bytes {
		bytes = startBytes * scale
	}
	return records, bytes
}

// rampLocked moves the start ramp to now. The service's token buckets start
// full, with a second of quota, and until they run dry nothing says where
// the quota is. The in-flight limit bounds what is sent per round trip, but
// at a few milliseconds of latency round trips are so short that, paced by
// it alone, the sender reaches 50 MB/s within 40 ms (more in short bursts),
// and a 2 MiB/s stream throttled every request in flight when its burst ran
// out (0.8-2.7% of a 300,000-record run). The ramp bounds the rate in time
// instead: from three times the largest default quota, doubling every
// startDoubling. Paced, the bytes in flight are the rate times the round
// trip, a few requests at loopback (0.2-0.3% throttled); at 25 ms and more
// the in-flight limit's slow start is slower than the ramp, and the ramp
// does not bind. The first throttle, or startDoublings, ends it.
func (l *limiter) rampLocked(now time.Time) {
	r := &l.ramp
	if !r.live() {
		return
	}
	if r.start.IsZero() {
		r.start = now
		// The buckets are unlimited until now and hold a full burst.
		l.applyLocked()
		if r.records {
			startEmpty(l.records, now)
		}
		if r.bytes {
			startEmpty(l.bytes, now)
		}
		return
	}
	d := int(now.Sub(r.start) / startDoubling)
	if d == r.doublings {
		return
	}
	r.doublings = d
	if d >= startDoublings {
		r.ended.Store(true)
	}
	l.applyLocked()
}
