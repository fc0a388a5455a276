package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/checkpoint"
	"github.com/firehose-tools/firehose/internal/logging"
	"github.com/firehose-tools/firehose/internal/ui"
	"github.com/firehose-tools/firehose/producer"
	"github.com/firehose-tools/firehose/records"
)

// sendSpec says what one run of the send pipeline sends; put, replay and
// scenario differ only here.
type sendSpec struct {
	title      string // summary title, e.g. "put: stream"
	opts       sendOptions
	input      string // input path, "" or "-" for stdin
	deadLetter string // dead-letter file
	// replay reads input as a dead-letter file; includeRejected resends
	// records rejected as bad input too.
	replay          bool
	includeRejected bool
	extra           []producer.Option
	// scenarioCalls logs the line per API call as the scenario does (see
	// scenarioCallLevel); put and replay log it at debug.
	scenarioCalls bool
	awsOptions    *awsconf.Options // nil: the global flags'
	// quietSummary leaves the summary to the caller (the scenario's
	// --output json prints it with the metrics in one document).
	quietSummary bool
}

// sendRun is one run of the send pipeline: input (with its checkpoint when
// it is a regular file), producer, dead-letter file, progress and summary.
type sendRun struct {
	g      *globalOptions
	spec   sendSpec
	cfg    aws.Config
	p      *producer.Producer
	sink   *producer.FileSink
	reader *records.Reader
	src    producer.Source
	async  *asyncSource // unseekable input read ahead, or nil
	// stopRead ends the reading of an unseekable input at a stop, and
	// inputFile is such an input opened by name (a FIFO); nil otherwise.
	stopRead  *stopReader
	inputFile *os.File
	start     time.Time
	// latency measures the API calls for the summary's percentiles.
	latency ui.LatencyHistogram
	// quota is the stream's quota read from CloudWatch (zero: not known).
	quota producer.Quota

	ckpt    *checkpointState // nil without a checkpoint
	resumed int64            // records settled by earlier runs
	skipped int64            // replay: rejected records not resent
	// maybeDelivered counts replayed records whose dead letter says the
	// service may have stored them already.
	maybeDelivered int64
}

// openSend validates the flags, opens the input and its checkpoint, checks
// the stream and builds the producer: everything that can fail before a
// record is sent.
func openSend(ctx context.Context, g *globalOptions, spec sendSpec) (*sendRun, error) {
	if err := spec.opts.validate(); err != nil {
		return nil, err
	}
	r := &sendRun{g: g, spec: spec}
	if err := r.openInput(); err != nil {
		return nil, err
	}
	awsOpts := g.awsOptions()
	if spec.awsOptions != nil {
		awsOpts = *spec.awsOptions
	}
	cfg, err := awsconf.Load(ctx, awsOpts)
	if err != nil {
		r.closeInput()
		return nil, usageErrorf("%w", err)
	}
	r.cfg = cfg
	client := awsconf.Firehose(cfg)
	var lookup *quotaLookup
	if !spec.opts.NoQuotaLookup {
		lookup = startQuotaLookup(ctx, cfg, awsOpts, spec.opts.Stream, g.logger)
	}
	created, err := checkStream(ctx, client, spec.opts.Stream, cfg.Region, g.logger)
	if err != nil {
		lookup.stop()
		r.closeInput()
		return nil, err
	}
	r.quota = lookup.wait(created)
	r.sink = producer.NewFileSink(spec.deadLetter)
	// The dead-letter file must be writable before anything is sent: a
	// record that fails later must have a durable place to go.
	if err := r.sink.Open(); err != nil {
		r.closeInput()
		return nil, usageErrorf("--dead-letter %s: %w", spec.deadLetter, errors.Unwrap(err))
	}
	// The line per API call carries the stream, as the producer's own lines.
	calls := logging.CallLog{Log: g.logger.With(slog.String("stream", spec.opts.Stream)), Level: slog.LevelDebug}
	if spec.scenarioCalls {
		calls.Level = g.scenarioCallLevel()
	}
	extra := append([]producer.Option{producer.OnResult(r.settled), producer.Hooks(&r.latency, calls)}, spec.extra...)
	if r.async == nil && !spec.opts.LingerSet {
		// A file is read as fast as batches go: every batch is full but the
		// last, which goes at the end of input.
		extra = append(extra, producer.Linger(time.Hour))
	}
	if r.ckpt != nil {
		// The input file is the durable copy: what a stop leaves unsent
		// stays after the checkpoint's watermark and is sent on resume.
		extra = append(extra, producer.DeadLetterOnStop(false))
	}
	// The stream's quota as static limits; a lower --max-*-per-second wins.
	extra = append(extra, producer.KnownQuota(r.quota))
	p, err := spec.opts.newProducer(client, r.sink, g.logger, extra...)
	if err != nil {
		r.closeInput()
		_ = r.sink.Close()
		return nil, err
	}
	r.p = p
	g.signals.onHardStop(p.Abort)
	if r.ckpt != nil {
		r.ckpt.start(r.sink, g)
	}
	r.start = time.Now()
	return r, nil
}

