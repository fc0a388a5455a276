package producer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestConcurrencyRampUp: from a limit of 1 at a steady round trip, the
// limit reaches what the quota needs (quota x round trip / 45,000 bytes)
// within a few round trips, and the quota is reached.
func TestConcurrencyRampUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		quota   float64
		latency time.Duration
		needed  int
		within  time.Duration
	}{
		// 11.7 needed: slow start gets there in 4 doublings.
		{name: "default quota, 100ms", quota: 5 * simMiB, latency: 100 * time.Millisecond, needed: 12, within: time.Second},
		// 58 needed: slow start to 16, then one per round trip
		// (defaultSlowStartLimit trades this ramp for a smaller first loss
		// at the default quota).
		{name: "raised quota, 50ms", quota: 50 * simMiB, latency: 50 * time.Millisecond, needed: 58, within: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var rampedAt atomic.Int64
				cl := newConcurrencyLimiter(concurrencySettings{initial: 1})
				srv := newSimServer(tt.quota, tt.latency, 1)
				p := &simProducer{srv: srv, cl: cl, rate: newSimRateLimiter()}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				var watch sync.WaitGroup
				watch.Go(func() {
					for ctx.Err() == nil && rampedAt.Load() == 0 {
						if cl.stats().Limit >= tt.needed {
							rampedAt.Store(int64(time.Since(start)))
						}
						time.Sleep(10 * time.Millisecond)
					}
				})
				p.run(ctx)
				watch.Wait()
				ramp := time.Duration(rampedAt.Load())
				if ramp == 0 || ramp > tt.within {
					t.Errorf("limit reached %d after %v, want within %v", tt.needed, ramp, tt.within)
				}
				// The first throttling (once the token bucket's initial
				// burst is spent) cuts the rate to 70%; adaptive.go takes
				// seconds to climb back.
				if got := srv.throughput(0, 8, 20); got < 0.9*tt.quota {
					t.Errorf("throughput %.2f MiB/s after the ramp, want at least 90%% of %.0f MiB/s", got/simMiB, tt.quota/simMiB)
				}
				t.Logf("limit %d after %v; %+v", tt.needed, ramp, cl.stats())
			})
		})
	}
}

// TestConcurrencySteadyLatencyIsNotCongestion: a long but steady round
// trip, with jitter, and no quota in sight: the limit grows to its maximum
// and never cuts for latency.
func TestConcurrencySteadyLatencyIsNotCongestion(t *testing.T) {
	t.Parallel()
	for _, latency := range []time.Duration{time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond} {
		t.Run(latency.String(), func(t *testing.T) {
			t.Parallel()
			// 3,000 round trips at least; fewer seconds at 1ms keep the
			// test quick.
			seconds := max(3, int(3000*latency/time.Second))
			synctest.Test(t, func(t *testing.T) {
				res := simulate(t, simRun{
					phases:   []simPhase{{seconds, 1 << 40, latency}},
					startAt:  []time.Duration{0},
					settings: concurrencySettings{max: 48},
				})
				st := res.producers[0].cl.stats()
				if st.Limit != 48 || st.Congested != 0 || st.Throttled != 0 {
					t.Fatalf("after %ds at a steady %v: %+v, want limit 48 and no cuts; limits %v", seconds, latency, st, res.limits[0])
				}
			})
		})
	}
}

