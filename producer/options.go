package producer

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// config holds every option; zero values are replaced by defaults in New.
type config struct {
	maxBatchRecords      int
	maxBatchBytes        int
	concurrency          int // 0: adaptive
	maxConcurrency       int
	concurrencySet       bool
	linger               time.Duration
	maxAttempts          int
	maxRetryTime         time.Duration
	backoffInitial       time.Duration
	backoffMax           time.Duration
	appendNewline        bool
	packTarget           int
	maxRecordsPerSecond  float64
	maxBytesPerSecond    float64
	maxRequestsPerSecond float64
	quota                Quota // see KnownQuota
	adaptive             bool
	sink                 DeadLetterSink
	logger               *slog.Logger
	shutdownTimeout      time.Duration
	onResult             func(RecordResult)
	deadLetterOnStop     bool
	maxBufferedRecords   int
	maxBufferedBytes     int64
	bufferFollowsLimit   bool // the records bound follows the adaptive in-flight limit
	hooks                []CallHook
}

func defaultConfig() config {
	return config{
		maxBatchRecords:  MaxBatchRecordsLimit,
		maxBatchBytes:    MaxBatchBytesLimit,
		maxConcurrency:   defaultMaxConcurrency,
		linger:           200 * time.Millisecond,
		maxAttempts:      8,
		maxRetryTime:     2 * time.Minute,
		backoffInitial:   100 * time.Millisecond,
		backoffMax:       5 * time.Second,
		appendNewline:    true,
		adaptive:         true,
		shutdownTimeout:  30 * time.Second,
		deadLetterOnStop: true,
	}
}

// Option configures a Producer. Options are applied in order; New validates
// the result as a whole.
type Option func(*config)

// MaxBatchRecords sets the most records (Firehose records, after packing) per
// PutRecordBatch call. Default 500, the service limit; valid 1..500.
func MaxBatchRecords(n int) Option { return func(c *config) { c.maxBatchRecords = n } }

// MaxBatchBytes sets the most bytes per PutRecordBatch call, counted as the
// sum of record sizes before base64 (the way the service counts). Default
// 4 MiB (4,194,304), the service limit; valid MaxRecordBytes..4,194,304 so
// that any valid record fits in a batch of its own.
func MaxBatchBytes(n int) Option { return func(c *config) { c.maxBatchBytes = n } }

// Concurrency fixes how many PutRecordBatch requests the producer keeps in
// flight; valid 1..256. Default: adaptive, from 4 up to MaxConcurrency: the
// limit grows while the round trip stays near its baseline and nothing is
// throttled, and shrinks on "Slow down." and on a rising round trip, so
// that the rate control can reach the stream's quota at any latency.
func Concurrency(n int) Option {
	return func(c *config) { c.concurrency, c.concurrencySet = n, true }
}

// MaxConcurrency bounds the adaptive in-flight limit (see Concurrency).
// Default 64; valid 1..256.
func MaxConcurrency(n int) Option { return func(c *config) { c.maxConcurrency = n } }

// Linger sets how long the producer waits for more records before sending a
// batch that is not full. Default 200ms; 0 sends as soon as no record is
// waiting. A full batch is sent at once, and a partial one at once while a
// Flush, Close, Send at end of input or PutRecordBatch is waiting for it.
func Linger(d time.Duration) Option { return func(c *config) { c.linger = d } }

// MaxAttempts sets how many times a record is tried, the first try included,
// before it is dead-lettered with reason "retries-exhausted". Tries that
// came back throttled ("Slow down.") do not count: the stream is at its
// quota and the rate control slows down; MaxRetryTime bounds them. Default
// 8; valid 1..100. MaxRetryTime may give up earlier.
func MaxAttempts(n int) Option { return func(c *config) { c.maxAttempts = n } }

// MaxRetryTime bounds the time from a record's first try to its last: a
// retry that would start later is not made and the record is dead-lettered
// with reason "retries-exhausted". It also bounds how long the endpoint may
// not answer at all (connection refused, no route): such tries do not use
// up a record's attempts, and once the endpoint has been silent for
// MaxRetryTime the producer stops with a *FatalError (code
// "EndpointUnreachable"), as on a missing stream. Default 2m; must be > 0.
func MaxRetryTime(d time.Duration) Option { return func(c *config) { c.maxRetryTime = d } }

