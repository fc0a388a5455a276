package producer

import "time"

// The API names in CallInfo.API.
const (
	apiPutRecord      = "PutRecord"
	apiPutRecordBatch = "PutRecordBatch"
)

// CallHook observes the producer's API calls, for metrics the Stats
// counters do not hold (latency histograms, per-call logs, traces). Register
// hooks with the Hooks option.
//
// OnCall is called once per PutRecord or PutRecordBatch attempt, after its
// response (or error) came back and before any of its records is retried,
// synchronously from the goroutine that made the call: a worker for Add,
// Send and PutRecordBatch, the caller's goroutine for PutRecord. Calls come
// from several goroutines at once, so OnCall must be safe for concurrent
// use; it holds up sending while it runs, so it must be fast, and it must
// not call the producer. An attempt that never started (the producer
// stopped while it waited for the rate limiter) is not reported.
type CallHook interface {
	OnCall(CallInfo)
}

// CallInfo describes one finished PutRecord or PutRecordBatch attempt.
type CallInfo struct {
	// API is "PutRecord" or "PutRecordBatch".
	API string
	// Seq is the input record's Seq for PutRecord; 0 for PutRecordBatch.
	Seq int64
	// Records is the number of Firehose records in the request (after
	// packing: one Firehose record may hold several input records).
	Records int
	// Failed is the number of entries that failed inside a successful (HTTP
	// 200) PutRecordBatch response; 0 for PutRecord and when Err is set.
	Failed int
	// Throttled is the number of records refused as throttled: entries
	// failed with "Slow down." in a successful response, or every record of
	// a request the service refused whole as throttled.
	Throttled int
	// Bytes is the size of the request's records, before base64 (the way
	// the service counts).
	Bytes int
	// Attempt is the try number of the request's first record, 1 for a
	// first try. Records resent together may be on different tries.
	Attempt int
	// Latency is the time from sending the request to its response or error.
	Latency time.Duration
	// Err is the error of a request that failed as a whole (no response,
	// timeout, a 4xx or 5xx error, the endpoint unreachable); nil when the
	// service answered, even if some entries failed.
	Err error
}

// Hooks adds hooks that observe every PutRecord and PutRecordBatch attempt
// (see CallHook). Hooks are called in the order given, after those of
// earlier Hooks options. Default none.
func Hooks(hooks ...CallHook) Option {
	return func(c *config) { c.hooks = append(c.hooks, hooks...) }
}

// called hands info to every hook.
func (p *Producer) called(info CallInfo) {
	for _, h := range p.cfg.hooks {
		h.OnCall(info)
	}
}

// throttledRecords is CallInfo.Throttled for a request of n records that
// failed whole with err.
func throttledRecords(err error, n int) int {
	if classify(err).class == classThrottle {
		return n
	}
	return 0
}
