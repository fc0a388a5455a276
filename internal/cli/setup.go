package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/infra"
	"github.com/firehose-tools/firehose/internal/ui"
)

// setupOptions are the flags of `firehose setup`.
type setupOptions struct {
	infra.SetupOptions
}

func (o *setupOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Stream, "stream", "", "delivery stream name to create (required)")
	fs.StringVar(&o.Bucket, "bucket", "", "destination S3 bucket to create, globally unique (required)")
	fs.StringVar(&o.RoleName, "role-name", "", "IAM role Firehose assumes to write to the bucket (default: firehose-<stream>-delivery)")
	fs.StringVar(&o.Prefix, "prefix", infra.DefaultPrefix, "S3 key prefix of delivered objects")
	fs.StringVar(&o.ErrorPrefix, "error-prefix", infra.DefaultErrorPrefix, "S3 key prefix of records Firehose could not deliver")
	fs.IntVar(&o.BufferSizeMB, "buffer-size-mb", infra.DefaultBufferSizeMB, "buffering size hint in MiB, 1 to 128: Firehose writes an object when this much is buffered")
	fs.DurationVar(&o.BufferInterval, "buffer-interval", infra.DefaultBufferInterval, "buffering interval hint, 1s to 900s: Firehose writes an object at least this often")
	fs.DurationVar(&o.WaitTimeout, "wait-timeout", infra.DefaultWaitTimeout, "how long to wait for the delivery stream to become ACTIVE")
}

func newSetupCommand(g *globalOptions) *cobra.Command {
	var opts setupOptions
	cmd := &cobra.Command{
		Use:   "setup --stream NAME --bucket NAME [--output json]",
		Short: "Create the S3 bucket, IAM role and delivery stream the scenario sends to",
		Long: `Create an S3 bucket (SSE-S3 encryption, public access blocked), an IAM role Firehose can assume
with a policy scoped to that bucket and the stream's log group, and a DirectPut delivery stream with an
ExtendedS3 destination, then wait until the stream is ACTIVE. Everything created is tagged
firehose-tool:managed=true and firehose-tool:stream=NAME, so that "firehose teardown" removes exactly
that. Running setup again changes nothing.

The stream logs delivery errors to the CloudWatch Logs group /aws/kinesisfirehose/NAME, which setup
does not create; create it yourself, or use deploy/firehose-stack.yaml, which does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSetup(cmd.Context(), g, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runSetup(ctx context.Context, g *globalOptions, opts setupOptions) error {
	if opts.Stream == "" || opts.Bucket == "" {
		return usageErrorf("setup needs --stream and --bucket")
	}
	// Zero means "default" in infra; from the command line 0s is a mistake.
	if opts.BufferInterval <= 0 {
		return usageErrorf("--buffer-interval must be at least 1s, got %s", opts.BufferInterval)
	}
	clients, err := infraClients(ctx, g)
	if err != nil {
		return err
	}
	res, err := infra.Setup(ctx, clients, opts.SetupOptions, g.logger)
	if errors.Is(err, infra.ErrInvalidOptions) {
		return usageErrorf("%w", err)
	}
	if werr := g.writeResources(res.Resources(), true, -1); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	return nil
}

// resourceJSON is one resource in the --output json document of setup and
// teardown.
type resourceJSON struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	ARN     string `json:"arn,omitempty"`
	Status  string `json:"status"`
	Managed bool   `json:"managed"`
	Note    string `json:"note,omitempty"`
}

// writeResources shows the resources handled (those with a status): a table
// on stdout, or with --output json one document {"resources": [...]} with
// "objects_deleted" when objectsDeleted is not negative.
func (g *globalOptions) writeResources(resources []infra.Resource, withARN bool, objectsDeleted int64) error {
	if !g.jsonOutput() {
		return writeResourceTable(g.stdio.Out, resources, withARN)
	}
	doc := struct {
		Resources      []resourceJSON `json:"resources"`
		ObjectsDeleted *int64         `json:"objects_deleted,omitempty"`
	}{Resources: []resourceJSON{}}
	for _, r := range resources {
		if r.Status == "" {
			continue
		}
		doc.Resources = append(doc.Resources, resourceJSON{
			Kind: string(r.Kind), Name: r.Name, ARN: r.ARN, Status: string(r.Status), Managed: r.Managed, Note: r.Note,
		})
	}
	if objectsDeleted >= 0 {
		doc.ObjectsDeleted = &objectsDeleted
	}
	return ui.WriteJSON(g.stdio.Out, doc)
}

// infraClients builds the clients setup and teardown need from the global
// flags. STS is built here because awsconf has no helper for it; it takes the
// endpoint override from cfg.BaseEndpoint like the other clients.
func infraClients(ctx context.Context, g *globalOptions) (infra.Clients, error) {
	cfg, err := awsconf.Load(ctx, g.awsOptions())
	if err != nil {
		return infra.Clients{}, usageErrorf("%w", err)
	}
	return infra.Clients{
		Firehose: awsconf.Firehose(cfg),
		S3:       awsconf.S3(cfg),
		IAM:      awsconf.IAM(cfg),
		STS:      sts.NewFromConfig(cfg),
		Region:   cfg.Region,
	}, nil
}

// writeResourceTable prints one line per resource handled (those with a
// status), with its ARN when withARN, then the notes.
func writeResourceTable(w io.Writer, resources []infra.Resource, withARN bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "RESOURCE\tNAME\tSTATUS"
	if withARN {
		header += "\tARN"
	}
	fmt.Fprintln(tw, header)
	var notes []string
	for _, r := range resources {
		if r.Status == "" {
			continue
		}
		line := fmt.Sprintf("%s\t%s\t%s", r.Kind, r.Name, r.Status)
		if withARN {
			arn := r.ARN
			if arn == "" {
				arn = "-"
			}
			line += "\t" + arn
		}
		fmt.Fprintln(tw, line)
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("note: %s %s: %s", r.Kind, r.Name, r.Note))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for _, n := range notes {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	return nil
}
