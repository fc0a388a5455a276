package producer

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// simServer is a stream with a bytes/s quota, simulated inside a synctest
// bubble: a token bucket of quota bytes/s holding at most one second of
// quota (full at the start, as the emulator's), and a round trip of latency
// (1 ± jitter, uniform), half each way. A request's records are taken in
// order while tokens last; the rest come back throttled.
type simServer struct {
	mu      sync.Mutex
	epoch   time.Time // second 0 of the per-second tallies
	quota   float64   // bytes/s
	tokens  float64
	last    time.Time
	latency time.Duration
	jitter  float64
	rng     *rand.Rand
	tally   map[int][]simSecond // per producer, per simulated second

	// target: when the bytes accepted in all first reach it, targetAt and
	// throttledAtTarget are set.
	target            int64
	total             int64
	throttledAll      int64
	targetAt          time.Duration
	throttledAtTarget int64
}

// simSecond is one producer's traffic in one simulated second.
type simSecond struct {
	acceptedBytes, sentRecords, throttledRecords int64
}

// newSimServer returns a service with quota bytes/s and latency whose
// round-trip jitter follows seed.
func newSimServer(quota float64, latency time.Duration, seed uint64) *simServer {
	now := time.Now()
	return &simServer{
		epoch: now, quota: quota, tokens: quota, last: now, latency: latency, jitter: 0.1,
		rng: rand.New(rand.NewPCG(seed, 2)), tally: map[int][]simSecond{},
	}
}

// set changes the quota and the latency from now on.
func (s *simServer) set(quota float64, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refillLocked(time.Now())
	s.quota, s.latency = quota, latency
	s.tokens = min(s.tokens, quota)
}

func (s *simServer) refillLocked(now time.Time) {
	s.tokens = min(s.quota, s.tokens+now.Sub(s.last).Seconds()*s.quota)
	s.last = now
}

// put sends records of recordBytes each for producer id, taking a round
// trip, and returns how many were accepted.
func (s *simServer) put(id, records, recordBytes int) int {
	s.mu.Lock()
	rtt := time.Duration(float64(s.latency) * (1 + s.jitter*(2*s.rng.Float64()-1)))
	s.mu.Unlock()
	time.Sleep(rtt / 2)
	s.mu.Lock()
	now := time.Now()
	s.refillLocked(now)
	n := min(records, int(s.tokens/float64(recordBytes)))
	s.tokens -= float64(n * recordBytes)
	sec := int(now.Sub(s.epoch) / time.Second)
	for len(s.tally[id]) <= sec {
		s.tally[id] = append(s.tally[id], simSecond{})
	}
	t := &s.tally[id][sec]
	t.acceptedBytes += int64(n * recordBytes)
	t.sentRecords += int64(records)
	t.throttledRecords += int64(records - n)
	s.total += int64(n * recordBytes)
	s.throttledAll += int64(records - n)
	if s.target > 0 && s.targetAt == 0 && s.total >= s.target {
		s.targetAt, s.throttledAtTarget = now.Sub(s.epoch), s.throttledAll
	}
	s.mu.Unlock()
	time.Sleep(rtt - rtt/2)
	return n
}

// throughput returns producer id's accepted bytes/s over seconds [from, to).
func (s *simServer) throughput(id, from, to int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum int64
	for sec := from; sec < to && sec < len(s.tally[id]); sec++ {
		sum += s.tally[id][sec].acceptedBytes
	}
	return float64(sum) / float64(to-from)
}

// throttledShare returns the share of the records producer id sent in
// seconds [from, to) that came back throttled.
func (s *simServer) throttledShare(id, from, to int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sent, throttled int64
	for sec := from; sec < to && sec < len(s.tally[id]); sec++ {
		sent += s.tally[id][sec].sentRecords
		throttled += s.tally[id][sec].throttledRecords
	}
	if sent == 0 {
		return 0
	}
	return float64(throttled) / float64(sent)
}

