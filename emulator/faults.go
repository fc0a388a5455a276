package emulator

import (
	"math/rand/v2"
	"sync"
)

// faultInjector draws every fault decision from one seeded source, so a run
// with the same seed and the same request sequence fails the same way.
type faultInjector struct {
	cfg FaultConfig

	mu  sync.Mutex
	rng *rand.Rand
}

func newFaultInjector(cfg FaultConfig) *faultInjector {
	seed := uint64(cfg.Seed) //nolint:gosec // any bit pattern is a fine seed
	return &faultInjector{cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// requestFault returns the error failing a whole request, or nil.
func (f *faultInjector) requestFault() *apiError {
	if f.cfg.RequestErrorRate <= 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.cfg.RequestErrorRate {
		return nil
	}
	if f.rng.IntN(2) == 0 {
		return serviceUnavailable(messageServiceUnavailab)
	}
	return internalFailure()
}

// recordFaults marks records that fail on their own: it sets outcomes[i]
// for each record i not already failed, and returns how many it failed.
func (f *faultInjector) recordFaults(outcomes []recordOutcome) int {
	if f.cfg.RecordErrorRate <= 0 {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for i := range outcomes {
		if outcomes[i] != outcomeOK {
			continue
		}
		if f.rng.Float64() < f.cfg.RecordErrorRate {
			n++
			if f.rng.IntN(2) == 0 {
				outcomes[i] = outcomeUnavailable
			} else {
				outcomes[i] = outcomeInternal
			}
		}
	}
	return n
}

// lostResponse reports whether to drop the connection instead of answering.
func (f *faultInjector) lostResponse() bool {
	if f.cfg.LostResponseRate <= 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64() < f.cfg.LostResponseRate
}
