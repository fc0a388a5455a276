package producer

import (
	"context"
	"math"
	"sync"
	"time"
)

// Adaptive concurrency: how many PutRecordBatch requests may be in flight.
//
// The rate limiter (limit.go, adaptive.go) finds the stream's quota; this
// controller makes that rate reachable whatever the latency: at 5 MiB/s,
// 100 ms and 45 KB per request about 12 requests must be in flight, at
// loopback 1 or 2.
// It is additive-increase, multiplicative-decrease on the in-flight limit,
// as TCP does on its window and Vector's adaptive request concurrency on
// its request limit:
//
//   - The limit grows while it is what holds sending back: requests found
//     it full, they did not wait on the rate limiter, nothing came back
//     throttled, and the round-trip time stayed near its baseline. Until the
//     first back-off it doubles per round trip (slow start) up to
//     defaultSlowStartLimit, then it adds one per round trip. A static
//     records/s or bytes/s limit (a quota the caller knows) bounds the
//     burst instead: slow start goes straight to what the limit needs in
//     flight, by Little's law (rate x round trip / request size, times
//     staticNeedShare), at most the maximum.
//   - "Slow down." (or another sign of back-pressure: a whole request
//     throttled, the service unavailable, a timeout) cuts it to
//     concurrencyThrottleDecrease of itself. Producers on one stream all see
//     the throttling when together they exceed the quota, so repeated cuts
//     and equal additive steps bring them to equal shares.
//   - A round-trip time clearly above the baseline (concurrencyRTTTolerance
//     times it) cuts it gently (concurrencyRTTDecrease): requests are
//     queueing somewhere. The baseline is a long-term average that falls at
//     once and rises over concurrencyBaselineRise, so a latency that is
//     high but steady (a distant region) becomes the baseline and is not
//     read as congestion, while a rise we cause by growing is.
//
// Decisions are taken once per window of about one smoothed round trip,
// each on the requests sent since the limit last changed, so a change is
// judged by its own effect, and one episode of throttling (every request
// in flight at the time comes back throttled) cuts once.
//
// The round trip is measured from when the request goes out, after any wait
// on the rate limiter: a wait for tokens says nothing about the service.
//
// A sender uses it as: acquire (a slot, which also bounds the batches held
// in memory), wait on the rate limiter, send, release with a requestSample
// saying when the request went out, how long it waited for the rate, and
// whether it was throttled. Waiting on the rate before acquire works too
// (rateWait 0): then acquires simply stop finding the limit full.
const (
	// defaultInitialConcurrency is where the adaptive limit starts.
	defaultInitialConcurrency = 4
	// defaultMaxConcurrency bounds the adaptive limit, and with it the
	// batches held in memory.
	defaultMaxConcurrency = 64
	// defaultSlowStartLimit is where doubling gives way to adding one even
	// before the first cut. The quota is found only when requests come back
	// throttled, and the service's token bucket starts full (one second of
	// burst), so until it drains every limit looks fine: all the requests
	// in flight when it does come back throttled. Doubling to this limit,
	// then adding one per round trip, bounds that first loss.
	defaultSlowStartLimit = 16
	// concurrencyThrottleDecrease multiplies the limit on back-pressure.
	concurrencyThrottleDecrease = 0.75
	// concurrencyRTTDecrease multiplies the limit when the round trip rose
	// clearly above its baseline.
	concurrencyRTTDecrease = 0.9
	// concurrencyRTTTolerance: a window's mean round trip above this times
	// the baseline counts as congestion.
	concurrencyRTTTolerance = 1.5
	// concurrencyRTTSlack is how much above its baseline a round trip must
	// also be, in absolute terms, to count as congestion.
	concurrencyRTTSlack = 10 * time.Millisecond
	// concurrencyGrowTolerance: the limit grows only while the window's mean
	// round trip is at most this times the baseline; between the two
	// tolerances it holds.
	concurrencyGrowTolerance = 1.25
	// concurrencyBaselineRise is the time constant with which the baseline
	// follows a higher round trip. Longer reads more of a latency rise as
	// congestion; shorter lets a self-inflicted queue creep into the
	// baseline.
	concurrencyBaselineRise = 2 * time.Second
	// concurrencyBaselineFall is the weight of a lower window mean in the
	// baseline: it falls fast.
	concurrencyBaselineFall = 0.5
	// concurrencySmoothing is the weight of a window's mean in the smoothed
	// round trip that sets the window length.
	concurrencySmoothing = 0.25
	// concurrencyRateBound: when requests waited on the rate limiter for
	// more than this share of their round trip, the rate is what holds
	// sending back, and more concurrency would only hold more batches.
	concurrencyRateBound = 0.1
	// staticNeedShare is the margin over the in-flight count a static rate
	// limit needs (see slowStartCeiling): round trips and request sizes
	// vary.
	staticNeedShare = 1.5
	// requestSizeSmoothing is the weight of a request in the mean request
	// size.
	requestSizeSmoothing = 0.1
	// minConcurrencyWindow keeps windows from becoming absurdly short on
	// loopback, where a round trip takes microseconds.
	minConcurrencyWindow = time.Millisecond
)

