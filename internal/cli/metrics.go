package cli

import (
	"context"
	"time"

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
		Use:   "metrics --stream NAME [--since 15m]",
		Short: "Report the stream's CloudWatch metrics (IncomingBytes, IncomingRecords, ...)",
		Long: `Query CloudWatch (GetMetricData, namespace AWS/Firehose, dimension DeliveryStreamName) for
IncomingBytes, IncomingRecords, IncomingPutRequests, ThrottledRecords and the DeliveryToS3 metrics.
FailedPutCount is not a CloudWatch metric (it is a field of PutRecordBatch responses): the scenario
and put commands report it from the responses. CloudWatch lags by a few minutes.`,
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
		return usageErrorf("--cloudwatch-protocol: %w", err)
	}
	cfg, err := awsconf.Load(ctx, awsOpts)
	if err != nil {
		return usageErrorf("%w", err)
	}
	now := time.Now()
	report, err := cwmetrics.Fetch(ctx, awsconf.CloudWatch(cfg, awsOpts), cwmetrics.Query{
		Stream: opts.Stream, Start: now.Add(-opts.Since), End: now, Period: opts.Period,
	})
	if err != nil {
		return err
	}
	return cwmetrics.Render(g.stdio.Out, report, cwmetrics.ClientSide{})
}