// Backoff sets the retry delays: exponential with full jitter, the delay
// before retry n drawn from [0, initial*2^(n-1)), and max once that bound
// passes max. Default 100ms and 5s; 0 < initial <= max. Applies to failed
// entries and to whole-request failures the SDK's own retryer gave up on.
func Backoff(initial, maxDelay time.Duration) Option {
	return func(c *config) { c.backoffInitial, c.backoffMax = initial, maxDelay }
}

// AppendNewline makes the producer add "\n" to every record that does not
// already end with one, so S3 objects are JSON lines. The newline counts
// toward MaxRecordBytes and the batch limits. Default true.
func AppendNewline(on bool) Option { return func(c *config) { c.appendNewline = on } }

// Pack packs consecutive input records (each with its newline, see
// AppendNewline) into one Firehose record of up to targetBytes, cutting the
// number of Firehose records and the 5 KiB-per-record ingestion bill. An input
// record is never split; one larger than targetBytes goes alone. The bytes
// that reach the destination are the same as without packing. Default 0
// (off); valid 0..MaxRecordBytes; DefaultPackTarget is a good value.
//
// targetBytes is the largest pack. A throttled Firehose record is resent
// whole, so packs stay small against the stream's rate: a pack's target is
// 1/512 of the bytes delivered over the last second (10 KiB at the default
// 5 MiB/s quota), rounded down to a multiple of the 5 KiB billing unit, at
// least 10 KiB, at most targetBytes and 1/8 of what the buffer holds; packs
// start at 10 KiB until a rate is measured. With Pack, a PutRecordBatch
// request carries at most 512 KiB (whatever MaxBatchBytes says), and
// MaxBufferedRecords and MaxBufferedBytes default to 16,384 and 1.5 MiB, so
// memory stays small on any input; raise MaxBufferedBytes for a raised
// quota at high latency (it bounds the bytes in flight: 1.5 MiB is 7.5
// MiB/s at 200 ms).
func Pack(targetBytes int) Option { return func(c *config) { c.packTarget = targetBytes } }

// MaxRecordsPerSecond sets a static limit on Firehose records sent per second
// by PutRecord and PutRecordBatch together. Default 0: no static limit. A
// limit below MaxBatchRecords also caps the records per request at one
// second's worth.
func MaxRecordsPerSecond(n int) Option { return func(c *config) { c.maxRecordsPerSecond = float64(n) } }

// MaxBytesPerSecond sets a static limit on bytes sent per second by PutRecord
// and PutRecordBatch together. Default 0: no static limit. A limit below
// MaxBatchBytes also caps the bytes per request at one second's worth (but
// never below MaxRecordBytes); it must be at least MinBytesPerSecond.
func MaxBytesPerSecond(n int64) Option { return func(c *config) { c.maxBytesPerSecond = float64(n) } }

// MinBytesPerSecond is the lowest limit MaxBytesPerSecond accepts (1 KiB/s).
const MinBytesPerSecond = 1024

// MaxRequestsPerSecond sets a static limit on PutRecord and PutRecordBatch
// calls per second. Default 0: no static limit.
func MaxRequestsPerSecond(n int) Option {
	return func(c *config) { c.maxRequestsPerSecond = float64(n) }
}

// Adaptive turns on adaptive rate control: when records come back throttled
// ("Slow down."), the producer cuts its records/s and bytes/s rate to 70% of
// what it was sending (at most once a second) and then probes back up by 5%
// of that every second it is not cut again (AIMD), never above the static
// limits. Default true.
func Adaptive(on bool) Option { return func(c *config) { c.adaptive = on } }

// DeadLetterTo sets where undeliverable and rejected records go. Default
// none: such records are only counted, and Send and PutRecordBatch return an
// error matching ErrNotDelivered. (It is not named DeadLetter because that
// is the dead-letter record type.)
func DeadLetterTo(sink DeadLetterSink) Option { return func(c *config) { c.sink = sink } }