// simProducer sends batches of simBatchRecords records of simRecordBytes
// each to a simServer from an endless backlog, as a producer's workers
// would: acquire a slot, wait on the rate limiter (limit.go's, when rate is
// set), send, release with the sample.
type simProducer struct {
	id   int
	srv  *simServer
	cl   *concurrencyLimiter
	rate *limiter // nil: no rate control
	// rateFirst: wait on the rate before acquire instead of after.
	rateFirst bool
	wg        sync.WaitGroup
}

func (p *simProducer) run(ctx context.Context) {
	for ctx.Err() == nil {
		if p.rateFirst && p.rate != nil {
			if err := p.rate.wait(ctx, simBatchRecords, simBatchRecords*simRecordBytes); err != nil {
				break
			}
		}
		if err := p.cl.acquire(ctx); err != nil {
			break
		}
		p.wg.Go(p.request)
	}
	p.wg.Wait()
}

func (p *simProducer) request() {
	acquired := time.Now()
	if p.rate != nil && !p.rateFirst {
		if err := p.rate.wait(context.Background(), simBatchRecords, simBatchRecords*simRecordBytes); err != nil {
			panic(err) // the background context never ends
		}
	}
	sent := time.Now()
	got := p.srv.put(p.id, simBatchRecords, simRecordBytes)
	settleSimRequest(p.rate, p.cl, acquired, sent, simBatchRecords, got, simRecordBytes)
}

// settleSimRequest tells the rate limiter (nil: none) and the in-flight
// limit how a request of records records went, got of them accepted, as a
// producer's worker does: the request had its slot at acquired and went out
// at sent.
func settleSimRequest(rate *limiter, cl *concurrencyLimiter, acquired, sent time.Time, records, got, recordBytes int) {
	s := requestSample{sent: sent, rateWait: sent.Sub(acquired), outcome: requestDelivered}
	if got < records {
		s.outcome = requestThrottled
	}
	if rate != nil {
		rate.accepted(got, got*recordBytes)
		if got < records {
			rate.throttled(sent)
		} else {
			rate.succeeded()
		}
	}
	cl.release(s)
}

// newSimRateLimiter returns limit.go's limiter as a producer sets it up by
// default: adaptive, no static quota, bursts of one full batch.
func newSimRateLimiter() *limiter {
	return newLimiter(config{maxBatchRecords: MaxBatchRecordsLimit, maxBatchBytes: MaxBatchBytesLimit, adaptive: true})
}

const (
	simRecordBytes  = 90
	simBatchRecords = 500 // 45,000 bytes a request, as in issue 12's measurements
	simMiB          = 1 << 20
)

// simPhase is a stretch of a simulation with one quota and latency.
type simPhase struct {
	seconds int
	quota   float64 // bytes/s
	latency time.Duration
}

// simRun describes one simulation.
type simRun struct {
	phases  []simPhase
	startAt []time.Duration // one producer per entry, started then
	// stopAt: when each producer stops (nil, or 0 for one: at the end).
	stopAt []time.Duration
	noRate bool // without limit.go's rate limiter
	// rateFirst: each producer waits on the rate before acquire.
	rateFirst bool
	settings  concurrencySettings
	target    int64 // see simServer.target
	// seed seeds the service's round-trip jitter (0: 1).
	seed uint64
}

type simResult struct {
	srv       *simServer
	producers []*simProducer
	limits    [][]int // per producer, the limit at the start of each second
	// rates: per producer, the rate limiter's bytes/s limit in MiB/s at
	// the start of each second (0: none).
	rates [][]float64
}

