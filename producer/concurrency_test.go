package producer

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func driveConcRounds(t *testing.T, c *concurrencyLimiter, rounds int, r concRoundSpec) []int {
	t.Helper()
	var limits []int
	for i := range rounds {
		n := c.stats().Limit
		if r.demand != nil {
			n = r.demand(n)
		}
		for range n {
			if err := c.acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		sent := time.Now()
		rtt, outcome := 100*time.Millisecond, requestDelivered
		if r.rtt != nil {
			rtt = r.rtt(i)
		}
		if r.outcome != nil {
			outcome = r.outcome(i)
		}
		time.Sleep(rtt)
		for range n {
			c.release(requestSample{sent: sent, rateWait: r.rateWait, outcome: outcome, records: r.records, bytes: r.bytes})
		}
		limits = append(limits, c.stats().Limit)
	}
	return limits
}

type concRoundSpec struct {
	demand   func(limit int) int // requests per round; nil: the limit
	rtt      func(round int) time.Duration
	outcome  func(round int) requestOutcome
	rateWait time.Duration
	// records and bytes are each request's size (0: not given).
	records, bytes int
}

func TestConcurrencyLimitRules(t *testing.T) {
	t.Parallel()
	throttledAt := func(rounds ...int) func(int) requestOutcome {
		return func(i int) requestOutcome {
			if slices.Contains(rounds, i) {
				return requestThrottled
			}
			return requestDelivered
		}
	}
	// configured are the settings New derives from its options.
	configured := func(opts ...Option) concurrencySettings {
		cfg := defaultConfig()
		for _, o := range opts {
			o(&cfg)
		}
		cfg.finish()
		s := cfg.concurrencySettings()
		s.initial = 1
		return s
	}
	tests := []struct {
		name     string
		settings concurrencySettings
		rounds   int
		spec     concRoundSpec
		want     []int
		reasons  []string // of each change, when given
	}{
		{
			name: "slow start doubles to 16, then adds one per round trip", settings: concurrencySettings{initial: 1},
			rounds: 8, want: []int{1, 2, 4, 8, 16, 17, 18, 19},
			reasons: []string{"slow start", "slow start", "slow start", "slow start", "grow", "grow", "grow"},
		},
		{
			name: "adaptive rate only: slow start stops at 16", settings: configured(),
			rounds: 7, want: []int{1, 2, 4, 8, 16, 17, 18},
		},
		{
			name:     "a static bytes/s limit: slow start goes straight to what it needs in flight, 1.5 x 5 MiB/s x 100 ms / 45 KB",
			settings: configured(MaxBytesPerSecond(5 << 20)), rounds: 5, spec: concRoundSpec{records: 500, bytes: 45_000},
			want:    []int{1, 18, 19, 20, 21},
			reasons: []string{"slow start", "grow", "grow", "grow"},
		},
		{
			name:     "a raised static bytes/s limit needs more than the maximum",
			settings: configured(MaxBytesPerSecond(50 << 20)), rounds: 4, spec: concRoundSpec{records: 500, bytes: 45_000},
			want: []int{1, 64, 64, 64},
		},
		{
			name:     "the lower need binds: 500,000 records/s need 150 in flight, 5 MiB/s 18",
			settings: configured(MaxRecordsPerSecond(500_000), MaxBytesPerSecond(5<<20)), rounds: 3,
			spec: concRoundSpec{records: 500, bytes: 45_000}, want: []int{1, 18, 19},
		},
		{
			name:     "a static records/s limit alone, up to MaxConcurrency",
			settings: configured(MaxRecordsPerSecond(500_000), MaxConcurrency(40)), rounds: 3,
			spec: concRoundSpec{records: 500, bytes: 45_000}, want: []int{1, 40, 40},
		},
		{
			name:     "a static limit, small requests at loopback: need is one, so growth is additive",
			settings: configured(MaxBytesPerSecond(2 << 20)), rounds: 4, spec: concRoundSpec{records: 100, bytes: 9_000,
				rtt: func(int) time.Duration { return time.Millisecond }},
			want: []int{1, 2, 3, 4}, reasons: []string{"grow", "grow", "grow"},
		},
		{
			name:     "a static requests/s limit does not bound the bytes",
			settings: configured(MaxRequestsPerSecond(2000)), rounds: 6, want: []int{1, 2, 4, 8, 16, 17},
		},
		{
			name: "max bounds growth", settings: concurrencySettings{initial: 3, max: 5},
			rounds: 4, want: []int{3, 5, 5, 5},
		},
		{
			name: "throttling cuts by a quarter, then growth is additive", settings: concurrencySettings{initial: 8},
			rounds: 6, spec: concRoundSpec{outcome: throttledAt(2)}, want: []int{8, 16, 12, 13, 14, 15},
			reasons: []string{"slow start", "throttled", "grow", "grow", "grow"},
		},
		{
			name: "repeated throttling floors at 1", settings: concurrencySettings{initial: 4},
			rounds: 6, spec: concRoundSpec{outcome: func(int) requestOutcome { return requestThrottled }}, want: []int{4, 3, 2, 1, 1, 1},
		},
		{
			name: "failures say nothing", settings: concurrencySettings{initial: 4},
			rounds: 4, spec: concRoundSpec{outcome: func(int) requestOutcome { return requestFailed }}, want: []int{4, 4, 4, 4},
		},
		{
			name: "no growth while the limit is not reached", settings: concurrencySettings{initial: 8},
			rounds: 5, spec: concRoundSpec{demand: func(l int) int { return l / 2 }}, want: []int{8, 8, 8, 8, 8},
		},
		{
			name: "no growth while the rate limiter holds requests", settings: concurrencySettings{initial: 8},
			rounds: 5, spec: concRoundSpec{rateWait: 20 * time.Millisecond}, want: []int{8, 8, 8, 8, 8},
		},
		{
			name: "a short rate wait does not stop growth", settings: concurrencySettings{initial: 8},
			rounds: 3, spec: concRoundSpec{rateWait: 5 * time.Millisecond}, want: []int{8, 16, 17},
		},
		{
			name: "a round trip 1.5x the baseline cuts by a tenth", settings: concurrencySettings{initial: 16},
			rounds: 4, spec: concRoundSpec{rtt: func(i int) time.Duration {
				if i >= 2 {
					return 200 * time.Millisecond
				}
				return 100 * time.Millisecond
			}}, want: []int{16, 17, 15, 13},
			reasons: []string{"grow", "latency", "latency"},
		},
		{
			name: "a round trip 1.3x the baseline holds", settings: concurrencySettings{initial: 16},
			rounds: 4, spec: concRoundSpec{rtt: func(i int) time.Duration {
				if i >= 2 {
					return 130 * time.Millisecond
				}
				return 100 * time.Millisecond
			}}, want: []int{16, 17, 17, 17},
		},
		{
			name: "fixed never moves", settings: concurrencySettings{fixed: 6, initial: 2, max: 3},
			rounds: 4, spec: concRoundSpec{outcome: throttledAt(1, 2)}, want: []int{6, 6, 6, 6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var reasons []string
				settings := tt.settings
				settings.onChange = func(from, to int, reason string) { reasons = append(reasons, reason) }
				c := newConcurrencyLimiter(settings)
				got := driveConcRounds(t, c, tt.rounds, tt.spec)
				if !slices.Equal(got, tt.want) {
					t.Errorf("limits %v, want %v; %+v", got, tt.want, c.stats())
				}
				if tt.reasons != nil && !slices.Equal(reasons, tt.reasons) {
					t.Errorf("reasons %q, want %q", reasons, tt.reasons)
				}
				if st := c.stats(); st.InFlight != 0 || st.MaxLimit != slices.Max(append(got, tt.want[0])) {
					t.Errorf("stats %+v after limits %v", st, got)
				}
			})
		})
	}
}

