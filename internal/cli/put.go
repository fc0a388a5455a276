package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
			opts.send.LingerSet = cmd.Flags().Changed("linger")
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
	run, err := openSend(ctx, g, sendSpec{
		title:      "put: " + opts.send.Stream,
		opts:       opts.send,
		input:      opts.Input,
		deadLetter: opts.send.deadLetterPath(opts.Input),
	})
	if err != nil {
		return err
	}
	_, err = run.finish(ctx, run.send(ctx))
	return err
}