// TestConcurrencyQuotaHalves: the quota halves mid-run; the pair of
// controllers (rate and concurrency) follows it: at least 90% of each
// quota, and under 1% of records throttled away from the moments the
// quota is found (the start, where the token bucket's burst hides it, and
// the change).
func TestConcurrencyQuotaHalves(t *testing.T) {
	t.Parallel()
	tests := []struct {
		latency      time.Duration
		rateFirst    bool
		maxThrottled float64
	}{
		{latency: 20 * time.Millisecond, maxThrottled: 0.01},
		{latency: 100 * time.Millisecond, maxThrottled: 0.01},
		{latency: 100 * time.Millisecond, rateFirst: true, maxThrottled: 0.01},
		// Every probe past the quota costs about a round trip of requests
		// (the bucket's burst hides the quota until it is spent), so the
		// loss grows with the latency.
		{latency: 200 * time.Millisecond, maxThrottled: 0.015},
	}
	for _, tt := range tests {
		name := tt.latency.String()
		if tt.rateFirst {
			name += ", rate before acquire"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				res := simulate(t, simRun{
					phases:    []simPhase{{30, 5 * simMiB, tt.latency}, {30, 2.5 * simMiB, tt.latency}},
					startAt:   []time.Duration{0},
					rateFirst: tt.rateFirst,
				})
				srv := res.srv
				report := fmt.Sprintf("%.2f then %.2f MiB/s, throttled %.2f%% and %.2f%% (start %.2f%%, change %.2f%%); limits %v",
					srv.throughput(0, 10, 30)/simMiB, srv.throughput(0, 40, 60)/simMiB,
					100*srv.throttledShare(0, 10, 30), 100*srv.throttledShare(0, 40, 60),
					100*srv.throttledShare(0, 0, 10), 100*srv.throttledShare(0, 30, 40), res.limits[0])
				t.Log(report)
				if srv.throughput(0, 10, 30) < 0.9*5*simMiB || srv.throughput(0, 40, 60) < 0.9*2.5*simMiB {
					t.Errorf("under 90%% of the quota: %s", report)
				}
				if srv.throttledShare(0, 10, 30) > tt.maxThrottled || srv.throttledShare(0, 40, 60) > tt.maxThrottled {
					t.Errorf("over %.1f%% throttled: %s", 100*tt.maxThrottled, report)
				}
			})
		})
	}
}

// TestConcurrencyLatencyDoubles: the round trip doubles mid-run, so twice
// as many requests must be in flight for the same quota; the limit
// follows and the quota is still reached.
func TestConcurrencyLatencyDoubles(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		res := simulate(t, simRun{
			phases:  []simPhase{{30, 5 * simMiB, 100 * time.Millisecond}, {30, 5 * simMiB, 200 * time.Millisecond}},
			startAt: []time.Duration{0},
		})
		srv, limits := res.srv, res.limits[0]
		report := fmt.Sprintf("%.2f then %.2f MiB/s, throttled %.2f%% and %.2f%%; limits %v; %+v",
			srv.throughput(0, 5, 30)/simMiB, srv.throughput(0, 40, 60)/simMiB,
			100*srv.throttledShare(0, 5, 30), 100*srv.throttledShare(0, 40, 60), limits, res.producers[0].cl.stats())
		t.Log(report)
		if srv.throughput(0, 5, 30) < 0.9*5*simMiB || srv.throughput(0, 40, 60) < 0.9*5*simMiB {
			t.Errorf("under 90%% of the quota: %s", report)
		}
		if srv.throttledShare(0, 40, 60) > 0.01 {
			t.Errorf("over 1%% throttled: %s", report)
		}
	})
}

