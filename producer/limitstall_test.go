package producer

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// cutToFloor drives an adaptive limiter's records/s limit down to its floor.
func cutToFloor(t *testing.T, l *limiter) {
	t.Helper()
	l.accepted(10, 1000)
	if !l.throttled(time.Now()) {
		t.Fatal("no cut")
	}
	if r, _ := l.limits(); r != minAdaptiveRecords {
		t.Fatalf("limit %v after the cut, want the floor %v", r, float64(minAdaptiveRecords))
	}
}

// TestLimiterWaitersFollowRateChanges: workers parked in the limiter follow
// a change of the rate: they must not stay parked on a schedule made at an
// older, lower rate once the rate is raised or lifted, nor go out on the
// schedule of a rate just cut (the rate that was throttled). Sixteen
// workers each wait for a 500-record batch at the 1,000 records/s floor:
// on that schedule the last goes after 7.5 s.
func TestLimiterWaitersFollowRateChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		newLimit float64 // adaptive records/s set after 1 s; 0 lifts the limit
		minWait  time.Duration
		maxWait  time.Duration
	}{
		// After 1 s the remaining 6.5 s of queue drains at once.
		{name: "lifted", newLimit: 0, minWait: time.Second, maxWait: 1100 * time.Millisecond},
		// Doubled: the remaining 6.5 s drains in 3.25 s.
		{name: "doubled", newLimit: 2 * minAdaptiveRecords, minWait: 4 * time.Second, maxWait: 4300 * time.Millisecond},
		// Halved: the remaining 6.5 s takes 13 s.
		{name: "cut", newLimit: minAdaptiveRecords / 2, minWait: 13500 * time.Millisecond, maxWait: 14100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				l := newLimiter(config{maxBatchRecords: 500, maxBatchBytes: MaxBatchBytesLimit, adaptive: true})
				cutToFloor(t, l)
				start := time.Now()
				var mu sync.Mutex
				var last time.Duration
				var wg sync.WaitGroup
				for range 16 {
					wg.Go(func() {
						if err := l.wait(context.Background(), 500, 50_000); err != nil {
							t.Error(err)
						}
						mu.Lock()
						last = max(last, time.Since(start))
						mu.Unlock()
					})
				}
				time.Sleep(time.Second)
				l.mu.Lock()
				l.adRecords.limit = tc.newLimit
				if tc.newLimit == 0 {
					l.adBytes.limit = 0
				}
				l.applyLocked()
				l.mu.Unlock()
				wg.Wait()
				if last > tc.maxWait || last < tc.minWait {
					t.Errorf("the last worker waited %v, want %v..%v", last, tc.minWait, tc.maxWait)
				}
			})
		})
	}
}
