package producer

// This file is the retry policy, used by every sending path: attempts,
// MaxRetryTime, exponential back-off with full jitter, and the queue where
// failed entries wait for their next try.

import (
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// backoff computes retry delays with the SDK's
// retry.ExponentialJitterBackoff. That type draws from [0, 2^attempt) seconds,
// a 1 s base that is too slow for bulk sends, and returns its max flat once
// 2^attempt passes it. To get an arbitrary base without delay math of our own,
// we run it in scaled time: one SDK "second" is one initial delay, so its max
// is max/initial "seconds", and its result is scaled back by initial/1s.
// Delays are therefore full-jitter in [0, initial*2^(n-1)) for retry n, and
// exactly max once that bound passes max.
type backoff struct {
	sdk   *retry.ExponentialJitterBackoff
	scale float64 // initial / 1s
	max   time.Duration
}

func newBackoff(initial, maxDelay time.Duration) backoff {
	scale := float64(initial) / float64(time.Second)
	return backoff{
		sdk:   retry.NewExponentialJitterBackoff(time.Duration(float64(maxDelay) / scale)),
		scale: scale,
		max:   maxDelay,
	}
}

// delay returns the wait before the next try of a record that has made
// attempts tries (attempts >= 1).
func (b backoff) delay(attempts int) time.Duration {
	d, err := b.sdk.BackoffDelay(max(attempts-1, 0), nil)
	if err != nil {
		return b.max
	}
	return min(time.Duration(float64(d)*b.scale), b.max)
}

// withoutSDKRetries turns the SDK's own retries off for one Put call. The
// producer retries every failed call itself, so it sees every attempt: an
// attempt whose response was lost is counted as a possible duplicate once per
// resend, and one that never reached the service (connection refused) is not.
// Hidden SDK retries made that accounting impossible (a request resent twice
// after two lost responses was counted once).
func withoutSDKRetries(o *firehose.Options) {
	o.Retryer = aws.NopRetryer{}
}

// markAttempt counts a new try of every entry. A resend after a try whose
// outcome was unknown may store the entry once more: each such resend adds
// the entry's records to PossibleDuplicates, so an entry whose responses were
// lost twice counts twice, as it may be stored three times.
func markAttempt(p *Producer, entries []entry, now time.Time) {
	resent, possibleDups := 0, 0
	for i := range entries {
		e := &entries[i]
		e.attempts++
		if e.attempts == 1 {
			e.first = now
		} else {
			resent += len(e.parts)
		}
		if e.unknown {
			e.unknown = false
			possibleDups += len(e.parts)
		}
		e.unreached = false
	}
	if resent > 0 {
		p.stats.retries.Add(int64(resent))
	}
	if possibleDups > 0 {
		p.stats.possibleDuplicates.Add(int64(possibleDups))
	}
}

// mayRetry reports whether e, which just failed, may be tried again after
// delay: it has attempts left, and the retry starts within MaxRetryTime of
// its first try.
func (p *Producer) mayRetry(e *entry, delay time.Duration, now time.Time) bool {
	if e.unreached {
		// Never offered to the service: the producer stops when the
		// endpoint has been gone for MaxRetryTime (see unreachable).
		return true
	}
	return p.attemptsLeft(e) && now.Add(delay).Sub(e.first) <= p.cfg.maxRetryTime
}

// attemptsLeft reports whether e has used fewer than MaxAttempts tries.
// Throttled tries do not count: "Slow down." says the stream is at its
// quota, not that anything is wrong with the record, and the rate control
// answers it. MaxRetryTime bounds them instead, so a record throttled again
// and again while the rate finds a small quota is not dead-lettered.
func (p *Producer) attemptsLeft(e *entry) bool {
	return e.attempts-e.throttled < p.cfg.maxAttempts
}

// requeue schedules failed entries for a retry after a back-off, or
// dead-letters them when they have used their attempts or time.
func (p *Producer) requeue(entries []entry) {
	if p.runCtx.Err() != nil {
		p.giveUp(entries, p.stopReason(), "", "", false)
		return
	}
	now := time.Now()
	var exhausted []entry
	groups := map[int][]entry{}
	for _, e := range entries {
		if !p.attemptsLeft(&e) {
			exhausted = append(exhausted, e)
			continue
		}
		groups[e.attempts] = append(groups[e.attempts], e)
	}
	for attempts, group := range groups {
		delay := p.backoff.delay(attempts)
		var keep []entry
		for _, e := range group {
			if !p.mayRetry(&e, delay, now) {
				exhausted = append(exhausted, e)
			} else {
				keep = append(keep, e)
			}
		}
		if len(keep) == 0 {
			continue
		}
		records, _ := entriesSize(keep)
		// Running at the quota, throttled records are the normal state:
		// their retries are logged at debug (the summary and the progress
		// count them); other failures at info.
		level := slog.LevelInfo
		if classifyEntry(keep[0].code, keep[0].msg) == classThrottle {
			level = slog.LevelDebug
		}
		p.log.LogAttrs(p.runCtx, level, "retrying records",
			slog.Int("records", records), slog.Int("attempt", attempts+1), slog.Duration("delay", delay),
			slog.String("error_code", keep[0].code), slog.Int64("seq", keep[0].parts[0].seq))
		if !p.retry.add(keep, delay) {
			p.giveUp(keep, p.stopReason(), "", "", false)
		}
	}
	if len(exhausted) > 0 {
		p.giveUp(exhausted, ReasonRetriesExhausted, "", "", false)
	}
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// retryQueue holds failed entries during their back-off. Each group waits on
// its own timer; when it falls due it moves to the ready list and the
// batcher is notified. Closing it hands back everything still held.
type retryQueue struct {
	mu      sync.Mutex
	closed  bool
	waiting map[*retryGroup]struct{}
	ready   []entry
	notify  chan struct{}
}

type retryGroup struct {
	entries []entry
	timer   *time.Timer
}

func newRetryQueue() *retryQueue {
	return &retryQueue{waiting: map[*retryGroup]struct{}{}, notify: make(chan struct{}, 1)}
}

// add schedules entries after delay; false when the queue is closed.
func (q *retryQueue) add(entries []entry, delay time.Duration) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	g := &retryGroup{entries: entries}
	q.waiting[g] = struct{}{}
	g.timer = time.AfterFunc(delay, func() { q.due(g) })
	return true
}

func (q *retryQueue) due(g *retryGroup) {
	q.mu.Lock()
	if _, ok := q.waiting[g]; !ok {
		q.mu.Unlock()
		return
	}
	delete(q.waiting, g)
	q.ready = append(q.ready, g.entries...)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// takeReady returns the entries whose back-off is over.
func (q *retryQueue) takeReady() []entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.ready
	q.ready = nil
	return out
}

// closeAndDrain closes the queue and returns every entry it holds.
func (q *retryQueue) closeAndDrain() []entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	var out []entry
	for g := range q.waiting {
		g.timer.Stop()
		out = append(out, g.entries...)
	}
	q.waiting = nil
	out = append(out, q.ready...)
	q.ready = nil
	return out
}