// Logger sets the logger. Default: discard. Retries, whole-request failures
// and throttling are logged at info, dead letters at warn; record data is
// never logged. A line per API call (a bulk send makes thousands a second)
// is a CallHook's to write, at the level the caller wants (see Hooks).
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// ShutdownTimeout bounds how long requests in flight may run after the
// producer stops early (Close's or Send's context cancelled). Default 30s;
// must be > 0.
func ShutdownTimeout(d time.Duration) Option { return func(c *config) { c.shutdownTimeout = d } }

// DeadLetterOnStop says what happens to the records not delivered when the
// producer stops early (a shutdown, Abort or a fatal error). Default true:
// they are dead-lettered (reason "shutdown" or "fatal-error"), so the sink
// holds everything undelivered. With false they go back to the caller
// unsent: counted in Stats.Unsent, and reported with an error matching
// ErrUnsent, not written to the sink; for callers that keep their own
// durable copy, such as a checkpointed input file.
func DeadLetterOnStop(on bool) Option { return func(c *config) { c.deadLetterOnStop = on } }

// OnResult sets a function called with the outcome of every record, whatever
// call brought it in (Add, Send, PutRecord, PutRecordBatch, Reject): once
// delivered, dead-lettered or rejected. It is called from the producer's
// goroutines, possibly concurrently, and must be quick and must not call
// the producer. Default none.
func OnResult(fn func(RecordResult)) Option { return func(c *config) { c.onResult = fn } }

// MaxBufferedRecords bounds the input records added and not yet settled
// (delivered, dead-lettered or rejected): Add blocks while the bound is
// reached. Default: the in-flight limit plus 2 batches' worth, following the
// adaptive limit (3*Concurrency+2 batches' worth when Concurrency is set);
// with Pack, 16,384. Must be >= MaxBatchRecords.
func MaxBufferedRecords(n int) Option { return func(c *config) { c.maxBufferedRecords = n } }

// MaxBufferedBytes bounds the bytes added and not yet settled: Add blocks
// while the bound is reached. Default 16 MiB, or 3*Concurrency+2 batches of
// MaxBatchBytes when Concurrency is set; with Pack, 1.5 MiB, or
// Concurrency+2 requests of 512 KiB when Concurrency is set. Must be >=
// MaxRecordBytes.
func MaxBufferedBytes(n int64) Option { return func(c *config) { c.maxBufferedBytes = n } }

var streamNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

func (c *config) validate(stream string) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !streamNamePattern.MatchString(stream) {
		bad("stream name %q must be 1-64 characters of a-z A-Z 0-9 _ . -", stream)
	}
	if c.maxBatchRecords < 1 || c.maxBatchRecords > MaxBatchRecordsLimit {
		bad("MaxBatchRecords %d must be 1..%d", c.maxBatchRecords, MaxBatchRecordsLimit)
	}
	if c.maxBatchBytes < MaxRecordBytes || c.maxBatchBytes > MaxBatchBytesLimit {
		bad("MaxBatchBytes %d must be %d..%d", c.maxBatchBytes, MaxRecordBytes, MaxBatchBytesLimit)
	}
	if c.concurrencySet && (c.concurrency < 1 || c.concurrency > 256) {
		bad("Concurrency %d must be 1..256", c.concurrency)
	}
	if c.maxConcurrency < 1 || c.maxConcurrency > 256 {
		bad("MaxConcurrency %d must be 1..256", c.maxConcurrency)
	}
	if c.linger < 0 {
		bad("Linger %v must not be negative", c.linger)
	}
	if c.maxAttempts < 1 || c.maxAttempts > 100 {
		bad("MaxAttempts %d must be 1..100", c.maxAttempts)
	}
	if c.maxRetryTime <= 0 {
		bad("MaxRetryTime %v must be positive", c.maxRetryTime)
	}
	if c.backoffInitial <= 0 || c.backoffMax < c.backoffInitial {
		bad("Backoff(%v, %v) needs 0 < initial <= max", c.backoffInitial, c.backoffMax)
	}
	if c.packTarget < 0 || c.packTarget > MaxRecordBytes {
		bad("Pack %d must be 0..%d", c.packTarget, MaxRecordBytes)
	}
	if c.maxRecordsPerSecond < 0 || c.maxBytesPerSecond < 0 || c.maxRequestsPerSecond < 0 {
		bad("rate limits must not be negative")
	}
	if c.maxBytesPerSecond > 0 && c.maxBytesPerSecond < MinBytesPerSecond {
		bad("MaxBytesPerSecond %.0f is below 1 KiB/s", c.maxBytesPerSecond)
	}
	if c.maxBufferedRecords != 0 && c.maxBufferedRecords < c.maxBatchRecords {
		bad("MaxBufferedRecords %d must be at least MaxBatchRecords %d", c.maxBufferedRecords, c.maxBatchRecords)
	}
	if c.maxBufferedBytes != 0 && c.maxBufferedBytes < MaxRecordBytes {
		bad("MaxBufferedBytes %d must be at least %d", c.maxBufferedBytes, MaxRecordBytes)
	}
	if c.shutdownTimeout <= 0 {
		bad("ShutdownTimeout %v must be positive", c.shutdownTimeout)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOption, strings.Join(problems, "; "))
	}
	return nil
}

