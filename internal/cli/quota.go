package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/cwmetrics"
	"github.com/firehose-tools/firehose/producer"
)

// quotaTimeout bounds the CloudWatch read of the stream's quota.
const quotaTimeout = 5 * time.Second

// quotaGrace is how long the send waits for the quota after the stream
// check has answered: at least minQuotaGrace, and quotaGraceRTTs times as
// long as the check took. A CloudWatch endpoint that does not answer (a
// network with a route to Firehose only) must not hold up every run.
func quotaGrace(check time.Duration) time.Duration {
	return max(minQuotaGrace, quotaGraceRTTs*check)
}

const (
	minQuotaGrace  = time.Second
	quotaGraceRTTs = 3
)

// lookupQuota starts reading the stream's quota from CloudWatch's limit
// metrics and returns a function that waits for it, at most grace (zero:
// stops the read without waiting), and must be called once. The
// quota is zero (not known) when the stream had no traffic in the last
// day, or when the read fails or takes longer (a policy without
// cloudwatch:GetMetricData, no CloudWatch at the endpoint or no route to
// it): the rate control then finds the quota by itself.
func lookupQuota(ctx context.Context, cfg aws.Config, awsOpts awsconf.Options, stream string, logger *slog.Logger) func(grace time.Duration) cwmetrics.Quota {
	ctx, cancel := context.WithTimeout(ctx, quotaTimeout)
	done := make(chan cwmetrics.Quota, 1)
	go func() {
		q, err := cwmetrics.FetchQuota(ctx, awsconf.CloudWatch(cfg, awsOpts), stream, time.Now())
		switch {
		case err != nil:
			logger.Debug("stream quota: not read from CloudWatch; the rate control finds it", "stream", stream, "error", err.Error())
		case !q.Known():
			logger.Debug("stream quota: no limit metrics in CloudWatch (no traffic in the last day); the rate control finds it", "stream", stream)
		default:
			logger.Debug("stream quota from CloudWatch", "stream", stream, "bytes_per_second", q.BytesPerSecond,
				"records_per_second", q.RecordsPerSecond, "requests_per_second", q.RequestsPerSecond, "as_of", q.At)
		}
		done <- q
	}()
	return func(grace time.Duration) cwmetrics.Quota {
		defer cancel()
		if grace <= 0 {
			return cwmetrics.Quota{}
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case q := <-done:
			return q
		case <-timer.C:
			logger.Debug("stream quota: CloudWatch did not answer in time; the rate control finds it", "stream", stream, "waited", grace)
			return cwmetrics.Quota{}
		}
	}
}

// withQuota returns the options with the stream's known quota as their
// static limits: each of the three --max-*-per-second flags is lowered to
// the quota where it is unset or higher. A bytes/s quota under what the
// producer accepts as a limit is left to the rate control.
func (o sendOptions) withQuota(q cwmetrics.Quota) sendOptions {
	binds := func(flag, quota float64) bool { return quota >= 1 && (flag <= 0 || quota < flag) }
	if binds(float64(o.MaxBytesPerSecond), q.BytesPerSecond) && q.BytesPerSecond >= producer.MinBytesPerSecond {
		o.MaxBytesPerSecond = int64(q.BytesPerSecond)
	}
	if binds(float64(o.MaxRecordsPerSecond), q.RecordsPerSecond) {
		o.MaxRecordsPerSecond = int(q.RecordsPerSecond)
	}
	if binds(float64(o.MaxRequestsPerSecond), q.RequestsPerSecond) {
		o.MaxRequestsPerSecond = int(q.RequestsPerSecond)
	}
	return o
}
