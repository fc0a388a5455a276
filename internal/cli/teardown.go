package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/infra"
)

// teardownOptions are the flags of `firehose teardown`.
type teardownOptions struct {
	infra.TeardownOptions
	// Yes deletes the bucket without asking.
	Yes bool

	// stdinIsTerminal reports whether the prompt can be answered; nil means
	// "is g.stdio.In a terminal". Tests replace it.
	stdinIsTerminal func(io.Reader) bool
}

func (o *teardownOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Stream, "stream", "", "delivery stream to delete (required)")
	fs.StringVar(&o.Bucket, "bucket", "", "S3 bucket to empty and delete (required unless --keep-bucket)")
	fs.StringVar(&o.RoleName, "role-name", "", "IAM role to delete (default: firehose-<stream>-delivery)")
	fs.BoolVarP(&o.Yes, "yes", "y", false, "delete the bucket and its objects without asking (needed when stdin is not a terminal)")
	fs.BoolVar(&o.KeepBucket, "keep-bucket", false, "leave the bucket and its objects in place")
	fs.DurationVar(&o.WaitTimeout, "wait-timeout", infra.DefaultWaitTimeout, "how long to wait for the delivery stream to be deleted")
}

func newTeardownCommand(g *globalOptions) *cobra.Command {
	var opts teardownOptions
	cmd := &cobra.Command{
		Use:   "teardown --stream NAME --bucket NAME",
		Short: "Delete the delivery stream, S3 bucket and IAM role that setup created",
		Long: `Delete the delivery stream (and wait until it is gone), empty and delete the S3 bucket, and delete
the IAM role with its policies. Only resources tagged by "firehose setup" for this stream are deleted:
if one of them is not, teardown deletes nothing and says which and why. Resources that do not exist
are reported as gone.

Before deleting the bucket teardown asks on the terminal; with --yes it does not ask, and without a
terminal --yes (or --keep-bucket) is required.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTeardown(cmd.Context(), g, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runTeardown(ctx context.Context, g *globalOptions, opts teardownOptions) error {
	if opts.Stream == "" || (opts.Bucket == "" && !opts.KeepBucket) {
		return usageErrorf("teardown needs --stream and --bucket (or --keep-bucket)")
	}
	clients, err := infraClients(ctx, g)
	if err != nil {
		return err
	}
	var confirm infra.ConfirmFunc
	if !opts.Yes {
		confirm = teardownPrompt(g.stdio, opts.stdinIsTerminal)
	}
	res, err := infra.Teardown(ctx, clients, opts.TeardownOptions, confirm, g.logger)
	switch {
	case errors.Is(err, infra.ErrInvalidOptions), errors.Is(err, infra.ErrNotConfirmed):
		return usageErrorf("%w", err)
	case errors.Is(err, infra.ErrNotManaged):
		// Nothing was deleted: the table would only say "Gone" for all.
		return fmt.Errorf("teardown: %w", err)
	}
	if werr := g.writeResources(res.Resources(), false, int64(res.ObjectsDeleted)); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("teardown: %w", err)
	}
	if res.ObjectsDeleted > 0 && !g.jsonOutput() {
		fmt.Fprintf(g.stdio.Out, "deleted %d objects from bucket %s\n", res.ObjectsDeleted, opts.Bucket)
	}
	return nil
}

// teardownPrompt asks "Delete bucket B and its N objects? [y/N]" on stderr
// and reads the answer from stdin; without a terminal on stdin it refuses
// with infra.ErrNotConfirmed, since nobody could answer.
func teardownPrompt(stdio Stdio, isTerminal func(io.Reader) bool) infra.ConfirmFunc {
	if isTerminal == nil {
		isTerminal = readerIsTerminal
	}
	return func(bucket string, objects int) (bool, error) {
		if !isTerminal(stdio.In) {
			return false, fmt.Errorf("%w: stdin is not a terminal, so nobody can confirm deleting bucket %s and its %d objects: pass --yes to delete it or --keep-bucket to keep it",
				infra.ErrNotConfirmed, bucket, objects)
		}
		fmt.Fprintf(stdio.Err, "Delete bucket %s and its %d objects? [y/N] ", bucket, objects)
		line, err := bufio.NewReader(stdio.In).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("read answer: %w", err)
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "y" || answer == "yes", nil
	}
}

func readerIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
