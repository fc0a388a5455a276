package checkpoint

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Tracker follows which records of one input are settled, as the pipeline
// reports them in any order, and keeps the low watermark and the ranges
// settled beyond it. Its memory grows with the number of gaps (unsettled
// records between settled ones, at most about the records in flight), not
// with the number of records. It is safe for concurrent use.
type Tracker struct {
	mu        sync.Mutex
	input     Identity
	watermark Position
	beyond    []Range // sorted, disjoint, not adjacent, all after watermark
	changes   uint64  // counts calls that settled something new
}

// NewTracker returns a Tracker of the input identified by input, with the
// watermark at start ([Beginning] for a fresh run) and nothing settled
// beyond it.
func NewTracker(input Identity, start Position) *Tracker {
	return &Tracker{input: input, watermark: start}
}

// NewTrackerFrom returns a Tracker that goes on from a loaded checkpoint:
// the records it lists as settled stay settled, so the next snapshot still
// lists them although a resumed run skips them and never settles them
// again.
func NewTrackerFrom(cp *Checkpoint) *Tracker {
	return &Tracker{input: cp.Input, watermark: cp.Watermark, beyond: slices.Clone(cp.Settled)}
}

// Settled records that record rec (1-based, the reader's Seq) is settled:
// delivered, dead-lettered or rejected. next is the input position just
// after it (where the following record starts); next.Record is taken to be
// rec+1 whatever it holds.
//
// Call it only once the outcome is durable as far as this process can make
// it so, except for writes the [Writer]'s BeforeSave hook makes durable
// (the dead-letter file): a record counts as settled in the next snapshot.
//
// It reports whether the record was newly settled: a record settled before,
// or before the watermark, or rec < 1 changes nothing.
func (t *Tracker) Settled(rec int64, next Position) bool {
	next.Record = rec + 1
	t.mu.Lock()
	defer t.mu.Unlock()
	if rec < t.watermark.Record {
		return false
	}
	// i is the first range that ends at or after rec.
	i := sort.Search(len(t.beyond), func(i int) bool { return t.beyond[i].Last >= rec })
	if i < len(t.beyond) && t.beyond[i].First <= rec {
		return false // already settled
	}
	t.changes++
	if rec == t.watermark.Record {
		t.watermark = next
		// The watermark may now reach the first range beyond it.
		if len(t.beyond) > 0 && t.beyond[0].First == t.watermark.Record {
			t.watermark = t.beyond[0].Next
			t.beyond = t.beyond[1:]
		}
		if len(t.beyond) == 0 {
			t.beyond = nil // let the backing array go
		}
		return true
	}
	joinsPrev := i > 0 && t.beyond[i-1].Last == rec-1
	joinsNext := i < len(t.beyond) && t.beyond[i].First == rec+1
	switch {
	case joinsPrev && joinsNext:
		t.beyond[i-1].Last = t.beyond[i].Last
		t.beyond[i-1].Next = t.beyond[i].Next
		t.beyond = slices.Delete(t.beyond, i, i+1)
	case joinsPrev:
		t.beyond[i-1].Last = rec
		t.beyond[i-1].Next = next
	case joinsNext:
		t.beyond[i].First = rec
	default:
		t.beyond = slices.Insert(t.beyond, i, Range{First: rec, Last: rec, Next: next})
	}
	return true
}

// Watermark returns the low watermark: every record before it is settled.
func (t *Tracker) Watermark() Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.watermark
}

// Gaps returns the number of ranges settled beyond the watermark, which is
// also the number of unsettled runs of records between settled ones: what
// the Tracker's memory grows with.
func (t *Tracker) Gaps() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.beyond)
}

// Snapshot returns the checkpoint as it stands, for [Save].
func (t *Tracker) Snapshot() *Checkpoint {
	cp, _ := t.snapshot()
	return cp
}

// snapshot also returns the change count the checkpoint reflects.
func (t *Tracker) snapshot() (*Checkpoint, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &Checkpoint{
		Version:   Version,
		Input:     t.input,
		Watermark: t.watermark,
		Settled:   slices.Clone(t.beyond),
		Saved:     time.Now(),
	}, t.changes
}

// Skipper answers, for a resumed run, which records the checkpoint already
// settled beyond its watermark. It is safe for concurrent use.
type Skipper struct {
	settled []Range
}

// Skipper returns the records a resumed run must skip: start reading at
// cp.Watermark, and drop every record for which Skip reports true.
func (cp *Checkpoint) Skipper() *Skipper {
	return &Skipper{settled: slices.Clone(cp.Settled)}
}

// Skip reports whether record rec was settled by the earlier run.
func (s *Skipper) Skip(rec int64) bool {
	i := sort.Search(len(s.settled), func(i int) bool { return s.settled[i].Last >= rec })
	return i < len(s.settled) && s.settled[i].First <= rec
}

// Count returns how many records Skip will report true for.
func (s *Skipper) Count() int64 {
	var n int64
	for _, r := range s.settled {
		n += r.Len()
	}
	return n
}