// TestConcurrencyCrowdLeaves: eight producers share a 2 MiB/s stream, a
// share at the rate floor each, so their cuts want to go under it; then
// seven stop. The one left takes the quota back with the full additive
// step, as a lone producer does after a cut: the cuts under the floor were
// its share of a crowd, not a quota below the floor. How long it takes
// depends on where its last cut left it, so the case runs with several
// seeds and is judged on the median: seconds from the crowd leaving to the
// first second at three quarters of the quota. Over 40 runs: 2-13 s (two
// at 19 and 29, cut deep just as the crowd left); kept at the step meant
// for a quota below the floor, a tenth of its cut, 10-35 s, median 30.
func TestConcurrencyCrowdLeaves(t *testing.T) {
	t.Parallel()
	const (
		crowd, leave, end = 8, 30, 80
		seeds             = 9
		maxMedian         = 15 // seconds
	)
	var recovered []int
	for seed := range uint64(seeds) {
		synctest.Test(t, func(t *testing.T) {
			startAt := make([]time.Duration, crowd)
			stopAt := make([]time.Duration, crowd)
			for i := 1; i < crowd; i++ {
				stopAt[i] = leave * time.Second
			}
			res := simulate(t, simRun{phases: []simPhase{{end, 2 * simMiB, 20 * time.Millisecond}},
				startAt: startAt, stopAt: stopAt, seed: seed + 1})
			took := end - leave // not within the run
			for sec := leave; sec < end; sec++ {
				if res.srv.throughput(0, sec, sec+1) >= 0.75*2*simMiB {
					took = sec - leave
					break
				}
			}
			recovered = append(recovered, took)
		})
	}
	slices.Sort(recovered)
	t.Logf("seconds to three quarters of the quota after the crowd left, %d seeds: %v", seeds, recovered)
	if median := recovered[seeds/2]; median > maxMedian {
		t.Errorf("the one left took a median %d s to reach three quarters of the quota, want at most %d: %v", median, maxMedian, recovered)
	}
}

// TestConcurrencyFinishTogether: producers with equal work, started
// together on one stream whose quota they know (from its CloudWatch
// metrics, as the CLI reads them), finish at about the same time. Which
// producer a throttle hits is luck, and one run says little (the issue's
// target, 1.25 for the last one's finish over the first one's, is met in
// about three runs of five with four producers), so each case runs seeds
// times and is judged on the median: 1.11-1.25 in 45 repetitions of these
// cases, so at most 1.35. Eight producers on a 2 MiB/s stream have shares
// at the rate floor: when a producer that had been cut under it kept the
// small step meant for a quota below the floor, the median was 2.0.
func TestConcurrencyFinishTogether(t *testing.T) {
	t.Parallel()
	const seeds = 40
	tests := []struct {
		producers    int
		maxThrottled float64 // mean over the seeds
	}{
		{producers: 2, maxThrottled: 0.015},
		{producers: 4, maxThrottled: 0.02},
		// Eight equal additive steps a second overrun the stream more
		// often: fair shares cost more throttled records (about 4%).
		{producers: 8, maxThrottled: 0.06},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d producers", tt.producers), func(t *testing.T) {
			t.Parallel()
			var spreads []float64
			var throttled float64
			for seed := range uint64(seeds) {
				synctest.Test(t, func(t *testing.T) {
					finish, thr := simFinish{
						producers: tt.producers, records: 240_000 / tt.producers, recordBytes: 200,
						quota: 2 * simMiB, latency: 20 * time.Millisecond, knownQuota: true, seed: seed,
					}.run()
					spreads = append(spreads, float64(slices.Max(finish))/float64(slices.Min(finish)))
					throttled += thr / seeds
				})
			}
			slices.Sort(spreads)
			report := fmt.Sprintf("last/first: median %.2f, 90th percentile %.2f, worst %.2f; throttled %.2f%%",
				spreads[seeds/2], spreads[seeds*9/10], spreads[seeds-1], 100*throttled)
			t.Log(report)
			if spreads[seeds/2] > 1.35 {
				t.Errorf("unequal finish: %s", report)
			}
			if throttled > tt.maxThrottled {
				t.Errorf("over %.1f%% throttled: %s", 100*tt.maxThrottled, report)
			}
		})
	}
}

// jain returns Jain's fairness index of xs: 1 when all are equal, 1/n when
// one takes everything.
func jainIndex(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 0
	}
	return sum * sum / (float64(len(xs)) * sq)
}

