// Package producer sends records to an Amazon Data Firehose delivery stream
// correctly and fast: it splits records into PutRecordBatch requests within
// the service limits (500 records, 4 MiB per call, 1,000 KiB per record),
// resends only the entries that failed, backs off with jitter, stays under
// static and adaptive (AIMD) rate limits, can pack small records into larger
// Firehose records, and never loses a record silently: what cannot be
// delivered goes to a dead-letter sink with its position and reason.
//
// The producer never prints. It reports through an injected *slog.Logger and
// Stats.
//
// # SDK client settings
//
// The producer turns the SDK's own retries off for its PutRecord and
// PutRecordBatch calls (whatever retryer the client has) and makes every
// resend itself: only then does it see each attempt whose response was lost,
// so that PossibleDuplicates is exact, and never counts a request that could
// not reach the service. The client's retryer still applies to every other
// call made with it.
package producer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// Service limits of PutRecordBatch (Firehose developer guide, quotas).
const (
	// MaxRecordBytes is the largest Firehose record, before base64: 1,000 KiB.
	MaxRecordBytes = 1_024_000
	// MaxBatchRecordsLimit is the most records one PutRecordBatch call takes.
	MaxBatchRecordsLimit = 500
	// MaxBatchBytesLimit is the most bytes (sum of record sizes before base64)
	// one PutRecordBatch call takes: one byte under 4 MiB, since the service
	// refuses a call of 4 MiB or more ("Records size exceeds 4 MB limit").
	MaxBatchBytesLimit = 4<<20 - 1
	// BilledRecordUnit is the size every Firehose record is rounded up to for
	// DirectPut ingestion billing: 5 KiB.
	BilledRecordUnit = 5120
	// DefaultPackTarget is a sensible Pack target: the record limit, 1,000 KiB.
	DefaultPackTarget = MaxRecordBytes
)

// Client is what the producer needs of *firehose.Client.
type Client interface {
	PutRecord(ctx context.Context, in *firehose.PutRecordInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordOutput, error)
	PutRecordBatch(ctx context.Context, in *firehose.PutRecordBatchInput, optFns ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error)
}

var _ Client = (*firehose.Client)(nil)

// Record is one input record.
type Record struct {
	Seq    int64  // position in the input, 1-based; carried to delivery or dead-letter
	Source string // optional human position for messages, e.g. "data.json:12" or "data.json[11]"
	Data   []byte // the input record as read, WITHOUT the newline the producer may append
}

// Source yields records for Send. Next returns io.EOF at the end. If it
// returns an error that is (errors.As) *InvalidRecordError, Send rejects that
// record and goes on; any other error stops reading: what was read is still
// sent, then Send returns the error. Next must return promptly once ctx is
// cancelled, because Send waits for the reader before returning.
type Source interface {
	Next(ctx context.Context) (Record, error)
}

// SliceSource returns a Source that yields recs in order, then io.EOF.
func SliceSource(recs []Record) Source { return &sliceSource{recs: recs} }

type sliceSource struct {
	recs []Record
	next int
}

