package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/emulator"
)

// emulatorCloseTimeout bounds how long a stopping emulator waits for
// in-flight requests; the buffers are written to disk in any case.
const emulatorCloseTimeout = 30 * time.Second

// emulatorOptions are the flags of `firehose emulator`.
type emulatorOptions struct {
	Addr                   string
	DataDir                string
	Quota                  string
	QuotaRecordsPerSecond  int
	QuotaRequestsPerSecond int
	QuotaBytesPerSecond    int64
	FaultSeed              int64
	FaultRequestErrorRate  float64
	FaultRecordErrorRate   float64
	FaultLostResponseRate  float64
	FaultLatency           time.Duration
	MetricsDelay           time.Duration
	Fsync                  bool
	MaxConnections         int
	MaxInFlightBytes       int64
	BodyReadTimeout        time.Duration
	MaxMetricSeries        int
	Streams                []string
	CreateDelay            time.Duration
}

func (o *emulatorOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:4566", "address to listen on (loopback unless you mean to expose it)")
	fs.StringVar(&o.DataDir, "data-dir", "", "directory for the delivered objects (DIR/<bucket>/<prefix>YYYY/MM/DD/HH/...) and the emulator's state (DIR/.emulator: streams and spooled records); restarting on the same directory keeps the streams and delivers what was acknowledged (default: a new temporary directory, kept)")
	fs.StringVar(&o.Quota, "quota", "default", "per-stream quotas: default (us-east-1 DirectPut: 500,000 records/s, 2,000 requests/s, 5 MiB/s) or none")
	fs.IntVar(&o.QuotaRecordsPerSecond, "quota-records-per-second", 0, "records/s quota per stream (default 500000)")
	fs.IntVar(&o.QuotaRequestsPerSecond, "quota-requests-per-second", 0, "Put requests/s quota per stream (default 2000)")
	fs.Int64Var(&o.QuotaBytesPerSecond, "quota-bytes-per-second", 0, "bytes/s quota per stream (default 5242880)")
	fs.Int64Var(&o.FaultSeed, "fault-seed", 0, "seed of the fault injection; the same seed and requests fail the same way")
	fs.Float64Var(&o.FaultRequestErrorRate, "fault-request-error-rate", 0, "probability (0 to 1) that a Put request fails whole with HTTP 500")
	fs.Float64Var(&o.FaultRecordErrorRate, "fault-record-error-rate", 0, "probability (0 to 1) that a record fails inside a 200 response")
	fs.Float64Var(&o.FaultLostResponseRate, "fault-lost-response-rate", 0, "probability (0 to 1) that a Put request is delivered but its connection dropped unanswered")
	fs.DurationVar(&o.FaultLatency, "fault-latency", 0, "delay before every Firehose answer")
	fs.DurationVar(&o.MetricsDelay, "metrics-delay", 0, "how long after a request its CloudWatch datapoints become readable")
	fs.BoolVar(&o.Fsync, "fsync", false, "fsync every acknowledged write before answering, so records survive a machine crash too (a killed emulator loses nothing either way)")
	fs.IntVar(&o.MaxConnections, "max-connections", 0, "open connections at most; more are answered 503 (default 1024)")
	fs.Int64Var(&o.MaxInFlightBytes, "max-in-flight-bytes", 0, "request body bytes held at once; a request past it is answered ServiceUnavailableException (default 268435456)")
	fs.DurationVar(&o.BodyReadTimeout, "body-read-timeout", 0, "time allowed to read a request body (default 1m0s)")
	fs.IntVar(&o.MaxMetricSeries, "max-metric-series", 0, "CloudWatch metric series kept; past it the least recently written is forgotten (default 100000)")
	fs.StringArrayVar(&o.Streams, "stream", nil, "create a delivery stream at start, NAME[=BUCKET[/PREFIX]] (repeatable; without a bucket: bucket "+emulator.DefaultStreamBucket+", prefix NAME/)")
	fs.DurationVar(&o.CreateDelay, "create-delay", 0, "how long a created stream stays CREATING (and a deleted one DELETING) before it is ACTIVE (gone), for code that waits on the status")
}

