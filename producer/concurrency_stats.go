package producer

import (
	"log/slog"
	"time"
)

// concurrencyStats is what the summary and debug logs show.
type concurrencyStats struct {
	Limit       int           // the current limit
	MaxLimit    int           // the highest limit reached
	InFlight    int           // requests holding a slot now
	Fixed       bool          // the limit is fixed (no adaptation)
	BaselineRTT time.Duration // the round-trip baseline (0 before the first window)
	SmoothedRTT time.Duration // the smoothed round trip
	Throttled   int64         // cuts on back-pressure
	Congested   int64         // cuts on a round trip above its baseline
}

// LogValue makes the stats one group in a log line.
func (s concurrencyStats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("limit", s.Limit),
		slog.Int("max_limit", s.MaxLimit),
		slog.Int("in_flight", s.InFlight),
		slog.Bool("fixed", s.Fixed),
		slog.Duration("baseline_rtt", s.BaselineRTT),
		slog.Duration("smoothed_rtt", s.SmoothedRTT),
		slog.Int64("throttled_cuts", s.Throttled),
		slog.Int64("latency_cuts", s.Congested),
	)
}

// stats returns the controller's state for logs and the summary.
func (c *concurrencyLimiter) stats() concurrencyStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	return concurrencyStats{
		Limit:       c.limit,
		MaxLimit:    c.maxLimit,
		InFlight:    c.inFlight,
		Fixed:       c.fixed,
		BaselineRTT: sec(c.baseline),
		SmoothedRTT: sec(c.smoothed),
		Throttled:   c.cutThrottle,
		Congested:   c.cutRTT,
	}
}
