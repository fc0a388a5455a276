package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/cwmetrics"
	"github.com/firehose-tools/firehose/internal/mockdata"
	"github.com/firehose-tools/firehose/internal/ui"
	"github.com/firehose-tools/firehose/producer"
)

// Names used by `scenario --local`.
const (
	localStream = "firehose-common-actions"
	localBucket = "local-bucket"
	localPrefix = "alerts/"
	// sampleFile is the name of the generated data file.
	sampleFile = "sample_records.json"
)

// scenarioOptions are the flags of `firehose scenario`.
type scenarioOptions struct {
	send               sendOptions
	Data               string
	PutRecordCount     int
	MetricsWait        time.Duration
	MetricsInterval    time.Duration
	CloudWatchProtocol string
	Local              bool
	LocalDir           string
	Count              int
	Seed               int64
}

func (o *scenarioOptions) addFlags(fs *pflag.FlagSet) {
	o.send.addFlags(fs)
	fs.StringVar(&o.Data, "data", "", "input file, a JSON array or NDJSON (default: generate --count mock records into the work directory)")
	fs.IntVar(&o.PutRecordCount, "put-record-count", 100, "records sent one by one with PutRecord before the batches")
	fs.DurationVar(&o.MetricsWait, "metrics-wait", 2*time.Minute, "poll CloudWatch until IncomingRecords reaches the records sent or this passes (0s: query once)")
	fs.DurationVar(&o.MetricsInterval, "metrics-interval", 15*time.Second, "time between CloudWatch polls")
	fs.StringVar(&o.CloudWatchProtocol, "cloudwatch-protocol", "auto", "CloudWatch wire protocol: auto (JSON 1.0 when --endpoint-url is set, else the SDK's CBOR), cbor or json")
	fs.BoolVar(&o.Local, "local", false, "run against the embedded emulator: no AWS account, no network")
	fs.StringVar(&o.LocalDir, "local-dir", "firehose-local", "with --local: where the emulator writes the delivered objects")
	fs.IntVar(&o.Count, "count", 5550, "records to generate when --data is not given")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the generated records")
}

