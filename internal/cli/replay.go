package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/producer"
	"github.com/firehose-tools/firehose/records"
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
			opts.send.LingerSet = cmd.Flags().Changed("linger")
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
	if _, err := os.Stat(opts.File); err != nil {
		return usageErrorf("dead-letter file: %w", err)
	}
	dlPath := opts.send.DeadLetter
	if dlPath == "" {
		dlPath = strings.TrimSuffix(opts.File, filepath.Ext(opts.File)) + ".replay.ndjson"
	}
	if sameFile(dlPath, opts.File) {
		return usageErrorf("--dead-letter %s is the file being replayed: choose another", dlPath)
	}
	run, err := openSend(ctx, g, sendSpec{
		title:           "replay: " + opts.send.Stream,
		opts:            opts.send,
		input:           opts.File,
		deadLetter:      dlPath,
		replay:          true,
		includeRejected: opts.IncludeRejected,
	})
	if err != nil {
		return err
	}
	_, err = run.finish(ctx, run.send(ctx))
	return err
}

// decodeDeadLetter turns one line of a dead-letter file into the record to
// send again; ok is false for a record rejected as bad input (not resent
// unless --include-rejected). A line that is not a dead letter is rejected
// with its line number, and the replay goes on.
func (r *sendRun) decodeDeadLetter(rec records.Record) (producer.Record, bool, error) {
	var dl producer.DeadLetter
	if err := json.Unmarshal(rec.Data, &dl); err != nil {
		return producer.Record{}, false, &producer.InvalidRecordError{
			Record: producer.Record{Seq: rec.Seq, Source: r.reader.Source(rec.Position), Data: append([]byte(nil), rec.Data...)},
			Reason: producer.ReasonInvalidDeadLetter,
			Err:    err,
		}
	}
	if !r.spec.includeRejected && (dl.Reason == producer.ReasonInvalidJSON || dl.Reason == producer.ReasonTooLarge) {
		r.skipped++
		return producer.Record{}, false, nil
	}
	if dl.MaybeDelivered {
		r.maybeDelivered++
	}
	// The record keeps its original name; its Seq is its line in this file,
	// where a resume finds it.
	source := dl.Source
	if source == "" {
		source = fmt.Sprintf("#%d", dl.Seq)
	}
	return producer.Record{Seq: rec.Seq, Source: source, Data: dl.Data}, true, nil
}

func sameFile(a, b string) bool {
	ai, err1 := os.Stat(a)
	bi, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(ai, bi)
}
