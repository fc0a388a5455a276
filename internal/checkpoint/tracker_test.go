package checkpoint

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// after returns the position just after record rec in a synthetic input
// where record r takes 10+r%7 bytes and two lines, so that offsets and
// lines are not plain multiples of the record index.
func after(rec int64) Position {
	// The sum of 10 + r%7 for r in 1..rec: r%7 runs 1..6,0 in each full
	// cycle of seven (21 in all), then 1..rest.
	cycles, rest := rec/7, rec%7
	off := 10*rec + 21*cycles + rest*(rest+1)/2
	return Position{Offset: off, Record: rec + 1, Line: 2*rec + 1}
}

func settleAll(t *testing.T, tr *Tracker, recs ...int64) []bool {
	t.Helper()
	got := make([]bool, len(recs))
	for i, r := range recs {
		got[i] = tr.Settled(r, after(r))
	}
	return got
}

func spans(rs []Range) [][2]int64 {
	var out [][2]int64
	for _, r := range rs {
		out = append(out, [2]int64{r.First, r.Last})
	}
	return out
}

func TestTrackerSettled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		settle    []int64
		wantNew   []bool
		watermark int64 // Record of the watermark
		beyond    [][2]int64
	}{
		{name: "nothing", watermark: 1},
		{name: "in order", settle: []int64{1, 2, 3}, wantNew: []bool{true, true, true}, watermark: 4},
		{name: "reverse order", settle: []int64{3, 2, 1}, wantNew: []bool{true, true, true}, watermark: 4},
		{
			name: "gap keeps the watermark", settle: []int64{1, 3, 4, 6},
			wantNew: []bool{true, true, true, true}, watermark: 2, beyond: [][2]int64{{3, 4}, {6, 6}},
		},
		{
			name: "filling a gap merges both sides", settle: []int64{2, 4, 3},
			wantNew: []bool{true, true, true}, watermark: 1, beyond: [][2]int64{{2, 4}},
		},
		{
			name: "filling the watermark gap swallows the range", settle: []int64{2, 3, 5, 1},
			wantNew: []bool{true, true, true, true}, watermark: 4, beyond: [][2]int64{{5, 5}},
		},
		{
			name: "extending a range downwards", settle: []int64{5, 4, 3},
			wantNew: []bool{true, true, true}, watermark: 1, beyond: [][2]int64{{3, 5}},
		},
		{
			name: "duplicates are ignored", settle: []int64{1, 1, 3, 3, 2, 2, 5, 5},
			wantNew:   []bool{true, false, true, false, true, false, true, false},
			watermark: 4, beyond: [][2]int64{{5, 5}},
		},
		{
			name: "duplicate inside a range", settle: []int64{3, 4, 5, 4},
			wantNew: []bool{true, true, true, false}, watermark: 1, beyond: [][2]int64{{3, 5}},
		},
		{
			name: "record indexes below 1 are ignored", settle: []int64{0, -3, 1},
			wantNew: []bool{false, false, true}, watermark: 2,
		},
		{
			name: "insert between ranges", settle: []int64{2, 8, 5},
			wantNew: []bool{true, true, true}, watermark: 1, beyond: [][2]int64{{2, 2}, {5, 5}, {8, 8}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := NewTracker(Identity{Path: "in.json"}, Beginning())
			got := settleAll(t, tr, tt.settle...)
			if tt.wantNew != nil && !slices.Equal(got, tt.wantNew) {
				t.Errorf("Settled returned %v, want %v", got, tt.wantNew)
			}
			wm := tr.Watermark()
			if want := after(tt.watermark - 1); wm != want {
				t.Errorf("watermark %+v, want %+v", wm, want)
			}
			cp := tr.Snapshot()
			if got := spans(cp.Settled); !slices.Equal(got, tt.beyond) {
				t.Errorf("settled beyond the watermark %v, want %v", got, tt.beyond)
			}
			for _, r := range cp.Settled {
				if r.Next != after(r.Last) {
					t.Errorf("range %d..%d next %+v, want %+v", r.First, r.Last, r.Next, after(r.Last))
				}
			}
			if tr.Gaps() != len(tt.beyond) {
				t.Errorf("Gaps() = %d, want %d", tr.Gaps(), len(tt.beyond))
			}
			if err := cp.validate(); err != nil {
				t.Errorf("snapshot does not validate: %v", err)
			}
		})
	}
}

// TestTrackerResumeCarriesRanges: a tracker resumed from a checkpoint keeps
// the ranges the earlier run settled (the resumed run skips those records
// and never settles them), and its watermark moves over them.
func TestTrackerResumeCarriesRanges(t *testing.T) {
	t.Parallel()
	first := NewTracker(Identity{Path: "in.json"}, Beginning())
	settleAll(t, first, 1, 2, 4, 5, 7)
	cp := roundTrip(t, first.Snapshot())

	skip := cp.Skipper()
	var skipped []int64
	for r := cp.Watermark.Record; r <= 8; r++ {
		if skip.Skip(r) {
			skipped = append(skipped, r)
		}
	}
	if want := []int64{4, 5, 7}; !slices.Equal(skipped, want) {
		t.Fatalf("skipped %v, want %v", skipped, want)
	}
	if skip.Count() != 3 || cp.SettledCount() != 5 {
		t.Fatalf("Count() = %d, SettledCount() = %d; want 3 and 5", skip.Count(), cp.SettledCount())
	}

	second := NewTrackerFrom(cp)
	settleAll(t, second, 6)
	if got := spans(second.Snapshot().Settled); !slices.Equal(got, [][2]int64{{4, 7}}) {
		t.Fatalf("after settling 6: %v, want [[4 7]]", got)
	}
	settleAll(t, second, 3)
	if wm := second.Watermark(); wm != after(7) {
		t.Fatalf("watermark %+v, want %+v", wm, after(7))
	}
}

