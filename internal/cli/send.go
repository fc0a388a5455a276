package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/ui"
	"github.com/firehose-tools/firehose/producer"
	"github.com/firehose-tools/firehose/records"
)

// sendOptions are the flags shared by the commands that send records
// (scenario, put, replay).
type sendOptions struct {
	Stream               string
	BatchSize            int
	Concurrency          int
	Linger               time.Duration
	MaxAttempts          int
	MaxRetryTime         time.Duration
	NoNewline            bool
	Pack                 bool
	PackSize             int
	MaxRecordsPerSecond  int
	MaxBytesPerSecond    int64
	MaxRequestsPerSecond int
	NoAdaptive           bool
	DeadLetter           string
	ShutdownTimeout      time.Duration
	Format               string
}

func (o *sendOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Stream, "stream", "", "delivery stream name (required)")
	fs.IntVar(&o.BatchSize, "batch-size", 500, "records per PutRecordBatch request, 1 to 500 (requests are also kept under 4 MiB)")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "PutRecordBatch requests in flight at once")
	fs.DurationVar(&o.Linger, "linger", 200*time.Millisecond, "send a partial batch when no new record arrived for this long (live input)")
	fs.IntVar(&o.MaxAttempts, "max-attempts", 8, "attempts per record, the first included, before it is dead-lettered")
	fs.DurationVar(&o.MaxRetryTime, "max-retry-time", 2*time.Minute, "give up on a record this long after its first attempt")
	fs.BoolVar(&o.NoNewline, "no-newline", false, "do not append a newline to each record (S3 objects are then not JSON lines)")
	fs.BoolVar(&o.Pack, "pack", false, "pack consecutive records into one Firehose record (newline-delimited) to cut the 5 KB-per-record bill")
	fs.IntVar(&o.PackSize, "pack-size", producer.MaxRecordBytes, "target size of a packed Firehose record in bytes, at most 1,024,000")
	fs.IntVar(&o.MaxRecordsPerSecond, "max-records-per-second", 0, "static limit on records per second (0: none; adaptive control still applies)")
	fs.Int64Var(&o.MaxBytesPerSecond, "max-bytes-per-second", 0, "static limit on bytes per second (0: none)")
	fs.IntVar(&o.MaxRequestsPerSecond, "max-requests-per-second", 0, "static limit on API requests per second (0: none)")
	fs.BoolVar(&o.NoAdaptive, "no-adaptive", false, "turn off adaptive rate control (slowing down on \"Slow down.\" throttling)")
	fs.StringVar(&o.DeadLetter, "dead-letter", "", "NDJSON file for records that could not be delivered or were rejected (default: beside the input, its name without the extension + .deadletter.ndjson; firehose-deadletter.ndjson for stdin)")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long in-flight requests may take to finish")
	fs.StringVar(&o.Format, "format", "auto", "input format: auto, json (array), ndjson or text (lines sent as they are); gzip and zstd input is decompressed")
}

func (o *sendOptions) validate() error {
	if o.Stream == "" {
		return usageErrorf("--stream is required")
	}
	if o.BatchSize < 1 || o.BatchSize > 500 {
		return usageErrorf("--batch-size %d: must be 1 to 500 (the PutRecordBatch limit)", o.BatchSize)
	}
	if o.Concurrency < 1 {
		return usageErrorf("--concurrency %d: must be at least 1", o.Concurrency)
	}
	if o.MaxAttempts < 1 {
		return usageErrorf("--max-attempts %d: must be at least 1", o.MaxAttempts)
	}
	if o.PackSize < 1 || o.PackSize > producer.MaxRecordBytes {
		return usageErrorf("--pack-size %d: must be 1 to %d", o.PackSize, producer.MaxRecordBytes)
	}
	switch o.Format {
	case "auto", "json", "ndjson", "jsonl", "text":
	default:
		return usageErrorf("--format %q: want auto, json, ndjson or text", o.Format)
	}
	return nil
}

