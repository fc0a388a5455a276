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
	// burst of throttling can never stall sending.
	minAdaptiveRecords = 10
	minAdaptiveBytes   = 10 * 1024
)

// limiter keeps PutRecord and PutRecordBatch within the static quotas
// (records/s, bytes/s, requests/s; golang.org/x/time/rate token buckets) and,
// when Adaptive is on, within a records/s and bytes/s rate found by AIMD:
// throttled records cut both to adaptiveDecrease of the rate observed over
// the last second, and every adaptiveInterval without throttling adds
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
	meter       meter
	throttleCut int64 // number of cuts, for tests and logs
}

func newLimiter(cfg config) *limiter {
	mk := func(perSecond float64, burst int) *rate.Limiter {
		if perSecond <= 0 {
			return rate.NewLimiter(rate.Inf, burst)
		}
		return rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	return &limiter{
		records:       mk(cfg.maxRecordsPerSecond, recordBurst(cfg.maxRecordsPerSecond, cfg.maxBatchRecords)),
		bytes:         mk(cfg.maxBytesPerSecond, byteBurst(cfg.maxBytesPerSecond, cfg.maxBatchBytes)),
		requests:      mk(cfg.maxRequestsPerSecond, max(1, int(cfg.maxRequestsPerSecond/10))),
		staticRecords: cfg.maxRecordsPerSecond,
		staticBytes:   cfg.maxBytesPerSecond,
		adaptive:      cfg.adaptive,
	}
}

// recordBurst lets one full batch through at once, but not more than a
// tenth of a second's worth when that is larger, so the rate stays smooth.
func recordBurst(perSecond float64, batch int) int {
	return max(batch, int(perSecond/10))
}

func byteBurst(perSecond float64, batch int) int {
	return max(batch, int(perSecond/10))
}

// wait blocks until records Firehose records of bytes bytes may be sent in
// one request, or ctx is done. A request larger than a bucket's burst waits
// for a full burst instead of failing.
func (l *limiter) wait(ctx context.Context, records, bytes int) error {
	if err := l.requests.Wait(ctx); err != nil {
		return fmt.Errorf("wait for request quota: %w", err)
	}
	if err := l.records.WaitN(ctx, min(records, l.records.Burst())); err != nil {
		return fmt.Errorf("wait for records quota: %w", err)
	}
	if err := l.bytes.WaitN(ctx, min(bytes, l.bytes.Burst())); err != nil {
		return fmt.Errorf("wait for bytes quota: %w", err)
	}
	if l.adaptive {
		l.mu.Lock()
		l.meter.add(time.Now(), records, bytes)
		l.mu.Unlock()
	}
	return nil
}

// throttled tells the limiter that a request sent at sentAt came back with
// throttled records. It cuts the rate once per round: responses to requests
// sent before the last cut do not cut again. It reports whether it cut.
func (l *limiter) throttled(sentAt time.Time) bool {
	if !l.adaptive {
		return false
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.lastCut.IsZero() && sentAt.Before(l.lastCut) {
		return false
	}
	obsRecords, obsBytes := l.meter.rates(now)
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
	l.adRecords += steps * adaptiveIncrease * l.cutRecords
	l.adBytes += steps * adaptiveIncrease * l.cutBytes
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
}

// meter measures the send rate over the last full second and the current
// partial one.
type meter struct {
	start            time.Time
	records, bytes   float64
	lastRecs, lastBy float64 // rates of the previous window
}

func (m *meter) add(now time.Time, records, bytes int) {
	if m.start.IsZero() {
		m.start = now
	}
	if el := now.Sub(m.start); el >= time.Second {
		m.lastRecs, m.lastBy = m.records/el.Seconds(), m.bytes/el.Seconds()
		m.start, m.records, m.bytes = now, 0, 0
	}
	m.records += float64(records)
	m.bytes += float64(bytes)
}

// rates returns the larger of the last window's rate and the current
// window's rate so far (when it is long enough to mean something).
func (m *meter) rates(now time.Time) (records, bytes float64) {
	records, bytes = m.lastRecs, m.lastBy
	if el := now.Sub(m.start); el >= 100*time.Millisecond && !m.start.IsZero() {
		records = max(records, m.records/el.Seconds())
		bytes = max(bytes, m.bytes/el.Seconds())
	}
	return records, bytes
}
