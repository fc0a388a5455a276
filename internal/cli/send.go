package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/smithy-go"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/checkpoint"
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
	MaxConcurrency       int
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
	NoQuotaLookup        bool
	DeadLetter           string
	ShutdownTimeout      time.Duration
	Format               string
	// LingerSet is true when --linger was given: a file input otherwise
	// fills every batch (Linger only matters for live input).
	LingerSet    bool
	Checkpoint   string
	Restart      bool
	NoCheckpoint bool
}

func (o *sendOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Stream, "stream", "", "delivery stream name (required)")
	fs.IntVar(&o.BatchSize, "batch-size", 500, "records per PutRecordBatch request, 1 to 500 (requests are also kept under 4 MiB)")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "PutRecordBatch requests in flight at once (0: adaptive, from 4 up to --max-concurrency, following throughput, throttling and latency)")
	fs.IntVar(&o.MaxConcurrency, "max-concurrency", 64, "upper bound of the adaptive in-flight limit")
	fs.DurationVar(&o.Linger, "linger", 200*time.Millisecond, "live input (stdin, pipes): send a partial batch when no new record arrived for this long; a file fills every batch")
	fs.IntVar(&o.MaxAttempts, "max-attempts", 8, "attempts per record, the first included, before it is dead-lettered (throttled tries do not count; --max-retry-time bounds them)")
	fs.DurationVar(&o.MaxRetryTime, "max-retry-time", 2*time.Minute, "give up on a record this long after its first attempt")
	fs.BoolVar(&o.NoNewline, "no-newline", false, "do not append a newline to each record (S3 objects are then not JSON lines)")
	fs.BoolVar(&o.Pack, "pack", false, "pack consecutive records into one Firehose record (newline-delimited) to cut the 5 KB-per-record bill")
	fs.IntVar(&o.PackSize, "pack-size", producer.MaxRecordBytes, "target size of a packed Firehose record in bytes, at most 1,024,000")
	fs.IntVar(&o.MaxRecordsPerSecond, "max-records-per-second", 0, "static limit on records per second (0: none; adaptive control still applies)")
	fs.Int64Var(&o.MaxBytesPerSecond, "max-bytes-per-second", 0, "static limit on bytes per second (0: none)")
	fs.IntVar(&o.MaxRequestsPerSecond, "max-requests-per-second", 0, "static limit on API requests per second (0: none)")
	fs.BoolVar(&o.NoQuotaLookup, "no-quota-lookup", false, "do not read the stream's quota from its CloudWatch limit metrics before sending (a stream with traffic in the last 455 days has them; the quota then caps the rate from the start)")
	fs.BoolVar(&o.NoAdaptive, "no-adaptive", false, "turn off adaptive rate control (slowing down on \"Slow down.\" throttling)")
	fs.StringVar(&o.DeadLetter, "dead-letter", "", "NDJSON file for records that could not be delivered or were rejected (default: beside the input, its name without the extension + .deadletter.ndjson; firehose-deadletter.ndjson for stdin)")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGINT, SIGTERM or SIGHUP, how long requests in flight may take to finish")
	fs.StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint file of a file input, to resume an interrupted run (default: the input's name without its extension + .checkpoint.json)")
	fs.BoolVar(&o.Restart, "restart", false, "ignore (and remove) the input's checkpoint: send the whole file again")
	fs.BoolVar(&o.NoCheckpoint, "no-checkpoint", false, "keep no checkpoint: a stop dead-letters what was read and not delivered, as for stdin")
	fs.StringVar(&o.Format, "format", "auto", "input format: auto, json (array), ndjson or text (lines sent as they are); gzip and zstd input is decompressed")
}

func (o *sendOptions) validate() error {
	if o.Stream == "" {
		return usageErrorf("--stream is required")
	}
	if _, err := records.ParseFormat(o.Format); err != nil {
		return usageErrorf("--format %q: want auto, json, ndjson or text", o.Format)
	}
	if o.Restart && o.NoCheckpoint {
		return usageErrorf("--restart and --no-checkpoint do not go together")
	}
	// The producer validates its options; its messages name them by their
	// Go names, mapped here to the flags that set them. --pack-size is
	// checked even without --pack.
	opts := append(o.producerOptions(), producer.Pack(o.PackSize))
	if err := producer.Validate(o.Stream, opts...); err != nil {
		return usageErrorf("%s", flagNames.Replace(err.Error()))
	}
	return nil
}

// flagNames maps the producer's option names in its validation messages to
// the flags that set them.
var flagNames = strings.NewReplacer(
	"MaxBatchRecords", "--batch-size",
	"MaxBatchBytes", "the 4 MiB request limit",
	"MaxConcurrency", "--max-concurrency",
	"Concurrency", "--concurrency",
	"Linger", "--linger",
	"MaxAttempts", "--max-attempts",
	"MaxRetryTime", "--max-retry-time",
	"Pack", "--pack-size",
	"MaxRecordsPerSecond", "--max-records-per-second",
	"MaxBytesPerSecond", "--max-bytes-per-second",
	"MaxRequestsPerSecond", "--max-requests-per-second",
	"ShutdownTimeout", "--shutdown-timeout",
	"stream name", "--stream",
	"invalid producer option: ", "",
)

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