// serverOptions turns the flags into emulator options.
func (o *emulatorOptions) serverOptions(fs *pflag.FlagSet) ([]emulator.Option, error) {
	var opts []emulator.Option
	if o.DataDir != "" {
		opts = append(opts, emulator.DataDir(o.DataDir))
	}
	quotaFlagSet := o.QuotaRecordsPerSecond != 0 || o.QuotaRequestsPerSecond != 0 || o.QuotaBytesPerSecond != 0
	if fs != nil {
		quotaFlagSet = fs.Changed("quota-records-per-second") || fs.Changed("quota-requests-per-second") || fs.Changed("quota-bytes-per-second")
	}
	switch o.Quota {
	case "none":
		if quotaFlagSet {
			return nil, usageErrorf("--quota none turns quotas off; drop the --quota-*-per-second flags or use --quota default")
		}
		opts = append(opts, emulator.NoQuotas())
	case "default":
		if o.QuotaRecordsPerSecond < 0 || o.QuotaRequestsPerSecond < 0 || o.QuotaBytesPerSecond < 0 {
			return nil, usageErrorf("--quota-*-per-second must not be negative")
		}
		opts = append(opts, emulator.Quotas(emulator.QuotaConfig{
			RecordsPerSecond:  o.QuotaRecordsPerSecond,
			RequestsPerSecond: o.QuotaRequestsPerSecond,
			BytesPerSecond:    o.QuotaBytesPerSecond,
		}))
	default:
		return nil, usageErrorf("--quota must be default or none, got %q", o.Quota)
	}
	opts = append(opts,
		emulator.Faults(emulator.FaultConfig{
			Seed:             o.FaultSeed,
			RequestErrorRate: o.FaultRequestErrorRate,
			RecordErrorRate:  o.FaultRecordErrorRate,
			LostResponseRate: o.FaultLostResponseRate,
			Latency:          o.FaultLatency,
		}),
		emulator.MetricsDelay(o.MetricsDelay),
		emulator.ServerLimits(emulator.Limits{
			MaxConnections:   o.MaxConnections,
			MaxInFlightBytes: o.MaxInFlightBytes,
			BodyReadTimeout:  o.BodyReadTimeout,
			MaxMetricSeries:  o.MaxMetricSeries,
		}),
		emulator.CreateDelay(o.CreateDelay),
	)
	if o.Fsync {
		opts = append(opts, emulator.SyncWrites())
	}
	for _, spec := range o.Streams {
		opt, err := parseStreamSpec(spec)
		if err != nil {
			return nil, err
		}
		opts = append(opts, opt)
	}
	return opts, nil
}

// parseStreamSpec reads --stream NAME[=BUCKET[/PREFIX]]. Without a bucket the
// stream delivers to emulator.DefaultStreamBucket under the prefix NAME/; a
// PREFIX is used as written (end it with "/" for a folder).
func parseStreamSpec(spec string) (emulator.Option, error) {
	name, dest, hasDest := strings.Cut(spec, "=")
	if name == "" {
		return nil, usageErrorf("--stream %q: the name is empty (want NAME[=BUCKET[/PREFIX]])", spec)
	}
	if !hasDest {
		return emulator.StreamWithPrefix(name, emulator.DefaultStreamBucket, name+"/"), nil
	}
	bucket, prefix, _ := strings.Cut(dest, "/")
	if bucket == "" {
		return nil, usageErrorf("--stream %q: the bucket is empty (want NAME[=BUCKET[/PREFIX]])", spec)
	}
	return emulator.StreamWithPrefix(name, bucket, prefix), nil
}

