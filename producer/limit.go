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
	// Four, not two: a producer with a small share of a shared stream grows
	// by the same absolute step as the others (see recordsMinStep), so its
	// limit doubles within seconds while the stream is still short of
	// throttling; lifted, it would send at full speed into the next cut.
	adaptiveRelease = 4.0
	// minAdaptiveRecords and minAdaptiveBytes floor the adaptive limits
	// against a short burst of throttling (whole requests refused, a moment
	// of contention): one bad second must not cut the rate to a crawl. The
	// floors sit well under the smallest real DirectPut quotas (100,000
	// records/s and 1 MiB/s per stream). A stream whose quota is below them
	// (the emulator, a quota lowered on request) shows it by what it
	// accepts: when it still throttles at the floor and accepted less than
	// the floor over the last second, the cut follows that rate down (see
	// floorBelow).
	minAdaptiveRecords = 1000
	minAdaptiveBytes   = 256 * 1024
	// minAdaptiveRecordsStep and minAdaptiveBytesStep floor the additive
	// step, so a rate cut very low still recovers in seconds. The step is
	// the same for every producer whatever its share, which is what makes
	// producers sharing a stream converge to equal shares (as TCP's flows
	// do): a step proportional to each one's rate would keep a small share
	// small.
	minAdaptiveRecordsStep = 100
	minAdaptiveBytesStep   = 100 * 1024
	// cutSettle: a throttled request sent this soon after the first cut, or
	// this little time since it, says too little to correct it (see
	// secondLookLocked).
	cutSettle = 100 * time.Millisecond
	// secondLookShare: the first cut is corrected to this share of what
	// the service accepted since.
	secondLookShare = 0.95
	// floorCuts is how many cuts in a row must want to go under the fixed
	// floor before the limit may (see floored).
	floorCuts = 3
	// tinyStepShare bounds the additive step under the fixed floors (see
	// additiveStep).
	tinyStepShare = 0.1
	// batchesPerSecond: a batch carries at most this fraction of one
	// second of the adaptive limits (see batchCap).
	batchesPerSecond = 4
	// staticBatchesPerSecond: a batch carries at most this fraction of one
	// second of a static limit (see batchShare).
	staticBatchesPerSecond = 64
	// quotaBytesPerRecord is the ratio of the DirectPut bytes/s quota to
	// the records/s quota, the same in every tier (5 MiB/s to 500,000
	// records/s, 1 MiB/s to 100,000; raised quotas scale together).
	quotaBytesPerRecord = 5 * 1024 * 1024 / 500_000.0
	// inUseShare: the adaptive limits are raised only while the sender
	// sends at least this share of them (see succeeded).
	inUseShare = 0.8
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
		// A static limit starts with its bucket empty: full, it let a
		// whole burst through at once (4 MiB of bytes/s, 0.8 s of a
		// 5 MiB/s limit), and a 4.6 s run sent 11% over the limit.
		lim := rate.NewLimiter(rate.Limit(perSecond), burst)
		lim.AllowN(now, burst)
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

// startRamp bounds the rate before the first throttle, while the quota is
// unknown: from startRecords and startBytes it doubles every startDoubling
// (see rampLocked).
type startRamp struct {
	records, bytes bool      // the dimensions it paces (no static limit)
	start          time.Time // the first request; zero: not started
	doublings      int       // since start
	ended          bool      // throttled, or startDoublings reached
}

