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
