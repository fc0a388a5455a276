package cli

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/producer"
)

// replayOptions are the flags of `firehose replay`.
type replayOptions struct {
	send            sendOptions
	File            string
	IncludeRejected bool
}

func (o *replayOptions) addFlags(fs *pflag.FlagSet) {
	o.send.addFlags(fs)
	fs.BoolVar(&o.IncludeRejected, "include-rejected", false, `also resend records rejected as bad input ("invalid-json", "too-large"), as they are: invalid JSON stays invalid in S3; skipped by default`)
}

func newReplayCommand(g *globalOptions) *cobra.Command {
	var opts replayOptions
	cmd := &cobra.Command{
		Use:   "replay --stream NAME DEADLETTERFILE",
		Short: "Resend the records of a dead-letter file",
		Long: `Resend the records of a dead-letter file written by put or scenario, with the same guarantees:
only failed records are resent, and what still cannot be delivered goes to a new dead-letter file
(DEADLETTERFILE without its extension + ".replay.ndjson", or --dead-letter). Records rejected as bad
input are skipped unless --include-rejected.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			return runReplay(cmd.Context(), g, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	// A dead-letter file is always NDJSON of dead letters, not records.
	_ = cmd.Flags().MarkHidden("format")
	cmd.Flags().Lookup("dead-letter").Usage = "NDJSON file for records that still cannot be delivered (default: DEADLETTERFILE without its extension + .replay.ndjson)"
	return cmd
}

func runReplay(ctx context.Context, g *globalOptions, opts replayOptions) error {
	if err := opts.send.validate(); err != nil {
		return err
	}
	f, err := os.Open(opts.File)
	if err != nil {
		return usageErrorf("dead-letter file: %w", err)
	}
	defer f.Close()

	dlPath := opts.send.DeadLetter
	if dlPath == "" {
		dlPath = strings.TrimSuffix(opts.File, filepath.Ext(opts.File)) + ".replay.ndjson"
	}
	if sameFile(dlPath, opts.File) {
		return usageErrorf("--dead-letter %s is the file being replayed: choose another", dlPath)
	}
	cfg, err := awsconf.Load(ctx, g.awsOptions())
	if err != nil {
		return usageErrorf("%w", err)
	}
	p, sink, err := newSender(ctx, g, cfg, opts.send, dlPath)
	if err != nil {
		return err
	}

	src := newDeadLetterSource(opts.File, f, opts.IncludeRejected)
	start := time.Now()
	sendErr := sendWithProgress(ctx, g, p, "replay", src, src)
	src.stop()
	closeErr := p.Close(context.WithoutCancel(ctx))
	if sendErr == nil {
		sendErr = closeErr
	}
	if src.skipped > 0 {
		fmt.Fprintf(g.stdio.Out, "skipped %d record(s) rejected as bad input (use --include-rejected to resend them)\n", src.skipped)
	}
	return finish(g.stdio.Out, g.logger, summaryFrom("replay: "+opts.send.Stream, p.Stats(), time.Since(start), sink.Path()), sendErrFor(sendErr))
}

// deadLetterSource yields the records of a dead-letter file, keeping their
// original Seq and Source so the new accounting still names them.
type deadLetterSource struct {
	name            string
	next            func() (producer.DeadLetter, error, bool)
	stop            func()
	includeRejected bool
	skipped         int64
}

func newDeadLetterSource(name string, r io.Reader, includeRejected bool) *deadLetterSource {
	next, stop := iter.Pull2(producer.ReadDeadLetters(r))
	return &deadLetterSource{name: name, next: next, stop: stop, includeRejected: includeRejected}
}

func (s *deadLetterSource) Next(ctx context.Context) (producer.Record, error) {
	for {
		if err := ctx.Err(); err != nil {
			return producer.Record{}, err
		}
		dl, err, ok := s.next()
		if !ok {
			return producer.Record{}, io.EOF
		}
		if err != nil {
			return producer.Record{}, fmt.Errorf("%s: %w", s.name, err)
		}
		if !s.includeRejected && (dl.Reason == producer.ReasonInvalidJSON || dl.Reason == producer.ReasonTooLarge) {
			s.skipped++
			continue
		}
		return producer.Record{Seq: dl.Seq, Source: dl.Source, Data: dl.Data}, nil
	}
}

func sameFile(a, b string) bool {
	ai, err1 := os.Stat(a)
	bi, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(ai, bi)
}