func newScenarioCommand(g *globalOptions) *cobra.Command {
	var opts scenarioOptions
	cmd := &cobra.Command{
		Use:   "scenario [--local | --stream NAME] [--data FILE]",
		Short: "Run the Firehose Common Actions scenario: PutRecord, PutRecordBatch, metrics",
		Long: `Run the Firehose Common Actions scenario against a delivery stream:
  1. read the data (--data FILE, or --count generated network alert records),
  2. send the first --put-record-count records one by one with PutRecord,
  3. send the rest with PutRecordBatch (at most --batch-size records and 4 MiB a request,
     only failed records resent),
  4. print the summary, then the stream's CloudWatch metrics (IncomingBytes, IncomingRecords, ...)
     next to the client-side FailedPutCount.
With --local, the embedded emulator plays Firehose and CloudWatch and writes the S3 objects
under --local-dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.send.LingerSet = cmd.Flags().Changed("linger")
			if opts.Local && !cmd.Flags().Changed("stream") {
				opts.send.Stream = localStream
			}
			if opts.Local && !cmd.Flags().Changed("metrics-wait") {
				opts.MetricsWait = 10 * time.Second
			}
			if opts.Local && !cmd.Flags().Changed("metrics-interval") {
				opts.MetricsInterval = 500 * time.Millisecond
			}
			if opts.Local && !cmd.Flags().Changed("cloudwatch-protocol") {
				opts.CloudWatchProtocol = "cbor"
			}
			return runScenario(cmd.Context(), g, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	cmd.Flags().Lookup("stream").Usage = "delivery stream name (required unless --local, which uses " + localStream + ")"
	return cmd
}

func runScenario(ctx context.Context, g *globalOptions, opts scenarioOptions) error {
	if !opts.Local && opts.send.Stream == "" {
		return usageErrorf("--stream is required (or --local to run against the embedded emulator, no AWS account needed)")
	}
	if err := opts.send.validate(); err != nil {
		return err
	}
	if opts.PutRecordCount < 0 {
		return usageErrorf("--put-record-count %d: must be 0 or more", opts.PutRecordCount)
	}
	if opts.Local && g.EndpointURL != "" {
		return usageErrorf("--local and --endpoint-url do not go together: --local starts its own endpoint")
	}
	// The story goes to stdout; with --output json stdout holds only the
	// final document.
	out := g.stdio.Out
	if g.jsonOutput() {
		out = io.Discard
	}
	awsOpts := g.awsOptions()
	awsOpts.CloudWatchProtocol = opts.CloudWatchProtocol
	if err := awsOpts.Validate(); err != nil {
		return usageErrorf("--cloudwatch-protocol: %w", err)
	}

	var srv *emulator.Server
	if opts.Local {
		var err error
		srv, err = startLocal(ctx, g, opts.LocalDir)
		if err != nil {
			return err
		}
		defer func() { _ = srv.Close(context.WithoutCancel(ctx)) }()
		awsOpts.EndpointURL = srv.URL()
		awsOpts.Local = true
		if awsOpts.Region == "" {
			awsOpts.Region = "us-east-1"
		}
		fmt.Fprintf(out, "Local emulator at %s; delivered objects go to %s\n", srv.URL(), filepath.Join(opts.LocalDir, localBucket))
	}

	// Step 1: the data. A generated file that an interrupted run left with
	// its checkpoint is kept, so that the same command resumes it.
	dataPath := opts.Data
	if dataPath == "" {
		dir := opts.LocalDir
		if !opts.Local {
			var err error
			if dir, err = os.MkdirTemp("", "firehose-scenario-"); err != nil {
				return err
			}
			// The generated data is removed after the run unless a dead-letter
			// file was written beside it, which the user needs to replay.
			defer func() {
				if _, err := os.Stat(opts.send.deadLetterPath(filepath.Join(dir, sampleFile))); os.IsNotExist(err) {
					_ = os.RemoveAll(dir)
				}
			}()
		}
		dataPath = filepath.Join(dir, sampleFile)
		if _, err := os.Stat(opts.send.checkpointPath(dataPath)); err == nil && !opts.send.Restart {
			fmt.Fprintf(out, "Step 1: resuming the interrupted run over %s\n", dataPath)
		} else {
			if err := writeMockData(dir, opts.Count, opts.Seed); err != nil {
				return err
			}
			fmt.Fprintf(out, "Step 1: generated %d mock network alert records (seed %d) in %s\n", opts.Count, opts.Seed, dataPath)
		}
	} else {
		fmt.Fprintf(out, "Step 1: reading records from %s\n", dataPath)
	}
	if opts.Local {
		cfg, err := awsconf.Load(ctx, awsOpts)
		if err != nil {
			return usageErrorf("%w", err)
		}
		if err := createLocalStream(ctx, awsconf.Firehose(cfg), opts.send.Stream); err != nil {
			return err
		}
	}
	run, err := openSend(ctx, g, sendSpec{
		title:         "Summary: " + opts.send.Stream,
		opts:          opts.send,
		input:         dataPath,
		deadLetter:    opts.send.deadLetterPath(dataPath),
		scenarioCalls: true,
		awsOptions:    &awsOpts,
		// The scenario prints its summary itself: in its story on stdout,
		// or with --output json in one document with the metrics.
		quietSummary: true,
	})
	if err != nil {
		return err
	}
	start := run.start

	// Step 2: PutRecord, one by one.
	fmt.Fprintf(out, "Step 2: PutRecord for the first %d records of stream %s\n", opts.PutRecordCount, opts.send.Stream)
	progress := g.startSendProgress(ctx, run.p, dataPath, int64(opts.PutRecordCount), nil)
	sendErr := run.putRecords(ctx, int64(opts.PutRecordCount))
	progress.Stop()

	// Step 3: PutRecordBatch for the rest.
	if sendErr == nil {
		fmt.Fprintf(out, "Step 3: PutRecordBatch for the remaining records (batches of up to %d records and 4 MiB)\n", opts.send.BatchSize)
		sendErr = run.send(ctx)
	}
	end := time.Now()
	if srv != nil {
		if err := srv.Flush(context.WithoutCancel(ctx)); err != nil {
			g.logger.Warn("emulator flush failed", "error", err.Error())
		}
	}
	fmt.Fprintln(out)
	sum, result := run.finish(ctx, sendErr)
	if err := ui.RenderSummary(out, sum); err != nil {
		return err
	}
	st := sum.Stats
	cfg := run.cfg

	// Step 4: monitoring, unless the run could not send at all.
	var fatal *producer.FatalError
	cs := cwmetrics.ClientSide{
		Known: true, FailedPutCount: st.FailedPutCount, RecordsSent: st.FirehoseRecords,
		PutRecordCalls: st.PutRecordCalls, PutRecordBatchCalls: st.PutRecordBatchCalls,
	}
	var metrics *cwmetrics.Report
	if !errors.As(sendErr, &fatal) && ctx.Err() == nil {
		fmt.Fprintf(out, "\nStep 4: CloudWatch metrics for %s (namespace AWS/Firehose)\n", opts.send.Stream)
		cw := awsconf.CloudWatch(cfg, awsOpts)
		q := cwmetrics.Query{Stream: opts.send.Stream, Start: start.Add(-time.Minute), End: end.Add(time.Minute), Period: time.Minute}
		report, err := cwmetrics.Wait(ctx, cw, q, st.FirehoseRecords, opts.MetricsWait, opts.MetricsInterval, func(r cwmetrics.Report) {
			s, _ := r.Get("IncomingRecords")
			g.logger.Info("CloudWatch poll", "stream", opts.send.Stream, "incoming_records", int64(s.Total), "want", st.FirehoseRecords)
		})
		if err != nil {
			g.logger.Warn("CloudWatch metrics unavailable", "stream", opts.send.Stream, "error", err.Error())
			fmt.Fprintf(out, "CloudWatch metrics unavailable: %v\n", err)
		} else {
			metrics = &report
			if err := cwmetrics.Render(out, report, cs); err != nil {
				return err
			}
		}
	}
	if g.jsonOutput() {
		if err := g.writeScenarioJSON(sum, metrics, cs); err != nil {
			return err
		}
	}
	if srv != nil {
		dir := filepath.Join(opts.LocalDir, localBucket)
		n, bytes := countFiles(dir, start)
		fmt.Fprintf(out, "\nDelivered objects: this run wrote %d file(s), %d bytes under %s (JSON lines; try: cat %s/%s*/*/*/*/*)\n",
			n, bytes, dir, dir, localPrefix)
	}
	return result
}

// putRecords sends the records numbered up to n one by one with
// PutRecord; the first record past n is put back for the batches. A record
// that fails its retries is dead-lettered by the producer and the loop goes
// on; a fatal error, a dead-letter write failure or a stop ends it.
func (r *sendRun) putRecords(ctx context.Context, n int64) error {
	for {
		rec, err := r.src.Next(ctx)
		if errors.Is(err, io.EOF) {
			r.src = exhausted{}
			return nil
		}
		var invalid *producer.InvalidRecordError
		if errors.As(err, &invalid) {
			if invalid.Record.Seq > n {
				r.src = &pushedBack{err: err, rest: r.src}
				return nil
			}
			if err := r.p.Reject(ctx, invalid.Record, invalid.Reason, invalid.Err); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if rec.Seq > n {
			rec.Data = append([]byte(nil), rec.Data...) // the reader reuses its buffer
			r.src = &pushedBack{rec: rec, rest: r.src}
			return nil
		}
		if _, err := r.p.PutRecord(ctx, rec); err != nil {
			var fatal *producer.FatalError
			switch {
			case errors.As(err, &fatal), errors.Is(err, producer.ErrDeadLetterWrite):
				return err
			case ctx.Err() != nil:
				return ctx.Err()
			}
			// Too large or retries exhausted: dead-lettered, go on.
		}
	}
}

// pushedBack yields one record (or reject) read ahead, then the rest.
type pushedBack struct {
	rec  producer.Record
	err  error
	done bool
	rest producer.Source
}

func (s *pushedBack) Next(ctx context.Context) (producer.Record, error) {
	if !s.done {
		s.done = true
		return s.rec, s.err
	}
	return s.rest.Next(ctx)
}

// exhausted is an input read to its end.
type exhausted struct{}

func (exhausted) Next(context.Context) (producer.Record, error) { return producer.Record{}, io.EOF }

// startLocal starts the embedded emulator on a free loopback port.
func startLocal(_ context.Context, g *globalOptions, dir string) (*emulator.Server, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("local dir %s: %w", dir, err)
	}
	srv, err := emulator.New(emulator.DataDir(dir), emulator.Logger(g.logger.WithGroup("emulator")))
	if err != nil {
		return nil, err
	}
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start the local emulator: %w", err)
	}
	return srv, nil
}

// createLocalStream creates the scenario's stream in the emulator (a
// DirectPut stream with an S3 destination), or keeps the existing one.
func createLocalStream(ctx context.Context, client *firehose.Client, stream string) error {
	_, err := client.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(stream),
		DeliveryStreamType: types.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN:      aws.String("arn:aws:s3:::" + localBucket),
			RoleARN:        aws.String("arn:aws:iam::000000000000:role/firehose-local"),
			Prefix:         aws.String(localPrefix),
			BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(5), IntervalInSeconds: aws.Int32(60)},
		},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create the local stream %q: %w", stream, err)
	}
	return nil
}

// writeMockData writes n generated records as a JSON array into dir.
func writeMockData(dir string, n int, seed int64) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	path := filepath.Join(dir, sampleFile)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := mockdata.WriteJSON(f, seed, n); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// countFiles counts the files under dir modified since t.
func countFiles(dir string, since time.Time) (files int, size int64) {
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil && !info.ModTime().Before(since.Add(-time.Second)) {
			files++
			size += info.Size()
		}
		return nil
	})
	return files, size
}

// scenarioCallLevel is the level of the scenario's line per API call: info,
// as the scenario asks, off a terminal; on a terminal the live area shows
// the calls' progress, so the lines stay at debug there and the steps stay
// readable (--log-level debug shows them).
func (g *globalOptions) scenarioCallLevel() slog.Level {
	if ui.IsTerminal(g.console) && !strings.EqualFold(g.LogFormat, "json") {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
