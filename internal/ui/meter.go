package ui

import (
	"math"
	"time"

	"github.com/firehose-tools/firehose/producer"
)

// Counts is what the progress display needs, polled from the sender.
type Counts struct {
	// Delivered counts input records the service accepted.
	Delivered int64
	// Failed counts input records dead-lettered or rejected.
	Failed int64
	// Bytes counts payload bytes delivered.
	Bytes int64
	// InputBytes is how far into the input the reader got, in bytes of the
	// file as stored (compressed bytes for a compressed file: the records
	// reader's InputOffset); with ProgressOptions.TotalBytes it gives the
	// percentage and ETA when the record count is unknown.
	InputBytes int64
	// Throttled counts Firehose records refused with "Slow down.".
	Throttled int64
	// Retries counts input record resends.
	Retries int64

	// Done is the old name of Delivered + Failed, read only when Delivered
	// and Failed are both zero. It stays until the send pipeline sets
	// Delivered and Failed; do not use it in new code.
	Done int64
}

// CountsFromStats fills Counts from the producer's counters (InputBytes
// stays zero: the producer does not know the input).
func CountsFromStats(st producer.Stats) Counts {
	return Counts{
		Delivered: st.Delivered,
		Failed:    st.DeadLettered + st.Rejected,
		Bytes:     st.Bytes,
		Throttled: st.ThrottledRecords,
		Retries:   st.Retries,
	}
}

// Sub returns c minus base, field by field: the counts of a phase that
// started when base was read.
func (c Counts) Sub(base Counts) Counts {
	return Counts{
		Delivered:  c.Delivered - base.Delivered,
		Failed:     c.Failed - base.Failed,
		Bytes:      c.Bytes - base.Bytes,
		InputBytes: c.InputBytes - base.InputBytes,
		Throttled:  c.Throttled - base.Throttled,
		Retries:    c.Retries - base.Retries,
		Done:       c.Done - base.Done,
	}
}

// normalized reads the deprecated Done field.
func (c Counts) normalized() Counts {
	if c.Delivered == 0 && c.Failed == 0 && c.Done > 0 {
		c.Delivered = c.Done
	}
	return c
}

// rateWindow is how far back the live rate and the ETA look.
const rateWindow = 5 * time.Second

// meter turns polled counts into rates, a percentage and an ETA. It is pure:
// the caller passes the time.
type meter struct {
	totalRecords, totalBytes int64
	start                    time.Time
	samples                  []sample // oldest first, spanning about rateWindow
}

type sample struct {
	at        time.Time
	delivered int64
	bytes     int64
	fraction  float64 // -1 when unknown
}

// snapshot is the state shown at one moment.
type snapshot struct {
	Counts
	Elapsed time.Duration
	// Rate and ByteRate are delivered records and bytes per second over
	// the last rateWindow.
	Rate, ByteRate float64
	// Percent is 0-100, or -1 when no total is known.
	Percent float64
	// ETA is the time left at the current pace, or -1 when unknown.
	ETA time.Duration
}

func newMeter(start time.Time, totalRecords, totalBytes int64) *meter {
	return &meter{start: start, totalRecords: totalRecords, totalBytes: totalBytes}
}

// fraction is the share of the input settled (records) or read (bytes),
// 0 to 1, or -1 when no total is known.
func (m *meter) fraction(c Counts) float64 {
	var f float64
	switch {
	case m.totalRecords > 0:
		f = float64(c.Delivered+c.Failed) / float64(m.totalRecords)
	case m.totalBytes > 0:
		// Delivered bytes are no measure of the input read: a JSON array
		// has white space, a compressed file is smaller than its records.
		f = float64(c.InputBytes) / float64(m.totalBytes)
	default:
		return -1
	}
	return min(max(f, 0), 1)
}

// update records c at now and returns what to show.
func (m *meter) update(now time.Time, c Counts) snapshot {
	c = c.normalized()
	s := sample{at: now, delivered: c.Delivered, bytes: c.Bytes, fraction: m.fraction(c)}
	m.samples = append(m.samples, s)
	// Keep one sample at or before the window's start, so the rate spans
	// the whole window once it has run that long.
	cut := 0
	for cut+1 < len(m.samples) && now.Sub(m.samples[cut+1].at) >= rateWindow {
		cut++
	}
	m.samples = m.samples[cut:]

	snap := snapshot{Counts: c, Elapsed: now.Sub(m.start), Percent: -1, ETA: -1}
	// Before the first sample is old enough, measure from the start.
	first := sample{at: m.start}
	if len(m.samples) > 1 && now.Sub(m.start) > rateWindow {
		first = m.samples[0]
	}
	if s.fraction >= 0 && first.fraction < 0 {
		first.fraction = 0
	}
	span := now.Sub(first.at).Seconds()
	if span > 0 {
		snap.Rate = float64(s.delivered-first.delivered) / span
		snap.ByteRate = float64(s.bytes-first.bytes) / span
	}
	if s.fraction >= 0 {
		// Rounded down: 100% only when everything is done.
		snap.Percent = math.Floor(s.fraction*1000) / 10
		speed := 0.0
		if span > 0 {
			speed = (s.fraction - first.fraction) / span
		}
		switch {
		case s.fraction >= 1:
			snap.ETA = 0
		case speed > 0:
			snap.ETA = time.Duration((1 - s.fraction) / speed * float64(time.Second)).Round(time.Second)
		}
	}
	return snap
}
