package producer

import (
	"math"
	"time"
)

// AIMD parameters of the adaptive rate control.
const (
	// adaptiveDecrease is the factor applied to the observed rate on throttling.
	adaptiveDecrease = 0.7
	// adaptiveIncrease is the share of the rate at the last cut added back per
	// adaptiveInterval without a cut (see succeeded).
	adaptiveIncrease = 0.05
	// adaptiveInterval is how often the rate is probed up.
	adaptiveInterval = time.Second
	// adaptiveRelease: once the adaptive limit has grown to this multiple of
	// the rate at the last cut without another cut, it is lifted altogether.
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
	// quotaBytesPerRecord is the ratio of the DirectPut bytes/s quota to
	// the records/s quota, the same in every tier (5 MiB/s to 500,000
	// records/s, 1 MiB/s to 100,000; raised quotas scale together).
	quotaBytesPerRecord = 5 * 1024 * 1024 / 500_000.0
	// inUseShare: the adaptive limits are raised only while the sender
	// sends at least this share of them (see succeeded).
	inUseShare = 0.8
)

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
// A limit that grows back to the floor without a cut shows the quota is
// not below it: the cuts that wanted to go under it were its share of a
// crowded stream. It is no longer floored, and the full step is back.
// Kept floored, a producer went on growing by a tenth of its cut, 20 KB/s
// a second, after the seven others on its 2 MiB/s stream had finished, and
// with floored and unfloored producers on one stream growing by different
// steps, eight of them finished up to three times apart.
func (a *adaptiveRate) raise(steps, minStep float64) {
	a.limit += steps * additiveStep(a.cut, minStep, a.floored())
	if a.limit >= a.floor {
		a.under = 0
	}
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
// floorCuts cuts in a row all wanted to go under it, and the limit has not
// grown back to it since (see raise). One or two such cuts can be a
// producer's unlucky seconds on a shared stream; a quota below the floor
// shows at every cut.
func (a *adaptiveRate) floored() bool { return a.under >= floorCuts }

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
	l.ramp.ended.Store(true)
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
// most once per adaptiveInterval since the last cut or raise it raises the
// adaptive limits additively. Throttled responses in that interval do not
// hold the raise back (they cut at most once per adaptiveInterval); a rule
// that waited for a second with none throttled left a latecomer on a shared
// stream short of its share, and crowded producers floored (see raise).
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
