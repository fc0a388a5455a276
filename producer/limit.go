package producer

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Batch caps of the rate limits.
const (
	// batchesPerSecond: a batch carries at most this fraction of one
	// second of the adaptive limits (see batchCap).
	batchesPerSecond = 4
	// staticBatchesPerSecond: a batch carries at most this fraction of one
	// second of a static limit (see batchShare).
	staticBatchesPerSecond = 64
)

// limiter keeps PutRecord and PutRecordBatch within the static quotas
// (records/s, bytes/s, requests/s; golang.org/x/time/rate token buckets) and,
// when Adaptive is on, within a records/s and bytes/s rate found by AIMD:
// throttled records cut both to adaptiveDecrease of the rate the service
// accepted over the last second, and every adaptiveInterval without a cut adds
// adaptiveIncrease of the rate at the cut. Cutting both dimensions by the
// same factor cuts whichever of them is the binding quota while record sizes
// stay steady; the other one stays above the traffic and does not bind.
// The AIMD is in adaptive.go, and the start ramp that paces a quota not yet
// found in ramp.go.
type limiter struct {
	records, bytes, requests *rate.Limiter

	staticRecords, staticBytes float64 // 0 = none
	adaptive                   bool

	mu sync.Mutex
	// adRecords and adBytes are the adaptive limits, records/s and bytes/s.
	adRecords, adBytes adaptiveRate
	lastCut            time.Time
	lastRaise          time.Time
	sent, taken        meter // records and bytes sent, and accepted by the service
	throttleCut        int64 // number of cuts, for tests and logs
	// secondLook: the first cut has been corrected (see secondLookLocked).
	secondLook bool
	// ramp is the start ramp (see rampLocked).
	ramp startRamp
	// changed is closed (and replaced) whenever the adaptive limits are
	// set, so workers parked in take can follow a raise or a lift.
	changed chan struct{}
	// capRecords and capBytes are the most a batch may carry at the rate
	// limits (0 = none), read by the batcher for every record: see batchCap.
	capRecords, capBytes atomic.Int64
}

func newLimiter(cfg config) *limiter {
	now := time.Now()
	mk := func(perSecond float64, burst int) *rate.Limiter {
		if perSecond <= 0 {
			return rate.NewLimiter(rate.Inf, burst)
		}
		lim := rate.NewLimiter(rate.Limit(perSecond), burst)
		startEmpty(lim, now)
		return lim
	}
	l := &limiter{
		records:       mk(cfg.maxRecordsPerSecond, cfg.maxBatchRecords),
		bytes:         mk(cfg.maxBytesPerSecond, cfg.maxBatchBytes),
		requests:      mk(cfg.maxRequestsPerSecond, max(1, int(cfg.maxRequestsPerSecond/10))),
		staticRecords: cfg.maxRecordsPerSecond,
		staticBytes:   cfg.maxBytesPerSecond,
		adaptive:      cfg.adaptive,
		adRecords:     adaptiveRate{floor: minAdaptiveRecords},
		adBytes:       adaptiveRate{floor: minAdaptiveBytes},
		changed:       make(chan struct{}),
	}
	// A dimension whose quota is known (a static limit) needs no ramp.
	l.ramp.records = cfg.adaptive && cfg.maxRecordsPerSecond <= 0
	l.ramp.bytes = cfg.adaptive && cfg.maxBytesPerSecond <= 0
	l.applyLocked() // the batch caps of the static limits
	return l
}

// startEmpty empties lim's bucket at now. A limit starts with its bucket
// empty: full, it let a whole burst through at once (4 MiB of bytes/s, 0.8 s
// of a 5 MiB/s limit), and a 4.6 s run sent 11% over the limit.
func startEmpty(lim *rate.Limiter, now time.Time) { lim.AllowN(now, lim.Burst()) }

// wait blocks until records Firehose records of bytes bytes may be sent in
// one request, or ctx is done. The bursts are one batch (New caps a batch at
// one second of a static quota), so the requests/s, records/s and bytes/s
// buckets each let at most one request through at once. A request larger
// than a burst (a PutRecord of a big record under a small bytes/s limit)
// waits for a full burst instead of failing.
func (l *limiter) wait(ctx context.Context, records, bytes int) error {
	if l.ramp.live() {
		l.mu.Lock()
		l.rampLocked(time.Now())
		l.mu.Unlock()
	}
	if err := l.requests.Wait(ctx); err != nil {
		return fmt.Errorf("wait for request quota: %w", err)
	}
	if err := l.take(ctx, l.records, min(records, l.records.Burst())); err != nil {
		return fmt.Errorf("wait for records quota: %w", err)
	}
	if err := l.take(ctx, l.bytes, min(bytes, l.bytes.Burst())); err != nil {
		return fmt.Errorf("wait for bytes quota: %w", err)
	}
	if l.adaptive {
		l.mu.Lock()
		l.sent.add(time.Now(), records, bytes)
		l.mu.Unlock()
	}
	return nil
}