// TestConcurrencyFairShares: independent producers on one stream, started
// at different times, each with its own controllers and no coordination,
// converge to about equal shares of the quota.
//
// How fast two AIMD senders converge depends on where in each other's
// cycle of cuts and raises the later ones join, and one join time says
// little: with the joiners 0-1.5 s later than listed, two producers at
// 100 ms gave Jain indexes from 0.87 to 1.00 over 60 s. So each staggered
// case runs joinShifts times, the joiners shifted by joinShift more each
// time, and is judged on the mean and the worst.
func TestConcurrencyFairShares(t *testing.T) {
	t.Parallel()
	const (
		joinShifts = 6
		joinShift  = 300 * time.Millisecond
	)
	tests := []struct {
		name    string
		startAt []time.Duration
		quota   float64
		latency time.Duration
	}{
		{name: "two at 5 MiB/s, 100ms", startAt: []time.Duration{0, 5 * time.Second}, quota: 5 * simMiB, latency: 100 * time.Millisecond},
		{name: "four at 2 MiB/s, 20ms", startAt: []time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second}, quota: 2 * simMiB, latency: 20 * time.Millisecond},
		{name: "four at 5 MiB/s, 100ms", startAt: []time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second}, quota: 5 * simMiB, latency: 100 * time.Millisecond},
		// All at once: the first to get requests in takes most of the
		// service's burst, and its first cut keeps that lead; equal raises
		// must take it back.
		{name: "four at once at 2 MiB/s, 20ms", startAt: []time.Duration{0, 0, 0, 0}, quota: 2 * simMiB, latency: 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runs := 1
			if tt.startAt[len(tt.startAt)-1] > 0 {
				runs = joinShifts
			}
			var jains []float64
			var reports []string
			for k := range runs {
				startAt := make([]time.Duration, len(tt.startAt))
				for i, at := range tt.startAt {
					if at > 0 {
						at += time.Duration(k) * joinShift
					}
					startAt[i] = at
				}
				synctest.Test(t, func(t *testing.T) {
					jain, report := fairShares(t, startAt, tt.quota, tt.latency)
					jains = append(jains, jain)
					reports = append(reports, report)
				})
			}
			var mean, worst float64 = 0, 1
			for _, j := range jains {
				mean += j / float64(len(jains))
				worst = min(worst, j)
			}
			// Jain 0.95: with raises in proportion to each one's share
			// these runs gave 0.91-0.95 (the records/s limit's step held
			// the bytes/s one back); with equal raises, 0.97-1. The worst
			// of the shifted runs may be lower, not unfair.
			if mean < 0.95 || worst < 0.85 {
				t.Errorf("unfair: Jain mean %.3f, worst %.3f over %d runs:\n%s", mean, worst, len(jains), strings.Join(reports, "\n"))
			}
		})
	}
}

// fairShares simulates producers started at startAt on one stream for 90 s
// and returns the Jain index of their throughputs over the last 60 s, and a
// report; it fails t if together they reach under 90% of the quota.
func fairShares(t *testing.T, startAt []time.Duration, quota float64, latency time.Duration) (float64, string) {
	t.Helper()
	const from, to = 30, 90
	res := simulate(t, simRun{phases: []simPhase{{to, quota, latency}}, startAt: startAt})
	var shares []float64
	var total, throttled float64
	var last []string
	for i := range startAt {
		x := res.srv.throughput(i, from, to)
		shares = append(shares, x/simMiB)
		total += x
		throttled += res.srv.throttledShare(i, from, to)
		l := res.limits[i]
		last = append(last, fmt.Sprint(l[len(l)-10:]))
	}
	report := fmt.Sprintf("starts %v: shares %.2f MiB/s, Jain %.3f, total %.2f MiB/s, mean throttled %.2f%%; last limits %s",
		startAt, shares, jainIndex(shares), total/simMiB, 100*throttled/float64(len(startAt)), strings.Join(last, " "))
	t.Log(report)
	if total < 0.9*quota {
		t.Errorf("under 90%% of the quota together: %s", report)
	}
	return jainIndex(shares), report
}

// driveConcRounds runs rounds of requests through c inside a synctest bubble:
// each round acquires demand(limit) slots at once, waits the round's round
// trip, and releases them all with the round's outcome and rate wait. It
// returns the limit after each round.