// deadLetterPath is the file for undeliverable records: the flag, or
// the input's path without its extension + .deadletter.ndjson, or firehose-deadletter.ndjson
// in the working directory for stdin.
func (o *sendOptions) deadLetterPath(input string) string {
	if o.DeadLetter != "" {
		return o.DeadLetter
	}
	if input == "" || input == "-" {
		return "firehose-deadletter.ndjson"
	}
	base := strings.TrimSuffix(input, filepath.Ext(input))
	return base + ".deadletter.ndjson"
}

// newProducer builds the producer with the flags' settings.
func (o *sendOptions) newProducer(client producer.Client, region string, sink producer.DeadLetterSink, logger *slog.Logger, extra ...producer.Option) (*producer.Producer, error) {
	opts := []producer.Option{
		producer.MaxBatchRecords(o.BatchSize),
		producer.Concurrency(o.Concurrency),
		producer.Linger(o.Linger),
		producer.MaxAttempts(o.MaxAttempts),
		producer.MaxRetryTime(o.MaxRetryTime),
		producer.AppendNewline(!o.NoNewline),
		producer.MaxRecordsPerSecond(o.MaxRecordsPerSecond),
		producer.MaxBytesPerSecond(o.MaxBytesPerSecond),
		producer.MaxRequestsPerSecond(o.MaxRequestsPerSecond),
		producer.Adaptive(!o.NoAdaptive),
		producer.DeadLetterTo(sink),
		producer.Logger(logger),
		producer.ShutdownTimeout(o.ShutdownTimeout),
		producer.Region(region),
	}
	if o.Pack {
		opts = append(opts, producer.Pack(o.PackSize))
	}
	opts = append(opts, extra...)
	p, err := producer.New(client, o.Stream, opts...)
	if err != nil {
		return nil, usageErrorf("%w", err)
	}
	return p, nil
}

// readerSource adapts a records.Reader to producer.Source: a malformed
// record becomes a reject with its position, not a crash.
type readerSource struct {
	r *records.Reader
}

func (s readerSource) Next(ctx context.Context) (producer.Record, error) {
	if err := ctx.Err(); err != nil {
		return producer.Record{}, err
	}
	rec, err := s.r.Next()
	if err != nil {
		var re *records.RecordError
		if errors.As(err, &re) {
			reason := producer.ReasonInvalidJSON
			if errors.Is(err, records.ErrTooLarge) {
				reason = producer.ReasonTooLarge
			}
			return producer.Record{}, &producer.InvalidRecordError{
				Record: producer.Record{Seq: re.Seq, Source: re.Source, Data: bytes.Clone(rec.Data)},
				Reason: reason,
				Err:    re.Err, // the position is in Record already
			}
		}
		return producer.Record{}, err
	}
	// Data is only valid until the next read; the producer keeps it.
	return producer.Record{Seq: rec.Seq, Source: s.r.Source(rec.Position), Data: bytes.Clone(rec.Data)}, nil
}

// checkStream fails fast, before anything is sent, when the stream does
// not exist or the credentials are refused; other errors only warn.
func checkStream(ctx context.Context, client *firehose.Client, stream, region string, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := client.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(stream)})
	if err == nil {
		if d := out.DeliveryStreamDescription; d != nil && d.DeliveryStreamStatus != "ACTIVE" {
			logger.Warn("delivery stream is not ACTIVE", "stream", stream, "status", string(d.DeliveryStreamStatus))
		}
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return err
	}
	// The producer's own verdict: a stream that is not there or credentials
	// that do not work stop here, before anything is read. A policy without
	// firehose:DescribeDeliveryStream only warns: the sends themselves will
	// tell whether PutRecordBatch is allowed.
	fatal := producer.AsFatal(err, stream, region)
	if fatal != nil && !strings.HasPrefix(fatal.Code, "AccessDenied") {
		return fatal
	}
	logger.Warn("could not describe the delivery stream; sending anyway", "stream", stream, "error", err.Error())
	return nil
}

// summaryFrom is the summary shown at the end of a run.
func summaryFrom(title string, st producer.Stats, elapsed time.Duration, deadLetterPath string) ui.Summary {
	return ui.Summary{Title: title, Stats: st, Elapsed: elapsed, DeadLetterPath: deadLetterPath}
}