// TestConcurrencyAcquireWaits: acquire blocks at the limit, waiters get
// slots in arrival order, and a waiter whose context ends leaves the line
// without taking a slot.
func TestConcurrencyAcquireWaits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := newConcurrencyLimiter(concurrencySettings{fixed: 2})
		ctx := context.Background()
		for range 2 {
			if err := c.acquire(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		var order []int
		cancelCtx, cancel := context.WithCancel(ctx)
		errs := make(chan error, 1)
		go func() { errs <- c.acquire(cancelCtx) }() // waiter 0, cancelled
		synctest.Wait()
		for i := 1; i <= 3; i++ {
			go func() {
				if err := c.acquire(ctx); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			}()
			synctest.Wait() // queue them in order
		}
		if st := c.stats(); st.InFlight != 2 || len(order) != 0 {
			t.Fatalf("in flight %d, granted %v: want 2 and none while full", st.InFlight, order)
		}
		cancel()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled acquire returned %v", err)
		}
		sample := requestSample{sent: time.Now(), outcome: requestFailed}
		c.release(sample)
		synctest.Wait()
		c.release(sample)
		synctest.Wait()
		if st := c.stats(); st.InFlight != 2 || !slices.Equal(order, []int{1, 2}) {
			t.Fatalf("in flight %d, granted %v: want 2 and [1 2]", st.InFlight, order)
		}
		c.release(sample)
		synctest.Wait()
		if !slices.Equal(order, []int{1, 2, 3}) {
			t.Fatalf("granted %v, want [1 2 3]", order)
		}
		c.release(sample)
		c.release(sample)
		if st := c.stats(); st.InFlight != 0 {
			t.Fatalf("in flight %d after every release", st.InFlight)
		}
	})
}