// limits returns the ramp's records/s and bytes/s limits (0 = none).
func (r *startRamp) limits() (records, bytes float64) {
	if r.start.IsZero() || r.ended {
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
	if (!r.records && !r.bytes) || r.ended {
		return
	}
	if r.start.IsZero() {
		r.start = now
		// The buckets are unlimited until now and hold a full burst:
		// start them empty, as a static limit starts.
		l.applyLocked()
		if r.records {
			l.records.AllowN(now, l.records.Burst())
		}
		if r.bytes {
			l.bytes.AllowN(now, l.bytes.Burst())
		}
		return
	}
	d := int(now.Sub(r.start) / startDoubling)
	if d == r.doublings {
		return
	}
	r.doublings = d
	if d >= startDoublings {
		r.ended = true
	}
	l.applyLocked()
}

// adaptiveRate is one dimension of the adaptive rate, records/s or bytes/s:
// both follow the same rules, each against its own floor.
type adaptiveRate struct {
	floor float64 // minAdaptiveRecords or minAdaptiveBytes
	limit float64 // the current limit; 0 = none
	cut   float64 // the rate at the last cut, the base of the additive step
	under int     // cuts in a row that wanted to go under floor (see floored)
}

// cutFrom sets the limit to adaptiveDecrease of base, not under the floor
// (see floorBelow); accepted is the rate the service accepted over the last
// second.
func (a *adaptiveRate) cutFrom(base, accepted float64) {
	a.cut = base
	if base*adaptiveDecrease < a.floor {
		a.under++
	} else {
		a.under = 0
	}
	a.limit = max(base*adaptiveDecrease, a.floorBelow(accepted))
}

// lowerTo lowers the limit to secondLookShare of accepted, not under the
// floor, if that is lower; it reports whether it did.
func (a *adaptiveRate) lowerTo(accepted float64) bool {
	r := accepted * secondLookShare
	if a.limit <= 0 || r >= a.limit {
		return false
	}
	a.limit = max(r, a.floorBelow(accepted))
	return true
}

// raise adds steps additive steps of at least minStep (see additiveStep).
func (a *adaptiveRate) raise(steps, minStep float64) {
	a.limit += steps * additiveStep(a.cut, minStep, a.floored())
}

// released reports whether the limit has grown to adaptiveRelease times
// the rate at the cut.
func (a *adaptiveRate) released() bool { return a.limit >= adaptiveRelease*a.cut }

// floorBelow is the floor of a cut: the fixed floor, unless the last cuts
// already wanted to go under it (floored) and the service still throttles
// while accepting less than it (the quota is below the floor): then the cut
// follows the accepted rate down. Cuts at the floor first keep a producer
// that had an unlucky second on a shared stream from being cut to a crawl;
// with nothing accepted (whole requests throttled) the fixed floor holds.
func (a *adaptiveRate) floorBelow(accepted float64) float64 {
	if !a.floored() || accepted <= 0 {
		return a.floor
	}
	return min(a.floor, accepted*adaptiveDecrease)
}

// floored reports whether the quota is below the fixed floor: the last
// floorCuts cuts in a row all wanted to go under it. One or two such cuts
// can be a producer's unlucky seconds on a shared stream; a quota below the
// floor shows at every cut.
func (a *adaptiveRate) floored() bool { return a.under >= floorCuts }

// wait blocks until records Firehose records of bytes bytes may be sent in
// one request, or ctx is done. The bursts are one batch (New caps a batch at
// one second of a static quota), so the requests/s, records/s and bytes/s
// buckets each let at most one request through at once. A request larger
// than a burst (a PutRecord of a big record under a small bytes/s limit)
// waits for a full burst instead of failing.
func (l *limiter) wait(ctx context.Context, records, bytes int) error {
	if l.ramp.records || l.ramp.bytes {
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
		if l.throttleCut == 1 && !l.secondLook && sentAt.Sub(l.lastCut) >= cutSettle {
			return l.secondLookLocked(now)
		}
		return false
	}
	// The accepted rate approximates the quota; with nothing accepted (whole
	// requests throttled) use half the rate we were sending at.
	obsRecords, obsBytes := l.taken.rates(now)
	acceptedRecords, acceptedBytes := obsRecords, obsBytes
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
	r, b := base(l.adRecords.limit, obsRecords), base(l.adBytes.limit, obsBytes)
	if r <= 0 || b <= 0 {
		return false // nothing observed yet; the back-off alone slows us
	}
	l.adRecords.cutFrom(r, acceptedRecords)
	l.adBytes.cutFrom(b, acceptedBytes)
	l.lastCut, l.lastRaise = now, now
	l.throttleCut++
	l.ramp.ended = true
	l.applyLocked()
	return true
}

// secondLookLocked corrects the first cut once. Before the first throttle
// the service's token bucket still held its burst, so what it accepted over
// the second before was what we sent, not its quota, and the first cut can
// land above the quota: a request sent after it that still comes back
// throttled says so. Once the bucket is empty, what the service accepted
// since the first cut is the quota (or, on a shared stream, our share of
// it), so the limit goes to secondLookShare of that, if lower. It happens
// at most once, and never cuts below what the service takes from us, so a
// producer that joins a busy stream keeps its share.
func (l *limiter) secondLookLocked(now time.Time) bool {
	records, bytes, span := l.taken.ratesSince(now, l.lastCut)
	if span < cutSettle || records <= 0 {
		return false
	}
	l.secondLook = true
	loweredRecords := l.adRecords.lowerTo(records)
	loweredBytes := l.adBytes.lowerTo(bytes)
	if !loweredRecords && !loweredBytes {
		return false
	}
	l.lastCut, l.lastRaise = now, now
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
	if l.adRecords.limit == 0 || now.Sub(l.lastRaise) < adaptiveInterval {
		return
	}
	steps := math.Floor(float64(now.Sub(l.lastRaise)) / float64(adaptiveInterval))
	l.lastRaise = now
	// Raise only a limit in use: one that grew while the sender sent less
	// (retries waiting out their back-off, a slow input) would let the next
	// burst far over the quota. Both limits move together, so the binding
	// one is in use when either is nearly reached.
	sentRecords, sentBytes := l.sent.rates(now)
	if sentRecords < inUseShare*l.adRecords.limit && sentBytes < inUseShare*l.adBytes.limit {
		return
	}
	l.adRecords.raise(steps, recordsMinStep(l.adRecords.cut, l.adBytes.cut))
	l.adBytes.raise(steps, minAdaptiveBytesStep)
	// Lifted once both limits have reached adaptiveRelease times the cut,
	// both and not either: the one that binds may be
	// either, and a limit held up by its floor (1,000 packed records/s cut
	// at 50/s) would otherwise be lifted after one second, then every
	// second a burst throttled.
	if l.adRecords.released() && l.adBytes.released() {
		l.adRecords.limit, l.adBytes.limit = 0, 0
	}
	l.applyLocked()
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

// additiveStep is the raise per adaptiveInterval: adaptiveIncrease of the
// rate at the last cut, at least minStep, the same for every producer on a
// stream whatever its share. Under the fixed floor (floored: the quota
// itself is that small) minStep would overshoot it every second or two, so
// there the step is at most tinyStepShare of the rate at the cut.
func additiveStep(cut, minStep float64, floored bool) float64 {
	if floored {
		minStep = min(minStep, tinyStepShare*cut)
	}
	return max(adaptiveIncrease*cut, minStep)
}

// recordsMinStep is the smallest raise of the records/s limit: at least
// minAdaptiveRecordsStep, and at least minAdaptiveBytesStep's worth of
// records of the mean size at the cut. Both limits are cut by the same
// factor, so whichever grows slower holds the other back: with 200-byte
// records a step of 100 records/s is 20 KB/s, a fifth of the bytes step,
// and four producers sharing a 2 MiB/s stream took ten seconds to take
// back a cut and grew in proportion to their shares (the 5% part), which
// kept an unequal start unequal. With the bytes step's worth, the binding
// limit, usually bytes/s, grows by the same absolute amount for every
// producer, as TCP's flows grow by one segment per round trip.
//
// Records smaller than quotaBytesPerRecord reach the records/s quota first:
// there records/s is the binding limit and keeps its own step.
func recordsMinStep(cutRecords, cutBytes float64) float64 {
	if cutRecords <= 0 || cutBytes < quotaBytesPerRecord*cutRecords {
		return minAdaptiveRecordsStep
	}
	return max(minAdaptiveRecordsStep, minAdaptiveBytesStep*cutRecords/cutBytes)
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