// requestOutcome classifies a finished request for the controller.
type requestOutcome uint8

const (
	// requestDelivered: a response came back (some records may have failed
	// for other reasons than throttling); its round trip counts.
	requestDelivered requestOutcome = iota
	// requestThrottled: back-pressure: records came back "Slow down.", the
	// whole request was throttled, the service was unavailable, or it timed
	// out. A response's round trip still counts when there was one.
	requestThrottled
	// requestFailed: no signal about the service's load (cancelled, a
	// client error, a fatal error): neither the round trip nor the outcome
	// counts.
	requestFailed
)

// requestSample is what the sender reports when a request ends.
type requestSample struct {
	// sent is when the request went out, after any wait on the rate
	// limiter. The round trip runs from sent to release.
	sent time.Time
	// rateWait is how long the request waited on the rate limiter after
	// acquire returned; 0 when the sender waits on the rate before acquire.
	rateWait time.Duration
	outcome  requestOutcome
	// records and bytes are what the request carried.
	records, bytes int
}

// concurrencySettings configures a concurrencyLimiter.
type concurrencySettings struct {
	// fixed > 0 pins the limit (--concurrency N): no adaptation.
	fixed int
	// initial is the starting adaptive limit; 0 means
	// defaultInitialConcurrency. It is clamped to 1..max.
	initial int
	// max bounds the adaptive limit; 0 means defaultMaxConcurrency.
	max int
	// slowStart is the limit up to which it doubles before the first cut;
	// 0 means defaultSlowStartLimit.
	slowStart int
	// staticRecords and staticBytes are the static rate limits (0: none).
	// Under one, slow start goes straight to what the limit needs in
	// flight (see slowStartCeiling).
	staticRecords, staticBytes float64
	// onChange, if set, is called after the limit changes, outside the
	// controller's lock, with the reason: "slow start", "grow", "throttled"
	// or "latency". For debug logs.
	onChange func(from, to int, reason string)
}

// concurrencyWaiter is an acquire waiting for a slot, in FIFO order.
type concurrencyWaiter struct {
	ready   chan struct{} // closed when the slot is granted
	granted bool
}

// concurrencyLimiter bounds the requests in flight with a limit that adapts
// (see the constants above). acquire takes a slot, release gives it back
// with what the request told about the service. It is safe for concurrent
// use.
type concurrencyLimiter struct {
	mu    sync.Mutex
	limit int
	max   int
	// slowStartLimit: doubling stops here even before the first cut.
	slowStartLimit int
	// staticRecords and staticBytes: see concurrencySettings; static is
	// either set.
	staticRecords, staticBytes float64
	static                     bool
	onChange                   func(from, to int, reason string)
	fixed                      bool
	inFlight                   int
	waiters                    []*concurrencyWaiter // FIFO

	// Adaptation state.
	backedOff   bool      // a cut happened: growth is additive from now on
	changed     time.Time // when the limit last changed; older samples are not judged
	lastCut     time.Time // when back-pressure last cut the limit
	windowStart time.Time
	windowEnd   time.Time // when the current window ends (zero: no window yet)
	baseline    float64   // seconds
	smoothed    float64   // seconds
	// meanRecords and meanBytes are the mean request size under a static
	// limit (0: none yet).
	meanRecords, meanBytes float64
	maxLimit               int
	cutThrottle            int64
	cutRTT                 int64

	// The current window's tally, over samples sent since changed.
	wSamples   int
	wRTT       float64 // sum of round trips, seconds
	wWait      float64 // sum of rate-limiter waits, seconds
	wThrottled bool
	wReached   bool // an acquire found the limit reached
}