func progressCounts(p *producer.Producer) func() ui.Counts {
	return func() ui.Counts {
		st := p.Stats()
		return ui.Counts{
			Done:    st.Delivered + st.DeadLettered + st.Rejected,
			Failed:  st.DeadLettered + st.Rejected,
			Retries: st.Retries,
		}
	}
}

// renderSummary prints the summary table and logs it as one line.
func renderSummary(w io.Writer, logger *slog.Logger, sum ui.Summary) error {
	if err := ui.RenderSummary(w, sum); err != nil {
		return err
	}
	logger.Info("summary",
		"records_read", sum.Submitted, "delivered", sum.Delivered, "dead_lettered", sum.DeadLettered,
		"rejected", sum.Rejected, "possible_duplicates", sum.PossibleDuplicates, "retries", sum.Retries,
		"failed_put_count", sum.FailedPutCount, "elapsed", sum.Elapsed.String(),
		"records_per_second", int64(float64(sum.Delivered)/maxSeconds(sum.Elapsed)))
	return nil
}

// outcome turns a finished run into the command's error: the send error
// if any, exit 1 when some records were not delivered, nil otherwise.
func outcome(sum ui.Summary, sendErr error) error {
	if sendErr != nil {
		return sendErr
	}
	if !sum.Complete() {
		msg := fmt.Sprintf("%d of %d records not delivered", sum.Submitted-sum.Delivered, sum.Submitted)
		if sum.DeadLetterPath != "" {
			msg += "; see " + sum.DeadLetterPath + " and `firehose replay`"
		}
		return undeliveredError(msg)
	}
	return nil
}

// finish prints the summary and returns the run's outcome.
func finish(w io.Writer, logger *slog.Logger, sum ui.Summary, sendErr error) error {
	if err := renderSummary(w, logger, sum); err != nil {
		return err
	}
	return outcome(sum, sendErr)
}

func maxSeconds(d time.Duration) float64 {
	if s := d.Seconds(); s > 0 {
		return s
	}
	return 1e-9
}

// openInput opens the input file, or stdin for "" or "-"; a missing or
// unreadable file is an error naming it (exit 2, nothing sent).
func openInput(path string, format string, stdin io.Reader) (*records.Reader, func() error, error) {
	opts := []records.Option{records.InputFormat(records.Format(format))}
	if path == "" || path == "-" {
		r, err := records.NewReader(stdin, "stdin", opts...)
		if err != nil {
			return nil, nil, usageErrorf("%w", err)
		}
		return r, r.Close, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, usageErrorf("input file %s: %w", path, errors.Unwrap(err))
	}
	if info.IsDir() {
		return nil, nil, usageErrorf("input file %s: is a directory", path)
	}
	r, err := records.Open(path, opts...)
	if err != nil {
		return nil, nil, usageErrorf("input file %s: %w", path, err)
	}
	return r, r.Close, nil
}