// BenchmarkConcurrencyAcquireRelease measures the controller's own cost per
// request, uncontended and with every core sending.
func BenchmarkConcurrencyAcquireRelease(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		c := newConcurrencyLimiter(concurrencySettings{})
		for b.Loop() {
			if err := c.acquire(ctx); err != nil {
				b.Fatal(err)
			}
			c.release(requestSample{sent: time.Now()})
		}
	})
	b.Run("parallel", func(b *testing.B) {
		c := newConcurrencyLimiter(concurrencySettings{fixed: 4})
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.acquire(ctx); err != nil {
					b.Error(err)
					return
				}
				c.release(requestSample{sent: time.Now()})
			}
		})
	})
}

// TestConcurrencyManyGoroutines: many senders acquiring and releasing,
// some giving up while they wait, leave nothing held and nobody waiting,
// and in flight never passes the limit while it does not shrink.
func TestConcurrencyManyGoroutines(t *testing.T) {
	t.Parallel()
	c := newConcurrencyLimiter(concurrencySettings{fixed: 3})
	var over atomic.Bool
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 2000 {
				ctx, cancel := context.WithCancel(context.Background())
				if rng.IntN(4) == 0 {
					go cancel() // may land before, during or after the wait
				}
				err := c.acquire(ctx)
				cancel()
				if err != nil {
					continue
				}
				if st := c.stats(); st.InFlight > st.Limit {
					over.Store(true)
				}
				c.release(requestSample{sent: time.Now(), outcome: requestDelivered})
			}
		})
	}
	wg.Wait()
	if over.Load() {
		t.Error("more in flight than the fixed limit")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight != 0 || len(c.waiters) != 0 {
		t.Fatalf("after every release: %d in flight, %d waiting", c.inFlight, len(c.waiters))
	}
}

func TestConcurrencyStatsLogValue(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	c := newConcurrencyLimiter(concurrencySettings{initial: 6, max: 10})
	if err := c.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	log.Info("sending", "concurrency", c.stats())
	want := "concurrency.limit=6 concurrency.max_limit=6 concurrency.in_flight=1 concurrency.fixed=false"
	if !strings.Contains(buf.String(), want) {
		t.Fatalf("log line %q does not contain %q", buf.String(), want)
	}
}