func newConcurrencyLimiter(s concurrencySettings) *concurrencyLimiter {
	c := &concurrencyLimiter{onChange: s.onChange, staticRecords: s.staticRecords, staticBytes: s.staticBytes,
		static: s.staticRecords > 0 || s.staticBytes > 0}
	if s.fixed > 0 {
		c.limit, c.max, c.fixed = s.fixed, s.fixed, true
	} else {
		c.max = s.max
		if c.max <= 0 {
			c.max = defaultMaxConcurrency
		}
		c.limit = s.initial
		if c.limit <= 0 {
			c.limit = defaultInitialConcurrency
		}
		c.limit = min(max(c.limit, 1), c.max)
	}
	c.slowStartLimit = s.slowStart
	if c.slowStartLimit <= 0 {
		c.slowStartLimit = defaultSlowStartLimit
	}
	c.maxLimit = c.limit
	return c
}

// acquire waits for a free slot (FIFO among waiters) or for ctx to be done.
// Every successful acquire must be followed by exactly one release.
func (c *concurrencyLimiter) acquire(ctx context.Context) error {
	c.mu.Lock()
	if c.inFlight < c.limit && len(c.waiters) == 0 {
		c.inFlight++
		if c.inFlight >= c.limit {
			c.wReached = true
		}
		c.mu.Unlock()
		return nil
	}
	c.wReached = true
	w := &concurrencyWaiter{ready: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		if w.granted {
			// Granted as ctx ended: give the slot back to the next one.
			c.inFlight--
			c.grantLocked()
		} else {
			for i, x := range c.waiters {
				if x == w {
					c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
					break
				}
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// release gives back the slot of a finished request and learns from it.
func (c *concurrencyLimiter) release(s requestSample) {
	now := time.Now()
	c.mu.Lock()
	c.inFlight--
	from := c.limit
	reason := c.observeLocked(now, s)
	to := c.limit
	c.grantLocked()
	c.mu.Unlock()
	if from != to && c.onChange != nil {
		c.onChange(from, to, reason)
	}
}

// grantLocked hands free slots to waiters in order.
func (c *concurrencyLimiter) grantLocked() {
	for len(c.waiters) > 0 && c.inFlight < c.limit {
		w := c.waiters[0]
		c.waiters[0] = nil
		c.waiters = c.waiters[1:]
		w.granted = true
		c.inFlight++
		close(w.ready)
	}
	if len(c.waiters) == 0 {
		c.waiters = nil
	}
}

// observeLocked adds a sample to the window and, at the window's end,
// adjusts the limit; it returns the reason of a change.
func (c *concurrencyLimiter) observeLocked(now time.Time, s requestSample) (reason string) {
	if s.outcome == requestFailed {
		return ""
	}
	rtt := now.Sub(s.sent).Seconds()
	if c.static && s.records > 0 {
		if c.meanRecords == 0 {
			c.meanRecords, c.meanBytes = float64(s.records), float64(s.bytes)
		}
		c.meanRecords += (float64(s.records) - c.meanRecords) * requestSizeSmoothing
		c.meanBytes += (float64(s.bytes) - c.meanBytes) * requestSizeSmoothing
	}
	if c.windowEnd.IsZero() {
		// The first sample sets the baseline and opens the first window.
		c.baseline, c.smoothed = rtt, rtt
		c.openWindowLocked(now)
	}
	// Throttling of a request sent before the last cut is already
	// answered by that cut. A round trip judges the limit only if the
	// request was sent under it.
	if s.outcome == requestThrottled && !s.sent.Before(c.lastCut) {
		c.wThrottled = true
	}
	if !s.sent.Before(c.changed) {
		c.wSamples++
		c.wRTT += rtt
		c.wWait += s.rateWait.Seconds()
	}
	if now.Before(c.windowEnd) || (c.wSamples == 0 && !c.wThrottled) {
		return ""
	}
	if c.wSamples > 0 {
		mean := c.wRTT / float64(c.wSamples)
		if !c.fixed {
			reason = c.adjustLocked(now, mean)
		}
		if mean < c.baseline {
			c.baseline += (mean - c.baseline) * concurrencyBaselineFall
		} else {
			elapsed := now.Sub(c.windowStart).Seconds()
			c.baseline += (mean - c.baseline) * (1 - math.Exp(-elapsed/concurrencyBaselineRise.Seconds()))
		}
		c.smoothed += (mean - c.smoothed) * concurrencySmoothing
	} else if !c.fixed {
		reason = c.adjustLocked(now, 0)
	}
	c.openWindowLocked(now)
	return reason
}

// adjustLocked applies the window's verdict to the limit and returns its
// reason.
func (c *concurrencyLimiter) adjustLocked(now time.Time, mean float64) (reason string) {
	old := c.limit
	switch {
	case c.wThrottled:
		reason = "throttled"
		c.limit = cutLimit(c.limit, concurrencyThrottleDecrease)
		c.backedOff = true
		c.lastCut = now
		c.cutThrottle++
	case c.wSamples == 0:
		// Nothing sent under this limit came back yet: no verdict.
	case mean > concurrencyRTTTolerance*c.baseline && mean-c.baseline > concurrencyRTTSlack.Seconds():
		// A round trip well above its baseline is queueing somewhere. A
		// few milliseconds more is not: on loopback it is the CPU, and
		// cutting there only slows the send. Nor does latency alone cut
		// below the starting limit; throttling does.
		reason = "latency"
		c.limit = max(cutLimit(c.limit, concurrencyRTTDecrease), min(c.limit, defaultInitialConcurrency))
		c.backedOff = true
		c.cutRTT++
	case c.wReached && c.wWait <= concurrencyRateBound*c.wRTT && mean <= concurrencyGrowTolerance*c.baseline:
		if ceiling := c.slowStartCeiling(); c.backedOff || c.limit >= ceiling {
			reason = "grow"
			c.limit = min(c.limit+1, c.max)
		} else {
			reason = "slow start"
			next := c.limit * 2
			if c.static {
				// The static limit bounds the rate whatever is in flight:
				// no need to double towards what it needs.
				next = ceiling
			}
			c.limit = min(next, ceiling, c.max)
		}
	}
	if c.limit != old {
		c.changed = now
		c.maxLimit = max(c.maxLimit, c.limit)
	}
	return reason
}

// slowStartCeiling is where slow start gives way to adding one:
// slowStartLimit, or under a static rate limit what that limit needs in
// flight by Little's law (rate x baseline round trip / mean request size,
// times staticNeedShare; the lower of the records/s and bytes/s needs, as
// the lower binds), up to the maximum.
func (c *concurrencyLimiter) slowStartCeiling() int {
	if !c.static {
		return c.slowStartLimit
	}
	need := math.Inf(1)
	if c.staticRecords > 0 && c.meanRecords > 0 {
		need = c.staticRecords * c.baseline / c.meanRecords
	}
	if c.staticBytes > 0 && c.meanBytes > 0 {
		need = min(need, c.staticBytes*c.baseline/c.meanBytes)
	}
	if math.IsInf(need, 1) {
		return c.max
	}
	return int(min(math.Ceil(staticNeedShare*need), float64(c.max)))
}

// cutLimit multiplies limit by factor, by at least one, down to one.
func cutLimit(limit int, factor float64) int {
	return max(1, min(limit-1, int(float64(limit)*factor)))
}

func (c *concurrencyLimiter) windowLength() time.Duration {
	return max(time.Duration(c.smoothed*float64(time.Second)), minConcurrencyWindow)
}

func (c *concurrencyLimiter) openWindowLocked(now time.Time) {
	c.windowStart, c.windowEnd = now, now.Add(c.windowLength())
	c.wSamples, c.wRTT, c.wWait = 0, 0, 0
	c.wThrottled = false
	// A window starts reached if acquires are waiting right now.
	c.wReached = len(c.waiters) > 0
}