// drainUnsent reads the rest of a bounded input after the run stopped and
// dead-letters it with reason, so that delivered + dead-lettered +
// rejected = the whole input and `firehose replay` completes the set. It is
// not used for stdin, which may never end.
func drainUnsent(ctx context.Context, p *producer.Producer, src producer.Source, reason string) error {
	const chunk = 5000
	ctx = context.WithoutCancel(ctx)
	buf := make([]producer.Record, 0, chunk)
	for {
		rec, err := src.Next(ctx)
		var invalid *producer.InvalidRecordError
		switch {
		case errors.Is(err, io.EOF):
			return p.DeadLetterUnsent(ctx, reason, buf...)
		case errors.As(err, &invalid):
			if err := p.Reject(ctx, invalid.Record, invalid.Reason, invalid.Err); err != nil {
				return err
			}
			continue
		case err != nil:
			return errors.Join(err, p.DeadLetterUnsent(ctx, reason, buf...))
		}
		buf = append(buf, rec)
		if len(buf) == chunk {
			if err := p.DeadLetterUnsent(ctx, reason, buf...); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
}

// asyncSource reads ahead from a source that may block (stdin) in its own
// goroutine, so that Next returns as soon as ctx is cancelled. The records
// it has read ahead when the run stops are not lost: they were never
// counted as read, and stdin is not drained.
type asyncSource struct {
	results chan sourceResult
}

type sourceResult struct {
	rec producer.Record
	err error
}

func newAsyncSource(src producer.Source) *asyncSource {
	s := &asyncSource{results: make(chan sourceResult, 256)}
	go func() {
		defer close(s.results)
		for {
			rec, err := src.Next(context.Background())
			s.results <- sourceResult{rec: rec, err: err}
			var invalid *producer.InvalidRecordError
			if err != nil && !errors.As(err, &invalid) {
				return
			}
		}
	}()
	return s
}

func (s *asyncSource) Next(ctx context.Context) (producer.Record, error) {
	select {
	case r, ok := <-s.results:
		if !ok {
			return producer.Record{}, io.EOF
		}
		return r.rec, r.err
	case <-ctx.Done():
		return producer.Record{}, ctx.Err()
	}
}

// readAhead is a source over what the reader goroutine has already read:
// it ends (io.EOF) where the buffer does, without waiting for more input.
func (s *asyncSource) readAhead() producer.Source { return readAheadSource{s} }

type readAheadSource struct{ s *asyncSource }

func (r readAheadSource) Next(context.Context) (producer.Record, error) {
	select {
	case res, ok := <-r.s.results:
		if !ok {
			return producer.Record{}, io.EOF
		}
		return res.rec, res.err
	default:
		return producer.Record{}, io.EOF
	}
}

// newSender checks that the stream can be reached (failing fast when it
// cannot) and builds the producer with the flags' settings, writing its
// dead letters to dlPath. The second signal aborts its requests.
func newSender(ctx context.Context, g *globalOptions, cfg aws.Config, o sendOptions, dlPath string, extra ...producer.Option) (*producer.Producer, *producer.FileSink, error) {
	client := awsconf.Firehose(cfg)
	if err := checkStream(ctx, client, o.Stream, cfg.Region, g.logger); err != nil {
		return nil, nil, err
	}
	sink := producer.NewFileSink(dlPath)
	p, err := o.newProducer(client, cfg.Region, sink, g.logger, extra...)
	if err != nil {
		return nil, nil, err
	}
	g.signals.onHardStop(p.Abort)
	return p, sink, nil
}

// sendWithProgress streams src through p with a progress display. After
// an interrupt it dead-letters what unsent still yields (the rest of a
// bounded input), so the accounting covers every record read.
func sendWithProgress(ctx context.Context, g *globalOptions, p *producer.Producer, label string, src, unsent producer.Source) error {
	before := p.Stats()
	progress := ui.StartProgress(ctx, g.stdio.Err, g.logger, ui.ProgressOptions{Label: label, Total: -1, Poll: func() ui.Counts {
		c := progressCounts(p)()
		c.Done -= before.Delivered + before.DeadLettered + before.Rejected
		return c
	}})
	err := p.Send(ctx, src)
	progress.Stop()
	return errors.Join(err, afterStop(ctx, g, p, unsent, err))
}

// afterStop dead-letters the unread rest of a bounded input (unsent) when
// a run stopped early, so that replaying the dead-letter file completes
// the set without resending what was delivered:
//   - after an interrupt, with reason "shutdown";
//   - after a fatal error, with reason "fatal-error", but only once
//     something was delivered: when nothing was, the input itself is the
//     file to send again, and copying it all would only cost time.
func afterStop(ctx context.Context, g *globalOptions, p *producer.Producer, unsent producer.Source, sendErr error) error {
	if unsent == nil {
		return nil
	}
	reason := ""
	var fatal *producer.FatalError
	switch {
	case ctx.Err() != nil:
		reason = producer.ReasonShutdown
	case errors.As(sendErr, &fatal) && p.Stats().Delivered > 0:
		reason = producer.ReasonFatal
	default:
		return nil
	}
	if err := drainUnsent(ctx, p, unsent, reason); err != nil {
		g.logger.Error("could not dead-letter the unsent rest of the input", "error", err.Error())
		return err
	}
	return nil
}
