package cli

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/producer"
)

// putOptions are the flags of `firehose put`.
type putOptions struct {
	send  sendOptions
	Input string
}

func (o *putOptions) addFlags(fs *pflag.FlagSet) {
	o.send.addFlags(fs)
}

func newPutCommand(g *globalOptions) *cobra.Command {
	var opts putOptions
	cmd := &cobra.Command{
		Use:   "put --stream NAME [FILE|-]",
		Short: "Send records from a file or stdin with PutRecordBatch",
		Long: `Send every record of FILE (a JSON array or NDJSON; "-" or nothing for stdin) to the delivery
stream with PutRecordBatch: batches of at most --batch-size records and 4 MiB, only failed records
resent with back-off, undeliverable records written to the dead-letter file. Reading stdin, a partial
batch goes out after --linger without new input, so "tail -F app.log | firehose put --stream s -" works.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Input = args[0]
			}
			return runPut(cmd.Context(), g, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runPut(ctx context.Context, g *globalOptions, opts putOptions) error {
	if err := opts.send.validate(); err != nil {
		return err
	}
	reader, closeInput, err := openInput(opts.Input, opts.send.Format, g.stdio.In)
	if err != nil {
		return err
	}
	defer func() { _ = closeInput() }()

	cfg, err := awsconf.Load(ctx, g.awsOptions())
	if err != nil {
		return usageErrorf("%w", err)
	}
	p, sink, err := newSender(ctx, g, cfg, opts.send, opts.send.deadLetterPath(opts.Input))
	if err != nil {
		return err
	}

	start := time.Now()
	var src producer.Source = readerSource{r: reader}
	unsent := src // what to dead-letter after an interrupt: the rest of a file
	if opts.Input == "" || opts.Input == "-" {
		// A read from stdin may block for ever (tail -F): read ahead in
		// a goroutine so that a signal stops the send at once, and after
		// it dead-letter only what was already read.
		async := newAsyncSource(src)
		src, unsent = async, async.readAhead()
	}
	sendErr := sendWithProgress(ctx, g, p, "PutRecordBatch", src, unsent)
	closeErr := p.Close(context.WithoutCancel(ctx))
	elapsed := time.Since(start)
	if sendErr == nil {
		sendErr = closeErr
	}
	return finish(g.stdio.Out, g.logger, summaryFrom("put: "+opts.send.Stream, p.Stats(), elapsed, sink.Path()), sendErrFor(sendErr))
}

// sendErrFor maps the producer's outcome to the command's: cancellation
// is reported by the exit code (130/143) after the summary, a fatal error
// exits 2 with its message, anything else is returned as is.
func sendErrFor(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, producer.ErrDeadLetterWrite) {
		return err // records lost: say so, whatever else happened
	}
	if errors.Is(err, context.Canceled) {
		return &exitError{code: 130, err: errors.New("interrupted: records not yet delivered were written to the dead-letter file")}
	}
	if errors.Is(err, producer.ErrNotDelivered) {
		return nil // reported by the summary, exit 1
	}
	return err
}
