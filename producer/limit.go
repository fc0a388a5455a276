package producer

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// AIMD parameters of the adaptive rate control.
const (
	// adaptiveDecrease is the factor applied to the observed rate on throttling.
	adaptiveDecrease = 0.7
	// adaptiveIncrease is the share of the rate at the last cut added back per
	// adaptiveInterval without throttling.
	adaptiveIncrease = 0.05
	// adaptiveInterval is how often the rate is probed up.
	adaptiveInterval = time.Second
	// adaptiveRelease: once the adaptive limit has grown to this multiple of
	// the rate at the last cut without throttling, it is lifted altogether.
	adaptiveRelease = 2.0
	// minAdaptiveRecords and minAdaptiveBytes floor the adaptive limits so a
	// burst of throttling can never stall sending: a waiter reserves its
	// tokens at the rate of the moment, so a very low floor would park a
	// whole batch for minutes even after the rate recovers. The floors sit
	// well under the smallest real DirectPut quotas (100,000 records/s and
	// 1 MiB/s per stream).
	minAdaptiveRecords = 1000
	minAdaptiveBytes   = 256 * 1024
	// minAdaptiveRecordsStep and minAdaptiveBytesStep floor the additive
	// step, so a rate cut very low still recovers in seconds.
	minAdaptiveRecordsStep = 100
	minAdaptiveBytesStep   = 100 * 1024
)

// limiter keeps PutRecord and PutRecordBatch within the static quotas
// (records/s, bytes/s, requests/s; golang.org/x/time/rate token buckets) and,
// when Adaptive is on, within a records/s and bytes/s rate found by AIMD:
// throttled records cut both to adaptiveDecrease of the rate the service
// accepted over the last second, and every adaptiveInterval without throttling adds
// adaptiveIncrease of the rate at the cut. Cutting both dimensions by the
// same factor cuts whichever of them is the binding quota while record sizes
// stay steady; the other one stays above the traffic and does not bind.
type limiter struct {
	records, bytes, requests *rate.Limiter

	staticRecords, staticBytes float64 // 0 = none
	adaptive                   bool

	mu          sync.Mutex
	adRecords   float64 // current adaptive limits; 0 = none
	adBytes     float64
	cutRecords  float64 // rates at the last cut, the base of the additive step
	cutBytes    float64
	lastCut     time.Time
	lastRaise   time.Time
	sent, taken meter // records and bytes sent, and accepted by the service
	throttleCut int64 // number of cuts, for tests and logs
	// changed is closed (and replaced) whenever the adaptive limits are
	// set, so workers parked in take can follow a raise or a lift.
	changed chan struct{}
}

