package producer

import "time"

// Pack sizing. A throttled Firehose record is resent whole, and a request is
// throttled record by record (its records are taken while they fit in what
// is left of the quota), so a throttled request resends up to one record more
// than the quota refused: half a record on average. With packs of 1,000 KiB
// in 4 MiB requests that is a large share of a second's quota (5 MiB/s by
// default); with packs of a small fraction of a request it is noise. So a
// pack's target follows the rate at which the service accepts bytes, up to
// the Pack target, and a request carries at most packBatchBytes, so requests
// stay small steps of the rate and the bytes in flight (which the SDK holds
// again, base64-encoded, while it sends them) stay small.
const (
	// packRateDivisor: a pack holds at most 1/512 of the bytes the service
	// accepted over the last second: 10 KiB at 5 MiB/s, so a request of
	// packBatchBytes holds some 50 packs, and a throttled request resends
	// a few percent more than the quota refused. (At 1/256, 20 KiB packs,
	// the resends of a 1 GiB run were 1.13 times the bytes over the
	// quota.)
	packRateDivisor = 512
	// minPackTarget is the smallest pack target, 10 KiB.
	minPackTarget = 2 * BilledRecordUnit
	// packBatchBytes bounds a request's bytes with Pack, 512 KiB: a tenth
	// of a second at the default quota.
	packBatchBytes = 512 << 10
	// packRateWindow is how often the accepted rate is measured.
	packRateWindow = time.Second
	// packBufferedBytes is the default MaxBufferedBytes with Pack: three
	// requests of packBatchBytes (7.5 MiB/s at 200 ms), while the SDK's
	// copies of the requests in flight (base64, and buffers grown to
	// twice that) stay a few MiB.
	packBufferedBytes = 3 * packBatchBytes
	// packBufferedRecords is the default MaxBufferedRecords with Pack: each
	// record held costs some 300 bytes of bookkeeping besides its data
	// (entry, part, source), so with small records this is the bound that
	// keeps memory small (1.4 MiB of 90-byte records).
	packBufferedRecords = 1 << 14
)

// packSizer picks the target of each new pack from the bytes delivered per
// second (the service's accepted rate: the quota while throttled, the
// producer's own pace otherwise). Until a rate is measured it starts small:
// a slow stream then never sees big packs, and a fast one reaches the
// Pack target after a second. A pack also stays within 1/packRoomDivisor of
// what the buffer holds (MaxBufferedBytes, or MaxBufferedRecords records of
// the mean size delivered), so that several packs are on their way at once.
type packSizer struct {
	max        int   // the Pack target
	maxRecords int64 // MaxBufferedRecords
	maxBytes   int64 // MaxBufferedBytes

	at        time.Time // start of the current measurement
	deliverAt int64     // delivered bytes at at
	rate      float64   // bytes/s over the last finished measurement
}

// packRoomDivisor: a pack holds at most 1/8 of what the buffer holds.
const packRoomDivisor = 8

// target returns the target for a pack started at now; bytes and records
// are the bytes and input records delivered so far.
func (s *packSizer) target(now time.Time, bytes, records int64) int {
	switch elapsed := now.Sub(s.at); {
	case s.at.IsZero():
		s.at, s.deliverAt = now, bytes
	case elapsed >= packRateWindow:
		s.rate = float64(bytes-s.deliverAt) / elapsed.Seconds()
		s.at, s.deliverAt = now, bytes
	}
	limit := s.max
	if records > 0 {
		room := min(s.maxBytes, s.maxRecords*(bytes/records)) / packRoomDivisor
		if room < int64(limit) {
			limit = int(max(room-room%BilledRecordUnit, BilledRecordUnit))
		}
	}
	return packTargetFor(s.rate, limit)
}

// packTargetFor is the pack target at rate bytes/s, within
// [min(minPackTarget, maxTarget), maxTarget]. Below maxTarget it is a
// multiple of BilledRecordUnit: packs of small records then fill their last
// billed 5 KiB, and billing adds under one input record per pack.
func packTargetFor(rate float64, maxTarget int) int {
	t := int(min(rate/packRateDivisor, float64(maxTarget)))
	if t < maxTarget {
		t -= t % BilledRecordUnit
	}
	return min(max(t, minPackTarget), maxTarget)
}

// packer packs consecutive input records, each with its newline, into one
// Firehose record of up to target bytes (set by the batcher before each
// pack, see packSizer). It never splits an input record:
// one larger than target goes alone (it is at most MaxRecordBytes, checked
// before). The concatenation of packed records is byte-identical to the
// records sent one by one.
type packer struct {
	target    int
	data      []byte
	parts     []part
	partsHint int // parts in the previous pack, to size the next one
}

// add appends one record (data without newline) and its part.
func (k *packer) add(p part, data []byte, newline bool) {
	if k.data == nil {
		// One allocation of the full target: appends never copy. take gives
		// back the unused room of a pack closed early.
		k.data = make([]byte, 0, max(k.target, len(data)+1))
		k.parts = make([]part, 0, max(k.partsHint, 16))
	}
	p.off = len(k.data)
	k.data = append(k.data, data...)
	p.end = len(k.data)
	if newline {
		k.data = append(k.data, '\n')
	}
	k.parts = append(k.parts, p)
}

// fits reports whether a record of size wire bytes can join the current pack.
func (k *packer) fits(size int) bool {
	return len(k.parts) == 0 || len(k.data)+size <= k.target
}

// full reports whether the pack reached its target.
func (k *packer) full() bool { return len(k.data) >= k.target }

func (k *packer) empty() bool { return len(k.parts) == 0 }

// take returns the pack as an entry and starts a new one. A pack closed
// well below its target (by Linger or the end of input) is copied to a
// buffer of its size, so lingering packs do not pin a full target each.
func (k *packer) take() entry {
	data := k.data
	if len(data) < cap(data)/2 {
		data = append(make([]byte, 0, len(data)), data...)
	}
	e := entry{data: data, parts: k.parts, buffered: true} // packs hold records added through the buffer
	k.partsHint = len(k.parts)
	k.data, k.parts = nil, nil
	return e
}

// addEntry appends a one-record entry whose data already carries its
// newline (or needs none).
func (k *packer) addEntry(e entry) {
	pt := e.parts[0]
	data := e.data[pt.off:pt.end]
	k.add(pt, data, len(e.data) > pt.end)
}
