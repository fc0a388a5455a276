package producer

import (
	"sync"
	"time"
)

// part is one input record inside a Firehose record (an entry).
type part struct {
	seq    int64
	source string
	done   func(RecordResult) // the caller's promise (AddFunc, Send, PutRecordBatch), or nil
	inEnd  Position           // Record.End, handed back
	off    int                // the input data is entry.data[off:end], without the appended newline
	end    int
}

// entry is one Firehose record on its way: one input record, or several
// when packing. It is retried and dead-lettered as a whole, its parts
// reported one by one.
type entry struct {
	data      []byte // wire bytes, newlines included
	parts     []part
	attempts  int       // tries made so far
	throttled int       // tries that ended throttled ("Slow down."): not counted against MaxAttempts
	first     time.Time // start of the first try
	unknown   bool      // the last try's outcome is unknown (response lost)
	stored    bool      // some try's outcome was unknown: the service may hold the entry
	unreached bool      // the last try could not reach the service: the producer's stop decides
	buffered  bool      // came through Add's buffer: settling it releases room
	code, msg string    // last error, for the dead letter
}

// batch is one PutRecordBatch request's worth of entries.
type batch struct {
	entries []entry
	bytes   int // sum of len(entry.data)
}

// batchBuilder fills batches up to the record-count and byte limits. The
// byte limit is on the sum of record sizes before base64, the way the
// service counts it.
type batchBuilder struct {
	maxRecords, maxBytes int
	limit                *limiter // caps batches to the rate (see limiter.batchCap); nil: none
	cur                  *batch
	// capRecords and capBytes are the limits of cur, taken from the rate
	// when it started: a change of rate applies from the next batch.
	capRecords, capBytes int
}

func newBatchBuilder(maxRecords, maxBytes int, limit *limiter) batchBuilder {
	return batchBuilder{maxRecords: maxRecords, maxBytes: maxBytes, limit: limit}
}

// fits reports whether an entry of size bytes can join the current batch.
// The first entry always fits within the configured limits, whatever the
// rate cap.
func (b *batchBuilder) fits(size int) bool {
	if b.cur == nil {
		return size <= b.maxBytes
	}
	return len(b.cur.entries) < b.capRecords && b.cur.bytes+size <= b.capBytes
}

// add appends e; the caller checked fits (or the batch is empty).
func (b *batchBuilder) add(e entry) {
	if b.cur == nil {
		b.cur = &batch{entries: getEntries(b.maxRecords)}
		b.capRecords, b.capBytes = b.limit.batchCap(b.maxRecords, b.maxBytes)
	}
	b.cur.entries = append(b.cur.entries, e)
	b.cur.bytes += len(e.data)
}

// full reports whether no further entry can join.
func (b *batchBuilder) full() bool {
	return b.cur != nil && (len(b.cur.entries) >= b.capRecords || b.cur.bytes >= b.capBytes)
}

func (b *batchBuilder) empty() bool { return b.cur == nil || len(b.cur.entries) == 0 }

// take returns the current batch (nil when empty) and starts a new one.
func (b *batchBuilder) take() *batch {
	if b.empty() {
		return nil
	}
	out := b.cur
	b.cur = nil
	return out
}

// splitIntoBatches splits entry sizes into batches within the limits, in
// order, the way the streaming batcher does; it returns the number of
// entries in each batch. It exists for tests and benchmarks of the rule.
func splitIntoBatches(sizes []int, maxRecords, maxBytes int) []int {
	b := newBatchBuilder(maxRecords, maxBytes, nil)
	var counts []int
	biggest := 0
	for _, s := range sizes {
		biggest = max(biggest, s)
	}
	shared := make([]byte, biggest) // entries only need a length here
	for _, s := range sizes {
		if !b.fits(s) {
			counts = append(counts, len(b.take().entries))
		}
		b.add(entry{data: shared[:s]})
		if b.full() {
			counts = append(counts, len(b.take().entries))
		}
	}
	if bt := b.take(); bt != nil {
		counts = append(counts, len(bt.entries))
	}
	return counts
}

// arena hands out small byte and part slices carved from larger chunks, so
// the hot path makes one allocation per many records instead of one per
// record. A chunk lives as long as any record in it.
type arena struct {
	buf   []byte
	parts []part
}

const (
	arenaChunk     = 256 << 10
	arenaPartChunk = 1024
)

// alloc returns a zeroed-length slice with room for exactly n bytes.
func (a *arena) alloc(n int) []byte {
	if n > arenaChunk/4 {
		return make([]byte, 0, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, arenaChunk)
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start : start+n]
}

// onePart returns a one-element slice holding p.
func (a *arena) onePart(p part) []part {
	if cap(a.parts)-len(a.parts) < 1 {
		a.parts = make([]part, 0, arenaPartChunk)
	}
	a.parts = append(a.parts, p)
	n := len(a.parts)
	return a.parts[n-1 : n : n]
}

// needsNewline reports whether the producer appends "\n" to data.
func needsNewline(appendNewline bool, data []byte) bool {
	return appendNewline && (len(data) == 0 || data[len(data)-1] != '\n')
}

// wireSize is the size of a record as sent: its data plus the newline the
// producer may append.
func wireSize(appendNewline bool, data []byte) int {
	if needsNewline(appendNewline, data) {
		return len(data) + 1
	}
	return len(data)
}

// entriesSize returns the input records and wire bytes of entries.
func entriesSize(entries []entry) (records, bytes int) {
	for i := range entries {
		records += len(entries[i].parts)
		bytes += len(entries[i].data)
	}
	return records, bytes
}

// entryArrays recycles the entry arrays of sent batches: a batch of 500 is
// 60 KB, and at loopback speed fresh ones were a fifth of the garbage.
var entryArrays sync.Pool

// getEntries returns an empty entry slice with room for n.
func getEntries(n int) []entry {
	if s, ok := entryArrays.Get().(*[]entry); ok && cap(*s) >= n {
		return (*s)[:0]
	}
	return make([]entry, 0, n)
}

// putEntries recycles the array of a batch whose request is over: every
// entry has been settled or copied (retries are requeued by value, a
// delivery's pointers are dropped once settled), so nothing refers to it.
func putEntries(s []entry) {
	clear(s) // past len it is still zero: fresh, or cleared when last put
	s = s[:0]
	entryArrays.Put(&s)
}
