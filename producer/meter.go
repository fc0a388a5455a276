package producer

import "time"

// meter counts records and bytes over a sliding second, in ten buckets of
// 100ms. Its rate is the count over the last second divided by one second,
// even in the first second: quotas are per second, so what the service
// accepted in the second before it throttled is the best estimate of our
// share of the quota, however early that is.
type meter struct {
	slots          [meterBuckets]int64 // bucket number each entry holds
	records, bytes [meterBuckets]float64
}

const (
	meterBuckets = 10
	meterBucket  = time.Second / meterBuckets
)

func (m *meter) add(now time.Time, records, bytes int) {
	slot := now.UnixNano() / int64(meterBucket)
	i := slot % meterBuckets
	if m.slots[i] != slot {
		m.slots[i], m.records[i], m.bytes[i] = slot, 0, 0
	}
	m.records[i] += float64(records)
	m.bytes[i] += float64(bytes)
}

// ratesSince returns records/s and bytes/s over the whole buckets after
// the one holding since, up to now (at most the last second), and the time
// they span.
func (m *meter) ratesSince(now, since time.Time) (records, bytes float64, span time.Duration) {
	slot := now.UnixNano() / int64(meterBucket)
	first := max(since.UnixNano()/int64(meterBucket)+1, slot-meterBuckets+1)
	if first > slot {
		return 0, 0, 0
	}
	for i := range meterBuckets {
		if s := m.slots[i]; s >= first && s <= slot {
			records += m.records[i]
			bytes += m.bytes[i]
		}
	}
	span = now.Sub(time.Unix(0, first*int64(meterBucket)))
	secs := span.Seconds()
	return records / secs, bytes / secs, span
}

// rates returns records/s and bytes/s over the last second.
func (m *meter) rates(now time.Time) (records, bytes float64) {
	slot := now.UnixNano() / int64(meterBucket)
	for i := range meterBuckets {
		if slot-m.slots[i] < meterBuckets {
			records += m.records[i]
			bytes += m.bytes[i]
		}
	}
	return records, bytes
}