// checkpointPath is the checkpoint file of a file input: the flag, or the
// input's path without its extension + .checkpoint.json.
func (o *sendOptions) checkpointPath(input string) string {
	if o.Checkpoint != "" {
		return o.Checkpoint
	}
	return checkpoint.DefaultPath(input)
}

// producerOptions are the producer settings the flags give.
func (o *sendOptions) producerOptions() []producer.Option {
	opts := []producer.Option{
		producer.MaxBatchRecords(o.BatchSize),
		producer.MaxConcurrency(o.MaxConcurrency),
		producer.Linger(o.Linger),
		producer.MaxAttempts(o.MaxAttempts),
		producer.MaxRetryTime(o.MaxRetryTime),
		producer.AppendNewline(!o.NoNewline),
		producer.MaxRecordsPerSecond(o.MaxRecordsPerSecond),
		producer.MaxBytesPerSecond(o.MaxBytesPerSecond),
		producer.MaxRequestsPerSecond(o.MaxRequestsPerSecond),
		producer.Adaptive(!o.NoAdaptive),
		producer.ShutdownTimeout(o.ShutdownTimeout),
	}
	if o.Concurrency != 0 {
		opts = append(opts, producer.Concurrency(o.Concurrency))
	}
	return opts
}

// newProducer builds the producer with the flags' settings.
func (o *sendOptions) newProducer(client producer.Client, sink producer.DeadLetterSink, logger *slog.Logger, extra ...producer.Option) (*producer.Producer, error) {
	opts := append(o.producerOptions(), producer.DeadLetterTo(sink), producer.Logger(logger))
	if o.Pack {
		opts = append(opts, producer.Pack(o.PackSize))
	}
	opts = append(opts, extra...)
	p, err := producer.New(client, o.Stream, opts...)
	if err != nil {
		return nil, usageErrorf("%s", flagNames.Replace(err.Error()))
	}
	return p, nil
}

// checkStream fails fast, before anything is sent, when the stream cannot
// be used: it does not exist, the credentials are missing or refused, or
// the endpoint does not answer as Firehose (nothing listening, another
// scheme, another service). Only a policy without
// firehose:DescribeDeliveryStream and a busy service (5xx, throttling) let
// the send go on, with a warning: the sends themselves will tell. It
// returns the stream's creation time (zero when not described).
func checkStream(ctx context.Context, client *firehose.Client, stream, region string, logger *slog.Logger) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	out, err := client.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(stream)})
	if err == nil {
		d := out.DeliveryStreamDescription
		if d == nil {
			return time.Time{}, nil
		}
		if d.DeliveryStreamStatus != "ACTIVE" {
			logger.Warn("delivery stream is not ACTIVE", "stream", stream, "status", string(d.DeliveryStreamStatus))
		}
		return aws.ToTime(d.CreateTimestamp), nil
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return time.Time{}, err
	}
	fatal := producer.AsFatal(err, stream, region)
	if fatal != nil && !strings.HasPrefix(fatal.Code, "AccessDenied") {
		return time.Time{}, fatal
	}
	endpoint := endpointOf(client, region)
	var respErr *awshttp.ResponseError
	status := 0
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	var apiErr smithy.APIError
	isAWS := errors.As(err, &apiErr) && apiErr.ErrorCode() != ""
	switch {
	case status == 0:
		return time.Time{}, fmt.Errorf("%w: no answer from the Firehose endpoint %s within %s (%v): check --endpoint-url or AWS_ENDPOINT_URL (scheme, host and port) and the network",
			errUnreachable, endpoint, checkTimeout, err)
	case !isAWS && (status == 404 || status == 405 || status == 501):
		return time.Time{}, fmt.Errorf("%w: %s answered HTTP %d to DescribeDeliveryStream: it is not a Firehose endpoint; check --endpoint-url",
			errUnreachable, endpoint, status)
	}
	logger.Warn("could not describe the delivery stream; sending anyway", "stream", stream, "endpoint", endpoint, "error", err.Error())
	return time.Time{}, nil
}

// checkTimeout bounds the check of the stream before a send.
const checkTimeout = 8 * time.Second

// errUnreachable: the endpoint does not answer as Firehose; exit 2.
var errUnreachable = errors.New("cannot use the endpoint")

// endpointOf names the Firehose endpoint a client talks to, for messages.
func endpointOf(client *firehose.Client, region string) string {
	if e := client.Options().BaseEndpoint; e != nil && *e != "" {
		return *e
	}
	return "https://firehose." + region + ".amazonaws.com"
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