func roundTrip(t *testing.T, cp *Checkpoint) *Checkpoint {
	t.Helper()
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	var back Checkpoint
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if err := back.validate(); err != nil {
		t.Fatalf("round trip of %s: %v", b, err)
	}
	return &back
}

// checkAgainstSet compares the tracker with a plain set of settled records.
func checkAgainstSet(t *testing.T, tr *Tracker, set map[int64]bool, maxRec int64) {
	t.Helper()
	wantWM := int64(1)
	for set[wantWM] {
		wantWM++
	}
	var want [][2]int64
	for r := wantWM + 1; r <= maxRec; r++ {
		if !set[r] {
			continue
		}
		if n := len(want); n > 0 && want[n-1][1] == r-1 {
			want[n-1][1] = r
		} else {
			want = append(want, [2]int64{r, r})
		}
	}
	cp := roundTrip(t, tr.Snapshot())
	if cp.Watermark != after(wantWM-1) {
		t.Fatalf("watermark %+v, want %+v", cp.Watermark, after(wantWM-1))
	}
	if got := spans(cp.Settled); !slices.Equal(got, want) {
		t.Fatalf("ranges %v, want %v", got, want)
	}
	for _, r := range cp.Settled {
		if r.Next != after(r.Last) {
			t.Fatalf("range %v next %+v, want %+v", r, r.Next, after(r.Last))
		}
	}
	if cp.SettledCount() != int64(len(set)) {
		t.Fatalf("SettledCount() = %d, want %d", cp.SettledCount(), len(set))
	}
	skip := cp.Skipper()
	for r := wantWM; r <= maxRec+1; r++ {
		if skip.Skip(r) != set[r] {
			t.Fatalf("Skip(%d) = %v, want %v", r, skip.Skip(r), set[r])
		}
	}
}

// driveTracker settles the records ops name (each byte one record index in
// 1..64, duplicates included) and checks the tracker against a set after
// each step.
func driveTracker(t *testing.T, ops []byte) {
	t.Helper()
	const maxRec = 64
	tr := NewTracker(Identity{Path: "in"}, Beginning())
	set := map[int64]bool{}
	for _, b := range ops {
		r := int64(b%maxRec) + 1
		isNew := tr.Settled(r, after(r))
		if isNew == set[r] {
			t.Fatalf("Settled(%d) = %v, but the record was settled before: %v", r, isNew, set[r])
		}
		set[r] = true
		checkAgainstSet(t, tr, set, maxRec)
	}
}

// TestTrackerAgainstSet is the property test: random orders with
// duplicates, compared with a naive set after every step.
func TestTrackerAgainstSet(t *testing.T) {
	t.Parallel()
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))
		ops := make([]byte, 1+rng.IntN(150))
		for i := range ops {
			// Mostly near the front, as a pipeline settles, with some far.
			if rng.IntN(4) == 0 {
				ops[i] = byte(rng.IntN(64))
			} else {
				ops[i] = byte(min(63, i/2+rng.IntN(8)))
			}
		}
		driveTracker(t, ops)
	}
}

func FuzzTracker(f *testing.F) {
	f.Add([]byte{0, 1, 2})
	f.Add([]byte{5, 3, 3, 1, 0, 2, 4})
	f.Add([]byte{63, 62, 0, 61, 1})
	f.Fuzz(driveTracker)
}

// TestTrackerMemoryFollowsGaps: settling a million records with a bounded
// number out of order keeps the ranges bounded by the gaps.
func TestTrackerMemoryFollowsGaps(t *testing.T) {
	t.Parallel()
	tr := NewTracker(Identity{}, Beginning())
	const n, window = 1_000_000, 1000
	maxGaps := 0
	// Every record r is settled when record r+window is read, except that
	// each window's records come in reverse-odd-first order.
	for base := int64(1); base <= n; base += window {
		for r := base + 1; r < base+window; r += 2 {
			tr.Settled(r, Position{Offset: r * 10})
		}
		maxGaps = max(maxGaps, tr.Gaps())
		for r := base; r < base+window; r += 2 {
			tr.Settled(r, Position{Offset: r * 10})
		}
	}
	if wm := tr.Watermark(); wm.Record != n+1 || tr.Gaps() != 0 {
		t.Fatalf("watermark %+v, %d gaps; want record %d, 0 gaps", wm, tr.Gaps(), n+1)
	}
	if maxGaps > window/2 {
		t.Fatalf("up to %d ranges for a window of %d", maxGaps, window)
	}
}

func BenchmarkTrackerSettled(b *testing.B) {
	tr := NewTracker(Identity{}, Beginning())
	var r int64
	for b.Loop() {
		r++
		// Pairs settle swapped: a range opens and closes every two records.
		rec := r ^ 1
		if rec == 0 {
			rec = r
		}
		tr.Settled(rec, Position{Offset: rec})
	}
}

// TestTrackerConcurrent: records settled from many goroutines at once, in
// shuffled order, end with the watermark past the last and nothing beyond.
func TestTrackerConcurrent(t *testing.T) {
	t.Parallel()
	const n, workers = 20_000, 8
	recs := make([]int64, n)
	for i := range recs {
		recs[i] = int64(i + 1)
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(n, func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	tr := NewTracker(Identity{}, Beginning())
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				tr.Settled(recs[i], after(recs[i]))
				tr.Settled(recs[i], after(recs[i])) // a duplicate changes nothing
			}
		})
	}
	wg.Wait()
	if wm := tr.Watermark(); wm != after(n) || tr.Gaps() != 0 {
		t.Fatalf("watermark %+v with %d gaps, want %+v and none", wm, tr.Gaps(), after(n))
	}
}
