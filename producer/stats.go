package producer

import "sync/atomic"

// Stats are the producer's counters since New. Once every call has
// returned, Submitted = Delivered + DeadLettered + Rejected + Unsent + Lost.
type Stats struct {
	Submitted    int64 // input records handed to the producer (read by Send, passed to PutRecord/PutRecordBatch/Reject)
	Delivered    int64 // input records the service accepted
	DeadLettered int64 // input records given up on (retries exhausted, fatal error, shutdown); written to the sink if any
	Rejected     int64 // input records refused before sending (too large, invalid, Reject)
	Unsent       int64 // input records left undelivered by an early stop with DeadLetterOnStop(false)
	Lost         int64 // input records given up on that the dead-letter sink failed to store

	// PossibleDuplicates counts records in requests whose outcome was unknown
	// (timeout, dropped connection) and that were then resent, by the
	// producer or by the SDK's retryer: such writes may have completed.
	PossibleDuplicates int64
	Retries            int64 // input record resends by the producer
	FailedPutCount     int64 // sum of FailedPutCount over PutRecordBatch responses
	ThrottledRecords   int64 // Firehose records failed with "Slow down." or in throttled whole requests

	PutRecordCalls      int64 // PutRecord attempts, every resend included
	PutRecordBatchCalls int64 // PutRecordBatch attempts, every resend included
	RequestErrors       int64 // attempts that failed as a whole

	FirehoseRecords int64 // Firehose records delivered (after packing; = Delivered without packing)
	Bytes           int64 // payload bytes delivered, appended newlines included
	BilledBytes     int64 // each delivered Firehose record rounded up to 5 KiB (5,120 bytes)

	// ConcurrencyLimit is the in-flight request limit now (fixed, or where
	// the adaptive control stands); MaxConcurrencyReached the highest it was.
	ConcurrencyLimit, MaxConcurrencyReached int
}

// Undelivered returns DeadLettered + Rejected + Unsent + Lost.
func (s Stats) Undelivered() int64 { return s.DeadLettered + s.Rejected + s.Unsent + s.Lost }

type stats struct {
	submitted, delivered, deadLettered, rejected atomic.Int64
	unsent, lost                                 atomic.Int64
	possibleDuplicates, retries                  atomic.Int64
	failedPutCount, throttledRecords             atomic.Int64
	putRecordCalls, putRecordBatchCalls          atomic.Int64
	requestErrors                                atomic.Int64
	firehoseRecords, bytes, billedBytes          atomic.Int64
}

// Stats returns a snapshot of the counters. It is cheap and safe to call
// from any goroutine at any time.
func (p *Producer) Stats() Stats {
	s := &p.stats
	cs := p.inFlight.stats()
	return Stats{
		Submitted:             s.submitted.Load(),
		Delivered:             s.delivered.Load(),
		DeadLettered:          s.deadLettered.Load(),
		Rejected:              s.rejected.Load(),
		Unsent:                s.unsent.Load(),
		Lost:                  s.lost.Load(),
		PossibleDuplicates:    s.possibleDuplicates.Load(),
		Retries:               s.retries.Load(),
		FailedPutCount:        s.failedPutCount.Load(),
		ThrottledRecords:      s.throttledRecords.Load(),
		PutRecordCalls:        s.putRecordCalls.Load(),
		PutRecordBatchCalls:   s.putRecordBatchCalls.Load(),
		RequestErrors:         s.requestErrors.Load(),
		FirehoseRecords:       s.firehoseRecords.Load(),
		Bytes:                 s.bytes.Load(),
		BilledBytes:           s.billedBytes.Load(),
		ConcurrencyLimit:      cs.Limit,
		MaxConcurrencyReached: cs.MaxLimit,
	}
}

// countDelivered counts what the service accepted: input records, Firehose
// records, bytes and billed bytes, and tells the limiter the accepted rate.
func (p *Producer) countDelivered(records, firehoseRecords, bytes int, billedBytes int64) {
	p.stats.delivered.Add(int64(records))
	p.stats.firehoseRecords.Add(int64(firehoseRecords))
	p.stats.bytes.Add(int64(bytes))
	p.stats.billedBytes.Add(billedBytes)
	p.limiter.accepted(firehoseRecords, bytes)
}

// billed rounds a Firehose record size up to the 5 KiB billing unit.
func billed(size int) int64 {
	return int64((size + BilledRecordUnit - 1) / BilledRecordUnit * BilledRecordUnit)
}
