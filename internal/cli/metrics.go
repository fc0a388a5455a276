package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/cwmetrics"
)

// metricsOptions are the flags of `firehose metrics`.
type metricsOptions struct {
	Stream             string
	Since              time.Duration
	Period             time.Duration
	CloudWatchProtocol string
}

func (o *metricsOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Stream, "stream", "", "delivery stream name (required)")
	fs.DurationVar(&o.Since, "since", 15*time.Minute, "report the metrics of this last stretch of time")
	fs.DurationVar(&o.Period, "period", time.Minute, "datapoint period (a multiple of 60s)")
	fs.StringVar(&o.CloudWatchProtocol, "cloudwatch-protocol", "auto", "CloudWatch wire protocol: auto (JSON 1.0 when --endpoint-url is set, else the SDK's CBOR), cbor or json")
}

func newMetricsCommand(g *globalOptions) *cobra.Command {
	var opts metricsOptions
	cmd := &cobra.Command{
		Use:   "metrics --stream NAME [--since 15m] [--output json]",
		Short: "Report the stream's CloudWatch metrics (IncomingBytes, IncomingRecords, ...)",
		Long: `Query CloudWatch (GetMetricData, namespace AWS/Firehose, dimension DeliveryStreamName) for
IncomingBytes, IncomingRecords, IncomingPutRequests, ThrottledRecords and the DeliveryToS3 metrics.
FailedPutCount is not a CloudWatch metric (it is a field of PutRecordBatch responses): the scenario
and put commands report it from the responses. CloudWatch lags by a few minutes.
The report shows each metric's total and a chart over the range, then a row per period with data;
--output json prints every datapoint instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMetrics(cmd.Context(), g, opts)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

func runMetrics(ctx context.Context, g *globalOptions, opts metricsOptions) error {
	if opts.Stream == "" {
		return usageErrorf("--stream is required")
	}
	if opts.Since <= 0 {
		return usageErrorf("--since %s: must be positive", opts.Since)
	}
	if opts.Period < time.Minute || opts.Period%time.Minute != 0 {
		return usageErrorf("--period %s: must be a whole number of minutes (1m, 5m, ...)", opts.Period)
	}
	awsOpts := g.awsOptions()
	awsOpts.CloudWatchProtocol = opts.CloudWatchProtocol
	if err := awsOpts.Validate(); err != nil {
		if errors.Is(err, awsconf.ErrUnknownProtocol) {
			return usageErrorf("--cloudwatch-protocol: %w", err)
		}
		return usageErrorf("%w", err)
	}
	cfg, err := awsconf.Load(ctx, awsOpts)
	if err != nil {
		return usageErrorf("%w", err)
	}
	if err := checkStreamExists(ctx, awsconf.Firehose(cfg), opts.Stream, cfg.Region, g.logger); err != nil {
		return err
	}
	now := time.Now()
	report, err := cwmetrics.Fetch(ctx, awsconf.CloudWatch(cfg, awsOpts), cwmetrics.Query{
		Stream: opts.Stream, Start: now.Add(-opts.Since), End: now, Period: opts.Period,
	})
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return cwmetrics.RenderJSON(g.stdio.Out, report, cwmetrics.ClientSide{})
	}
	return cwmetrics.Render(g.stdio.Out, report, cwmetrics.ClientSide{})
}

// checkStreamExists fails (exit 2) when the delivery stream does not exist:
// CloudWatch has no datapoints for a stream it never heard of and would
// only say "no datapoints yet". Any other error of the check (a policy
// without firehose:DescribeDeliveryStream) only warns.
func checkStreamExists(ctx context.Context, client *firehose.Client, stream, region string, logger *slog.Logger) error {
	_, err := client.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(stream)})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
		return nil
	case errors.As(err, &notFound):
		return &exitError{code: exitFatal, err: fmt.Errorf("delivery stream %q does not exist in region %s", stream, region)}
	case ctx.Err() != nil:
		return ctx.Err()
	}
	logger.Warn("could not check that the delivery stream exists; reading its metrics anyway", "stream", stream, "error", err.Error())
	return nil
}
