package producer

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"
)

// TestStartRamp: until the first throttle, with no static limit, the rate
// starts at startRecords and startBytes with empty buckets and doubles
// every startDoubling; the first cut ends the ramp, and so does
// startDoublings without one. A static limit or Adaptive(false) has none.
func TestStartRamp(t *testing.T) {
	t.Parallel()
	const batchRecords, batchBytes = 500, 45_000
	tests := []struct {
		name string
		cfg  config
		// wantBytes is the bytes/s rate of the first startDoubling (0: unlimited).
		wantBytes float64
		ramp      bool
	}{
		{"adaptive, quota unknown", config{adaptive: true}, startBytes, true},
		{"static bytes limit: no bytes ramp", config{adaptive: true, maxBytesPerSecond: 50 << 20}, 50 << 20, true},
		{"static records and bytes: no ramp", config{adaptive: true, maxBytesPerSecond: 50 << 20, maxRecordsPerSecond: 5_000_000}, 50 << 20, false},
		{"not adaptive: no ramp", config{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tt.cfg.maxBatchRecords, tt.cfg.maxBatchBytes = MaxBatchRecordsLimit, MaxBatchBytesLimit
				l := newLimiter(tt.cfg)
				ctx := context.Background()
				// sendFor sends batches back to back for d and returns the
				// bytes sent.
				sendFor := func(d time.Duration) float64 {
					end := time.Now().Add(d)
					sent := 0
					for time.Now().Before(end) {
						if err := l.wait(ctx, batchRecords, batchBytes); err != nil {
							t.Fatal(err)
						}
						sent += batchBytes
						if tt.wantBytes == 0 && sent > 100<<20 {
							break // unlimited: no time passes
						}
					}
					return float64(sent)
				}
				first := sendFor(startDoubling)
				if tt.wantBytes == 0 {
					if r, b := l.records.Limit(), l.bytes.Limit(); r != rate.Inf || b != rate.Inf {
						t.Errorf("limits %v records/s, %v B/s; want none", r, b)
					}
					return
				}
				// The buckets start empty: not a burst of 4 MiB first.
				if want := tt.wantBytes * startDoubling.Seconds(); first > want+batchBytes || first < want-batchBytes {
					t.Errorf("first %v: %.0f bytes sent, want %.0f (bucket empty at the start)", startDoubling, first, want)
				}
				wantRecords := float64(startRecords)
				if tt.cfg.maxRecordsPerSecond > 0 {
					wantRecords = tt.cfg.maxRecordsPerSecond
				}
				if got := float64(l.records.Limit()); got != wantRecords {
					t.Errorf("records/s limit %v, want %v", got, wantRecords)
				}
				second := sendFor(startDoubling)
				if tt.cfg.maxBytesPerSecond == 0 {
					// Doubled after one startDoubling.
					if ratio := second / first; ratio < 1.9 || ratio > 2.1 {
						t.Errorf("second %v sent %.2f times the first, want 2", startDoubling, ratio)
					}
				}
				if !tt.ramp {
					return
				}
				// Without a throttle the ramp ends after startDoublings.
				time.Sleep(startDoublings * startDoubling)
				if err := l.wait(ctx, batchRecords, batchBytes); err != nil {
					t.Fatal(err)
				}
				if r := l.records.Limit(); r != rate.Inf {
					t.Errorf("records/s limit %v after %d doublings, want none", r, startDoublings)
				}
			})
		})
	}
}

// TestStartRampEndsAtFirstCut: the first throttle sets the limits from what
// the service accepted, and the ramp no longer applies.
func TestStartRampEndsAtFirstCut(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(config{maxBatchRecords: MaxBatchRecordsLimit, maxBatchBytes: MaxBatchBytesLimit, adaptive: true})
		ctx := context.Background()
		// 2 MB/s sent and accepted for a second, under the ramp.
		sendAccepted(t, l, 10, 2000, 200_000)
		if !l.throttled(time.Now()) {
			t.Fatal("first throttle did not cut")
		}
		_, b := l.limits()
		if got := float64(l.bytes.Limit()); got != b || b > 2_000_000 {
			t.Errorf("bytes/s limit %v after the cut, want the cut's %v (under 2 MB/s)", got, b)
		}
		// One startDoubling later the ramp would have doubled: it does not.
		time.Sleep(startDoubling)
		if err := l.wait(ctx, 1, 100); err != nil {
			t.Fatal(err)
		}
		if got := float64(l.bytes.Limit()); got != b {
			t.Errorf("bytes/s limit %v one startDoubling after the cut, want %v", got, b)
		}
	})
}