// concurrencySettings configure the in-flight limit: see
// concurrencySettings.staticBytes for what the static limits change.
func (c *config) concurrencySettings() concurrencySettings {
	return concurrencySettings{fixed: c.concurrency, max: c.maxConcurrency,
		staticRecords: c.maxRecordsPerSecond, staticBytes: c.maxBytesPerSecond}
}

// finish derives the settings that depend on others, after validate.
func (c *config) finish() {
	// A request never carries more than one second of a static quota, so
	// the limiter's burst (one batch) stays within it.
	if c.maxRecordsPerSecond > 0 {
		c.maxBatchRecords = min(c.maxBatchRecords, max(1, int(c.maxRecordsPerSecond)))
	}
	if c.maxBytesPerSecond > 0 {
		c.maxBatchBytes = min(c.maxBatchBytes, max(MaxRecordBytes, int(c.maxBytesPerSecond)))
	}
	if c.packTarget > 0 {
		// Small requests with Pack (see packBatchBytes); the rate limiter's
		// burst, one batch, shrinks with them.
		c.maxBatchBytes = min(c.maxBatchBytes, packBatchBytes)
	}
	// The buffer holds what the requests in flight carry and a little more
	// in waiting batches: records up to the in-flight bound plus two
	// batches, bytes up to 16 MiB (four full batches), more than any quota
	// needs in flight at 200 ms, so that memory stays low whatever the input.
	// With Pack, fixed bounds (see packBufferedRecords, packBufferedBytes).
	inFlight := c.maxConcurrency
	if c.concurrencySet {
		inFlight = c.concurrency
	}
	c.bufferFollowsLimit = c.maxBufferedRecords == 0 && !c.concurrencySet && c.packTarget == 0
	if c.maxBufferedRecords == 0 {
		switch {
		case c.packTarget > 0:
			// Packs gather many small records: see packBufferedRecords.
			c.maxBufferedRecords = packBufferedRecords
		case c.concurrencySet:
			c.maxBufferedRecords = (3*inFlight + 2) * c.maxBatchRecords
		default:
			c.maxBufferedRecords = (inFlight + 2) * c.maxBatchRecords
		}
	}
	if c.maxBufferedBytes == 0 {
		switch {
		case c.packTarget > 0 && c.concurrencySet:
			// Requests in flight and two waiting, each of at most one pack.
			c.maxBufferedBytes = int64(inFlight+2) * packBatchBytes
		case c.packTarget > 0:
			c.maxBufferedBytes = packBufferedBytes
		case c.concurrencySet:
			c.maxBufferedBytes = int64(3*inFlight+2) * int64(c.maxBatchBytes)
		default:
			c.maxBufferedBytes = 16 << 20
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
}