// simulate runs r inside the caller's synctest bubble.
func simulate(t *testing.T, r simRun) simResult {
	t.Helper()
	srv := newSimServer(r.phases[0].quota, r.phases[0].latency, max(r.seed, 1))
	srv.target = r.target
	total := 0
	for _, ph := range r.phases {
		total += ph.seconds
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(total)*time.Second)
	defer cancel()
	res := simResult{srv: srv, limits: make([][]int, len(r.startAt)), rates: make([][]float64, len(r.startAt))}
	var wg sync.WaitGroup
	for i, at := range r.startAt {
		p := &simProducer{id: i, srv: srv, cl: newConcurrencyLimiter(r.settings), rateFirst: r.rateFirst}
		if !r.noRate {
			p.rate = newSimRateLimiter()
		}
		res.producers = append(res.producers, p)
		wg.Go(func() {
			time.Sleep(at)
			pctx := ctx
			if i < len(r.stopAt) && r.stopAt[i] > 0 {
				var stop context.CancelFunc
				pctx, stop = context.WithTimeout(ctx, r.stopAt[i]-at)
				defer stop()
			}
			p.run(pctx)
		})
	}
	wg.Go(func() {
		for _, ph := range r.phases {
			srv.set(ph.quota, ph.latency)
			for range ph.seconds {
				for i, p := range res.producers {
					res.limits[i] = append(res.limits[i], p.cl.stats().Limit)
					if p.rate != nil {
						_, b := p.rate.limits()
						res.rates[i] = append(res.rates[i], math.Round(10*b/simMiB)/10)
					}
				}
				time.Sleep(time.Second)
			}
		}
	})
	wg.Wait()
	return res
}

// simFinish is a simulation of producers with a fixed amount of work each,
// started together, as in the benchmark's "four producers on one stream".
type simFinish struct {
	producers   int
	records     int // each producer's
	recordBytes int
	quota       float64 // bytes/s
	latency     time.Duration
	// knownQuota: each producer has the quota as its static bytes/s
	// limit, as the CLI sets it from a stream's CloudWatch metrics.
	knownQuota bool
	seed       uint64
}

// run simulates f inside the caller's synctest bubble and returns when each
// producer had all its records accepted, and the throttled records (each
// time one came back throttled) per record, as the benchmark counts them.
// Requests are as big as the rate limiter's batch caps allow; throttled
// records are sent again in a later request.
func (f simFinish) run() (finish []time.Duration, throttled float64) {
	srv := newSimServer(f.quota, f.latency, f.seed)
	start := time.Now()
	finish = make([]time.Duration, f.producers)
	var wg sync.WaitGroup
	for i := range f.producers {
		cfg := config{maxBatchRecords: MaxBatchRecordsLimit, maxBatchBytes: MaxBatchBytesLimit, adaptive: true}
		settings := concurrencySettings{}
		if f.knownQuota {
			cfg.maxBytesPerSecond, settings.staticBytes = f.quota, f.quota
		}
		cfg.finish()
		lim, cl := newLimiter(cfg), newConcurrencyLimiter(settings)
		wg.Go(func() {
			var (
				mu       sync.Mutex
				left     = f.records // not yet accepted
				unsent   = f.records // neither accepted nor in flight
				requests sync.WaitGroup
				changed  = make(chan struct{}, 1)
			)
			for {
				mu.Lock()
				l, u := left, unsent
				mu.Unlock()
				if l == 0 {
					break
				}
				if u == 0 {
					<-changed // a request came back
					continue
				}
				if err := cl.acquire(context.Background()); err != nil {
					panic(err) // the background context never ends
				}
				maxRecords, maxBytes := lim.batchCap(MaxBatchRecordsLimit, MaxBatchBytesLimit)
				mu.Lock()
				n := min(maxRecords, maxBytes/f.recordBytes, unsent)
				unsent -= n
				mu.Unlock()
				requests.Go(func() {
					acquired := time.Now()
					if err := lim.wait(context.Background(), n, n*f.recordBytes); err != nil {
						panic(err)
					}
					sent := time.Now()
					got := srv.put(i, n, f.recordBytes)
					settleSimRequest(lim, cl, acquired, sent, n, got, f.recordBytes)
					mu.Lock()
					left -= got
					unsent += n - got
					mu.Unlock()
					select {
					case changed <- struct{}{}:
					default:
					}
				})
			}
			requests.Wait()
			finish[i] = time.Since(start)
		})
	}
	wg.Wait()
	return finish, float64(srv.throttledAll) / float64(f.producers*f.records)
}
