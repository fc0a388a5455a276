package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/mockdata"
)

// generateOptions are the flags of `firehose generate`.
type generateOptions struct {
	Count  int
	Out    string
	Format string
	Seed   int64
}

func (o *generateOptions) addFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Count, "count", 5550, "number of records")
	fs.StringVar(&o.Out, "out", "sample_records.json", `output file ("-" for stdout)`)
	fs.StringVar(&o.Format, "format", "json", "json (an array, indent 2, as the reference generator writes it) or ndjson")
	fs.Int64Var(&o.Seed, "seed", 1, "random seed: the same seed gives the same records")
}

func newGenerateCommand(g *globalOptions) *cobra.Command {
	var opts generateOptions
	cmd := &cobra.Command{
		Use:   "generate [--count 5550] [--out sample_records.json] [--format json|ndjson] [--seed N]",
		Short: "Write mock network alert records (ip_address, timestamp, alert_level)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGenerate(cmd.Context(), g, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(generateFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runGenerate(_ context.Context, g *globalOptions, opts generateOptions) (err error) {
	if opts.Count < 0 {
		return usageErrorf("--count %d: must be 0 or more", opts.Count)
	}
	write := mockdata.WriteJSON
	switch opts.Format {
	case "json":
	case "ndjson":
		write = mockdata.WriteNDJSON
	default:
		return usageErrorf("--format %q: want json or ndjson", opts.Format)
	}
	w := g.stdio.Out
	if opts.Out != "-" {
		f, err := os.Create(opts.Out)
		if err != nil {
			return usageErrorf("output file: %w", err)
		}
		defer func() {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("close %s: %w", opts.Out, cerr)
			}
		}()
		w = f
	}
	if err := write(w, opts.Seed, opts.Count); err != nil {
		return fmt.Errorf("write %s: %w", opts.Out, err)
	}
	if opts.Out != "-" {
		fmt.Fprintf(g.stdio.Out, "wrote %d records to %s\n", opts.Count, opts.Out)
	}
	return nil
}