func newEmulatorCommand(g *globalOptions) *cobra.Command {
	var opts emulatorOptions
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run a local Firehose + CloudWatch endpoint (limits, quotas, faults, metrics, S3-layout files)",
		Long: `Run the emulator until interrupted. It speaks the Firehose API (AWS JSON 1.1) and the CloudWatch
metric API (rpc-v2-cbor for the Go SDK, AWS JSON 1.0 for the AWS CLI) on one address, enforces the
per-call limits (500 records, 1,000 KiB per record, 4 MiB per call) and the per-stream quotas, and
writes delivered records like the S3 destination does, under the data directory:

  DIR/<bucket>/<prefix>YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>

It also serves the delivered files through the S3 read API (ListBuckets, ListObjectsV2, HeadObject,
GetObject: aws s3 ls / aws s3 cp), CloudWatch over awsQuery for older SDKs, and a web page at / with
the streams, per-minute charts and the newest objects. --stream creates streams at start.

Point any client at it with --endpoint-url http://127.0.0.1:4566 (or AWS_ENDPOINT_URL) and fake
credentials. On SIGINT or SIGTERM it writes every buffered record to disk and exits 0.

Durable: every record it acknowledges is first appended to a spool file under DIR/.emulator, and
the stream definitions are kept in DIR/.emulator/streams.json. Killed (even with SIGKILL) and
started again on the same --data-dir, it describes the same streams and delivers every record it
acknowledged. --fsync extends that to a machine crash.

Bounded: bodies are read as they arrive against --max-in-flight-bytes, with --body-read-timeout,
and at most --max-connections connections are open; a client cannot make it run out of memory.

Faults on request: the --fault-* flags inject random faults; tests script exact ones at run time
over HTTP (GET/POST/DELETE /_emulator/faults):

  curl -X POST URL/_emulator/faults -d '{"faults":[{"operation":"PutRecordBatch","times":3,"action":"fail","code":"InternalFailure"}]}'

Actions: fail, fail-records, lose-response, drop-connection, delay (with "delay":"2s").
GET /_emulator/stats shows the open connections, requests in flight and body bytes held.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEmulatorWithFlags(cmd.Context(), g, opts, cmd.Flags())
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// runEmulator runs the emulator until ctx is cancelled, then closes it,
// which writes every buffer to disk.
func runEmulator(ctx context.Context, g *globalOptions, opts emulatorOptions) error {
	return runEmulatorWithFlags(ctx, g, opts, nil)
}

func runEmulatorWithFlags(ctx context.Context, g *globalOptions, opts emulatorOptions, fs *pflag.FlagSet) error {
	logger := g.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	serverOpts, err := opts.serverOptions(fs)
	if err != nil {
		return err
	}
	serverOpts = append(serverOpts, emulator.Logger(logger.WithGroup("emulator")))
	if g.Region != "" {
		serverOpts = append(serverOpts, emulator.Region(g.Region))
	}
	srv, err := emulator.New(serverOpts...)
	if errors.Is(err, emulator.ErrInvalidOption) {
		return usageErrorf("%w", err)
	}
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	url, err := srv.Start(opts.Addr)
	if err != nil {
		_ = srv.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("start emulator: %w", err)
	}
	if _, err := fmt.Fprintf(g.stdio.Out, "emulator listening on %s, data in %s\nweb page: %s/\n", url, srv.DataDir(), url); err != nil {
		logger.Warn("could not write the listening line", slog.Any("error", err))
	}

	<-ctx.Done()

	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), emulatorCloseTimeout)
	defer cancel()
	err = srv.Close(closeCtx)
	if g.signals != nil {
		// A signal is how the emulator is meant to stop: exit 0, not 130/143.
		g.signals.clearExitCode()
	}
	if err != nil {
		return fmt.Errorf("stop emulator: %w", err)
	}
	logger.Info("emulator stopped", slog.String("data_dir", srv.DataDir()))
	return nil
}