// take is lim.WaitN(ctx, n) for the records and bytes buckets, whose rate
// the adaptive control changes while workers wait. A reservation keeps its
// place in line (FIFO, so a big batch is not starved by small ones), but a
// waiter keeps the schedule of the rate it reserved at, so when the rate
// changes the rest of the wait scales by old rate / new rate: the queue
// ahead drains at the new rate. Without it, a raise after a cut to the
// floor left many workers idle for seconds while the quota was free, and a
// cut let every worker parked on the old schedule (up to the in-flight
// limit of them) go out at the rate that had just been throttled: at
// loopback, a dozen requests more in each cut, most of them throttled
// again. A lift ends the wait at once.
func (l *limiter) take(ctx context.Context, lim *rate.Limiter, n int) error {
	l.mu.Lock()
	now := time.Now()
	r := lim.ReserveN(now, n)
	rateAt := lim.Limit()
	changed := l.changed
	l.mu.Unlock()
	if !r.OK() {
		return fmt.Errorf("rate: cannot take %d tokens, burst %d", n, lim.Burst())
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	deadline := now.Add(d)
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return nil
		case <-ctx.Done():
			r.Cancel()
			return ctx.Err()
		case <-changed:
			l.mu.Lock()
			newRate := lim.Limit()
			changed = l.changed
			l.mu.Unlock()
			if newRate == rateAt {
				continue
			}
			if newRate == rate.Inf {
				return nil
			}
			left := time.Until(deadline)
			deadline = time.Now().Add(time.Duration(float64(left) * float64(rateAt) / float64(newRate)))
			rateAt = newRate
			timer.Reset(time.Until(deadline))
		}
	}
}

// batchCap bounds a batch to a quarter of a second of the rate limits
// (batchesPerSecond): below four full batches per second (a quota of a few
// hundred or thousand records/s, or 100 KB records under a bytes/s quota of
// a few MiB), requests shrink and go paced at the rate, a few a second,
// instead of a whole second's worth landing at once and overrunning the
// quota when the next one follows early. Under a static limit a batch is
// also at most 1/staticBatchesPerSecond of it (see batchShare). A nil
// limiter caps nothing.
func (l *limiter) batchCap(maxRecords, maxBytes int) (records, bytes int) {
	if l == nil {
		return maxRecords, maxBytes
	}
	if r := l.capRecords.Load(); r > 0 {
		maxRecords = min(maxRecords, int(r))
	}
	if b := l.capBytes.Load(); b > 0 {
		maxBytes = min(maxBytes, int(b))
	}
	return maxRecords, maxBytes
}

// limits returns the records/s and bytes/s limits found so far, the static
// and adaptive ones (0 = none); the start ramp is not one.
func (l *limiter) limits() (records, bytes float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return effective(l.staticRecords, l.adRecords.limit), effective(l.staticBytes, l.adBytes.limit)
}

// batchShare is the most one batch may carry of a rate limit: a quarter
// second of the effective limit (batchesPerSecond), and at most
// 1/staticBatchesPerSecond of a static one (0 = none, and so is the
// result). A static limit is the stream's quota when it is known, and a
// known quota is not probed with big requests: on a shared stream a
// request that lands when the stream is full comes back throttled whole
// or in part, and four producers sharing a 2 MiB/s stream had 2.0-2.4% of
// their records throttled with 100 KB requests, 0.9% with 25 KB ones.
func batchShare(effectiveLimit, static float64) float64 {
	share := effectiveLimit / batchesPerSecond
	if static > 0 {
		share = min(share, static/staticBatchesPerSecond)
	}
	return share
}

func effective(static, adaptive float64) float64 {
	switch {
	case static > 0 && adaptive > 0:
		return min(static, adaptive)
	case static > 0:
		return static
	default:
		return adaptive
	}
}

func (l *limiter) applyLocked() {
	set := func(lim *rate.Limiter, perSecond float64) {
		if perSecond <= 0 {
			lim.SetLimit(rate.Inf)
			return
		}
		lim.SetLimit(rate.Limit(perSecond))
	}
	records, bytes := effective(l.staticRecords, l.adRecords.limit), effective(l.staticBytes, l.adBytes.limit)
	rampRecords, rampBytes := l.ramp.limits()
	records, bytes = effective(records, rampRecords), effective(bytes, rampBytes)
	set(l.records, records)
	set(l.bytes, bytes)
	l.capRecords.Store(int64(math.Ceil(batchShare(records, l.staticRecords))))
	l.capBytes.Store(int64(math.Ceil(batchShare(bytes, l.staticBytes))))
	close(l.changed)
	l.changed = make(chan struct{})
}