// openInput opens the input: a regular file gets a checkpoint and resumes
// from it; stdin, pipes and FIFOs are read ahead in a goroutine, so that a
// read that blocks never holds up a stop.
func (r *sendRun) openInput() error {
	spec := r.spec
	stdin := spec.input == "" || spec.input == "-"
	var regular bool
	if !stdin {
		info, err := os.Stat(spec.input)
		if err != nil {
			return usageErrorf("input file %s: %w", spec.input, errors.Unwrap(err))
		}
		if info.IsDir() {
			return usageErrorf("input file %s: is a directory", spec.input)
		}
		regular = info.Mode().IsRegular()
		if sameFile(spec.deadLetter, spec.input) {
			return usageErrorf("--dead-letter %s is the input file: choose another", spec.deadLetter)
		}
	}
	var resume records.Checkpoint
	if regular && !spec.opts.NoCheckpoint {
		ck, err := openCheckpoint(spec.input, spec.opts.checkpointPath(spec.input), spec.opts.Restart)
		if err != nil {
			return err
		}
		r.ckpt = ck
		if ck.resumedFrom != nil {
			wm := ck.resumedFrom.Watermark
			resume = records.Checkpoint{Offset: wm.Offset, Seq: wm.Record - 1, Line: wm.Line}
			r.resumed = ck.resumedFrom.SettledCount()
			fmt.Fprintf(r.g.stdio.Err, "resuming %s at record %d (byte %d): %d settled before\n",
				spec.input, wm.Record, wm.Offset, r.resumed)
		}
	}
	format := spec.opts.Format
	limit := producer.MaxRecordBytes
	if spec.replay {
		// A dead letter is a JSON line holding the record in base64: 1.4 MB
		// for the largest record; older tools wrote larger ones.
		format, limit = string(records.FormatNDJSON), 16<<20
	}
	opts := []records.Option{records.InputFormat(records.Format(format)), records.MaxRecordBytes(limit), records.ResumeFrom(resume)}
	var reader *records.Reader
	var err error
	switch {
	case regular:
		reader, err = records.Open(spec.input, opts...)
	default:
		// An unseekable input stops being read at a stop (stopReader): what
		// the reader holds is then parsed and dead-lettered, and what is
		// still in the pipe stays there.
		in, name := r.g.stdio.In, "stdin"
		if !stdin {
			f, openErr := os.Open(spec.input)
			if openErr != nil {
				return usageErrorf("input file %s: %w", spec.input, errors.Unwrap(openErr))
			}
			r.inputFile, in, name = f, f, spec.input
		}
		r.stopRead = &stopReader{r: in}
		reader, err = records.NewReader(r.stopRead, name, opts...)
	}
	if err != nil {
		r.closeInput()
		return usageErrorf("input file %s: %w", spec.input, err)
	}
	r.reader = reader
	src := &readerSource{r: reader, run: r}
	if r.ckpt != nil {
		src.skip = r.ckpt.skipper
	}
	if spec.replay {
		src.decode = r.decodeDeadLetter
	}
	r.src = src
	if !regular {
		r.async = newAsyncSource(src, r.stopRead)
		r.src = r.async
	}
	return nil
}