func newLimiter(cfg config) *limiter {
	mk := func(perSecond float64, burst int) *rate.Limiter {
		if perSecond <= 0 {
			return rate.NewLimiter(rate.Inf, burst)
		}
		return rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	return &limiter{
		records:       mk(cfg.maxRecordsPerSecond, cfg.maxBatchRecords),
		bytes:         mk(cfg.maxBytesPerSecond, cfg.maxBatchBytes),
		requests:      mk(cfg.maxRequestsPerSecond, max(1, int(cfg.maxRequestsPerSecond/10))),
		staticRecords: cfg.maxRecordsPerSecond,
		staticBytes:   cfg.maxBytesPerSecond,
		adaptive:      cfg.adaptive,
		changed:       make(chan struct{}),
	}
}

// wait blocks until records Firehose records of bytes bytes may be sent in
// one request, or ctx is done. The bursts are one batch (New caps a batch at
// one second of a static quota), so the requests/s, records/s and bytes/s
// buckets each let at most one request through at once. A request larger
// than a burst (a PutRecord of a big record under a small bytes/s limit)
// waits for a full burst instead of failing.
func (l *limiter) wait(ctx context.Context, records, bytes int) error {
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
// waiter whose turn was scheduled at a lower rate would stay parked on that
// schedule after the rate is raised or lifted: after a cut to the floor
// with many workers waiting, that is many seconds of idle time while the
// quota is free. So when the rate rises, the rest of the wait shrinks in
// proportion (the queue ahead drains that much faster), and ends at once
// when the limit is lifted. A cut leaves reserved turns as they are.
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
			if newRate <= rateAt {
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

// accepted tells the limiter how many records and bytes the service took
// in one response: the rate at which it accepts them is the best estimate
// of the quota when it starts throttling.
func (l *limiter) accepted(records, bytes int) {
	if !l.adaptive || records == 0 {
		return
	}
	l.mu.Lock()
	l.taken.add(time.Now(), records, bytes)
	l.mu.Unlock()
}

// throttled tells the limiter that a request sent at sentAt came back with
// throttled records. It cuts the rate at most once per adaptiveInterval (the
// quotas are per second) and ignores responses to requests sent before the
// last cut. The new rate is adaptiveDecrease times the lower of the current
// limit and the rate the service accepted over the last second. It reports
// whether it cut.
func (l *limiter) throttled(sentAt time.Time) bool {
	if !l.adaptive {
		return false
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.lastCut.IsZero() && (sentAt.Before(l.lastCut) || now.Sub(l.lastCut) < adaptiveInterval) {
		return false
	}
	// The accepted rate approximates the quota; with nothing accepted (whole
	// requests throttled) use half the rate we were sending at.
	obsRecords, obsBytes := l.taken.rates(now)
	if obsRecords <= 0 {
		obsRecords, obsBytes = l.sent.rates(now)
		obsRecords, obsBytes = obsRecords/2, obsBytes/2
	}
	base := func(current, observed float64) float64 {
		if current > 0 && (observed <= 0 || current < observed) {
			return current
		}
		return observed
	}
	r, b := base(l.adRecords, obsRecords), base(l.adBytes, obsBytes)
	if r <= 0 || b <= 0 {
		return false // nothing observed yet; the back-off alone slows us
	}
	l.cutRecords, l.cutBytes = r, b
	l.adRecords = max(r*adaptiveDecrease, minAdaptiveRecords)
	l.adBytes = max(b*adaptiveDecrease, minAdaptiveBytes)
	l.lastCut, l.lastRaise = now, now
	l.throttleCut++
	l.applyLocked()
	return true
}

// succeeded tells the limiter a request went through without throttling; at
// most once per adaptiveInterval it raises the adaptive limits additively.
func (l *limiter) succeeded() {
	if !l.adaptive {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.adRecords == 0 || now.Sub(l.lastRaise) < adaptiveInterval {
		return
	}
	steps := math.Floor(float64(now.Sub(l.lastRaise)) / float64(adaptiveInterval))
	l.lastRaise = now
	l.adRecords += steps * max(adaptiveIncrease*l.cutRecords, minAdaptiveRecordsStep)
	l.adBytes += steps * max(adaptiveIncrease*l.cutBytes, minAdaptiveBytesStep)
	if l.adRecords >= adaptiveRelease*l.cutRecords {
		l.adRecords, l.adBytes = 0, 0
	}
	l.applyLocked()
}

// limits returns the current effective records/s and bytes/s limits (0 = none).
func (l *limiter) limits() (records, bytes float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return effective(l.staticRecords, l.adRecords), effective(l.staticBytes, l.adBytes)
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
	set(l.records, effective(l.staticRecords, l.adRecords))
	set(l.bytes, effective(l.staticBytes, l.adBytes))
	close(l.changed)
	l.changed = make(chan struct{})
}

// meter counts records and bytes over a sliding second, in ten buckets of
// 100ms. Its rate is the count over the last second divided by one second,
// even in the first second: quotas are per second, so what the service
// accepted in the second before it throttled is the best estimate of our
// share of the quota, however early that is.
type meter struct {
	slots          [meterBuckets]int64 // bucket number each entry holds
	records, bytes [meterBuckets]float64
}

const (
	meterBuckets = 10
	meterBucket  = time.Second / meterBuckets
)

func (m *meter) add(now time.Time, records, bytes int) {
	slot := now.UnixNano() / int64(meterBucket)
	i := slot % meterBuckets
	if m.slots[i] != slot {
		m.slots[i], m.records[i], m.bytes[i] = slot, 0, 0
	}
	m.records[i] += float64(records)
	m.bytes[i] += float64(bytes)
}

// rates returns records/s and bytes/s over the last second.
func (m *meter) rates(now time.Time) (records, bytes float64) {
	slot := now.UnixNano() / int64(meterBucket)
	for i := range meterBuckets {
		if slot-m.slots[i] < meterBuckets {
			records += m.records[i]
			bytes += m.bytes[i]
		}
	}
	return records, bytes
}