func (s *sliceSource) Next(ctx context.Context) (Record, error) {
	if s.next >= len(s.recs) {
		return Record{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	r := s.recs[s.next]
	s.next++
	return r, nil
}

// config holds every option; zero values are replaced by defaults in New.
type config struct {
	maxBatchRecords      int
	maxBatchBytes        int
	concurrency          int
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
	adaptive             bool
	sink                 DeadLetterSink
	logger               *slog.Logger
	callLogLevel         slog.Level
	shutdownTimeout      time.Duration
	region               string
}

func defaultConfig() config {
	return config{
		maxBatchRecords: MaxBatchRecordsLimit,
		maxBatchBytes:   MaxBatchBytesLimit,
		concurrency:     4,
		linger:          200 * time.Millisecond,
		maxAttempts:     8,
		maxRetryTime:    2 * time.Minute,
		backoffInitial:  100 * time.Millisecond,
		backoffMax:      5 * time.Second,
		appendNewline:   true,
		adaptive:        true,
		shutdownTimeout: 30 * time.Second,
		callLogLevel:    slog.LevelDebug,
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

// Concurrency sets how many PutRecordBatch requests Send keeps in flight.
// Default 4; valid 1..256. Memory use is bounded by about 3*Concurrency+2
// batches.
func Concurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// Linger sets how long Send waits for more records before sending a batch
// that is not full. Default 200ms; 0 sends as soon as no record is waiting.
// A full batch is sent at once, and the last batch is sent at end of input.
func Linger(d time.Duration) Option { return func(c *config) { c.linger = d } }

// MaxAttempts sets how many times a record is tried, the first try included,
// before it is dead-lettered with reason "retries-exhausted". Default 8;
// valid 1..100. MaxRetryTime may give up earlier.
func MaxAttempts(n int) Option { return func(c *config) { c.maxAttempts = n } }

// MaxRetryTime bounds the time from a record's first try to its last: a
// retry that would start later is not made and the record is dead-lettered
// with reason "retries-exhausted". Default 2m; must be > 0.
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
func Pack(targetBytes int) Option { return func(c *config) { c.packTarget = targetBytes } }

// MaxRecordsPerSecond sets a static limit on Firehose records sent per second
// by PutRecord and PutRecordBatch together. Default 0: no static limit. A
// limit below MaxBatchRecords also caps the records per request at one
// second's worth.
func MaxRecordsPerSecond(n int) Option { return func(c *config) { c.maxRecordsPerSecond = float64(n) } }

// MaxBytesPerSecond sets a static limit on bytes sent per second by PutRecord
// and PutRecordBatch together. Default 0: no static limit. A limit below
// MaxBatchBytes also caps the bytes per request at one second's worth (but
// never below MaxRecordBytes); it must be at least 1 KiB/s.
func MaxBytesPerSecond(n int64) Option { return func(c *config) { c.maxBytesPerSecond = float64(n) } }

// MaxRequestsPerSecond sets a static limit on PutRecord and PutRecordBatch
// calls per second. Default 0: no static limit.
func MaxRequestsPerSecond(n int) Option {
	return func(c *config) { c.maxRequestsPerSecond = float64(n) }
}

// Adaptive turns on adaptive rate control: when records come back throttled
// ("Slow down."), the producer cuts its records/s and bytes/s rate to 70% of
// what it was sending and then probes back up by 5% of that every second
// without throttling (AIMD), never above the static limits. Default true.
func Adaptive(on bool) Option { return func(c *config) { c.adaptive = on } }

// DeadLetterTo sets where undeliverable and rejected records go. Default
// none: such records are only counted, and Send and PutRecordBatch return an
// error matching ErrNotDelivered. (It is not named DeadLetter because that
// is the dead-letter record type.)
func DeadLetterTo(sink DeadLetterSink) Option { return func(c *config) { c.sink = sink } }

// Logger sets the logger. Default: discard. Each API call is logged at
// CallLogLevel (default debug), retries and throttling at info, dead letters at warn; record data is
// never logged.
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// CallLogLevel sets the level of the one log line per successful API call
// (PutRecord: seq, bytes, latency, attempt; PutRecordBatch: records, failed,
// bytes, latency, attempt). Default slog.LevelDebug, since a bulk send makes
// thousands of calls a second; the CLI's scenario uses slog.LevelInfo so its
// log shows every call, as the scenario asks.
func CallLogLevel(l slog.Level) Option { return func(c *config) { c.callLogLevel = l } }

// ShutdownTimeout bounds how long requests in flight may run after Send's
// context is cancelled. Default 30s; must be > 0.
func ShutdownTimeout(d time.Duration) Option { return func(c *config) { c.shutdownTimeout = d } }

// Region names the stream's region in error messages only. Default "".
func Region(r string) Option { return func(c *config) { c.region = r } }

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
	if c.concurrency < 1 || c.concurrency > 256 {
		bad("Concurrency %d must be 1..256", c.concurrency)
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
	if c.maxBytesPerSecond > 0 && c.maxBytesPerSecond < 1024 {
		bad("MaxBytesPerSecond %.0f is below 1 KiB/s", c.maxBytesPerSecond)
	}
	if c.shutdownTimeout <= 0 {
		bad("ShutdownTimeout %v must be positive", c.shutdownTimeout)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOption, joinProblems(problems))
	}
	return nil
}

func joinProblems(p []string) string {
	out := p[0]
	for _, s := range p[1:] {
		out += "; " + s
	}
	return out
}

// Producer sends records to one delivery stream. It is safe for concurrent
// use: PutRecord, PutRecordBatch, Send and Stats may be called from several
// goroutines; they share the limits and the statistics.
type Producer struct {
	client  Client
	stream  string
	cfg     config
	log     *slog.Logger
	limiter *limiter
	backoff backoff
	stats   stats

	abortCtx context.Context
	abort    context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

// New returns a Producer sending to stream through client. It validates the
// options together and returns an error matching ErrInvalidOption if they
// are not valid.
func New(client Client, stream string, opts ...Option) (*Producer, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOption)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(stream); err != nil {
		return nil, err
	}
	// A request never carries more than one second of a static quota, so
	// the limiter's burst (one batch) stays within it.
	if cfg.maxRecordsPerSecond > 0 {
		cfg.maxBatchRecords = min(cfg.maxBatchRecords, max(1, int(cfg.maxRecordsPerSecond)))
	}
	if cfg.maxBytesPerSecond > 0 {
		cfg.maxBatchBytes = min(cfg.maxBatchBytes, max(MaxRecordBytes, int(cfg.maxBytesPerSecond)))
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	p := &Producer{
		client:  client,
		stream:  stream,
		cfg:     cfg,
		log:     cfg.logger.With(slog.String("stream", stream)),
		limiter: newLimiter(cfg),
		backoff: newBackoff(cfg.backoffInitial, cfg.backoffMax),
	}
	p.abortCtx, p.abort = context.WithCancel(context.Background())
	return p, nil
}

// Abort is a hard stop, for a second interrupt: requests in flight are
// cancelled at once and Send stops reading; Send still dead-letters every
// record it read and did not deliver (reason "shutdown"). Later calls fail.
func (p *Producer) Abort() { p.abort() }

// Close flushes and closes the dead-letter sink if it has a
// Close() error method. It is idempotent and returns the first result.
func (p *Producer) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		switch s := p.cfg.sink.(type) {
		case interface{ Close(context.Context) error }:
			p.closeErr = s.Close(ctx)
		case interface{ Close() error }:
			p.closeErr = s.Close()
		}
	})
	return p.closeErr
}

// requestContext returns the context for API calls: it is not cancelled with
// ctx, so requests in flight can finish after an interrupt, but it is
// cancelled ShutdownTimeout after ctx is done, or at once by Abort. Call
// release when the calls are over.
func (p *Producer) requestContext(ctx context.Context) (reqCtx context.Context, cancelNow context.CancelFunc, release func()) {
	reqCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var timer *time.Timer
	stopCtx := context.AfterFunc(ctx, func() {
		mu.Lock()
		timer = time.AfterFunc(p.cfg.shutdownTimeout, cancel)
		mu.Unlock()
	})
	stopAbort := context.AfterFunc(p.abortCtx, cancel)
	return reqCtx, cancel, func() {
		stopCtx()
		stopAbort()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}