func (r *sendRun) closeInput() {
	if r.reader != nil {
		_ = r.reader.Close()
	}
	if r.inputFile != nil {
		_ = r.inputFile.Close()
	}
}

// settled is the producer's OnResult: a record delivered, dead-lettered
// or rejected moves the checkpoint; an unsent one stays for the resume.
func (r *sendRun) settled(res producer.RecordResult) {
	if r.ckpt == nil || errors.Is(res.Err, producer.ErrUnsent) || errors.Is(res.Err, producer.ErrDeadLetterWrite) {
		return
	}
	r.ckpt.tracker.Settled(res.Seq, checkpoint.Position{Offset: res.End.Offset, Line: res.End.Line})
}

// send sends what the input still holds with PutRecordBatch, with
// progress: the percentage and ETA come from the bytes read of the file.
func (r *sendRun) send(ctx context.Context) error {
	var offset func() int64
	if r.async == nil {
		offset = r.reader.InputOffset
	}
	progress := r.g.startSendProgress(ctx, r.p, r.spec.input, 0, offset)
	err := r.p.Send(ctx, r.src)
	progress.Stop()
	return err
}

// finish stops the run: it settles what an unseekable input read ahead,
// closes the producer and the sink, saves or removes the checkpoint, prints
// the summary and returns the command's outcome.
func (r *sendRun) finish(ctx context.Context, sendErr error) (ui.Summary, error) {
	if r.async != nil && (ctx.Err() != nil || sendErr != nil) {
		// Records read ahead from a pipe were read: they are dead-lettered,
		// so the summary's counts are exact.
		if err := r.p.DeadLetterUnsent(context.WithoutCancel(ctx), producer.ReasonShutdown, r.async.drain()...); err != nil {
			sendErr = errors.Join(sendErr, err)
		}
	}
	closeErr := r.p.Close(context.WithoutCancel(ctx))
	if sendErr == nil {
		sendErr = closeErr
	}
	r.closeInput()
	st := r.p.Stats()
	sum := ui.Summary{Title: r.spec.title, Stats: st, Elapsed: time.Since(r.start), DeadLetterPath: r.sink.Path(), Packed: r.spec.opts.Pack,
		ConcurrencyLimit: st.ConcurrencyLimit, StreamQuota: r.quota, LatencyP50: r.latency.Quantile(0.50), LatencyP99: r.latency.Quantile(0.99)}
	if r.ckpt != nil {
		complete := sendErr == nil && ctx.Err() == nil && st.Unsent == 0
		if err := r.ckpt.finish(complete); err != nil {
			sendErr = errors.Join(sendErr, err)
		}
		if !complete {
			sum.CheckpointPath = r.ckpt.path
		}
	}
	sum.Resumed = r.resumed
	if r.skipped > 0 {
		fmt.Fprintf(r.g.stdio.Out, "skipped %d record(s) rejected as bad input (use --include-rejected to resend them)\n", r.skipped)
	}
	if r.maybeDelivered > 0 {
		fmt.Fprintf(r.g.stdio.Out, "resent %d record(s) whose earlier outcome was unknown: they may now be stored twice\n", r.maybeDelivered)
	}
	if !r.spec.quietSummary {
		// A reader that went away (| head) is not the run's outcome: the
		// exit status still says how the send ended.
		if err := r.g.writeSummary(sum); err != nil && !errors.Is(err, syscall.EPIPE) {
			return sum, err
		}
	}
	return sum, outcome(sum, sendErrFor(sendErr, r.ckpt != nil))
}
