package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/producer"
)

// quotaTimeout bounds the CloudWatch read of the stream's quota.
const quotaTimeout = 5 * time.Second

// The send waits for the quota after the stream check has answered at
// most minQuotaGrace, or quotaGraceRTTs times as long as the check took if
// that is longer. A CloudWatch endpoint that does not answer (a network
// with a route to Firehose only) must not hold up every run.
const (
	minQuotaGrace  = time.Second
	quotaGraceRTTs = 3
)

// quotaLookup reads the stream's quota from CloudWatch's limit metrics
// while the stream check runs. The quota is zero (not known) when the
// stream had no traffic in the 455 days CloudWatch keeps them, when they
// predate the stream (an earlier stream of its name), or when the read
// fails or takes too long (a policy without cloudwatch:GetMetricData, no
// CloudWatch at the endpoint or no route to it): the rate control then
// finds the quota by itself. A nil *quotaLookup (--no-quota-lookup) knows
// no quota.
type quotaLookup struct {
	stream  string
	logger  *slog.Logger
	started time.Time
	cancel  context.CancelFunc
	done    chan producer.Quota
}

// startQuotaLookup starts the read, at the same time as the stream check.
func startQuotaLookup(ctx context.Context, cfg aws.Config, awsOpts awsconf.Options, stream string, logger *slog.Logger) *quotaLookup {
	ctx, cancel := context.WithTimeout(ctx, quotaTimeout)
	l := &quotaLookup{stream: stream, logger: logger, started: time.Now(), cancel: cancel, done: make(chan producer.Quota, 1)}
	go func() {
		q, err := producer.ReadQuota(ctx, awsconf.CloudWatch(cfg, awsOpts), stream)
		switch {
		case err != nil:
			logger.Debug("stream quota: not read from CloudWatch; the rate control finds it", "stream", stream, "error", err.Error())
		case !q.Known():
			logger.Debug("stream quota: no limit metrics in CloudWatch (no traffic in 455 days); the rate control finds it", "stream", stream)
		default:
			logger.Debug("stream quota from CloudWatch", "stream", stream, "bytes_per_second", q.BytesPerSecond,
				"records_per_second", q.RecordsPerSecond, "requests_per_second", q.RequestsPerSecond, "as_of", q.AsOf)
		}
		l.done <- q
	}()
	return l
}

// wait returns the quota, called when the stream check has answered: the
// check took as long as the read has run so far, which sets the grace.
// created is the stream's creation time from the check (zero: not known).
func (l *quotaLookup) wait(created time.Time) producer.Quota {
	if l == nil {
		return producer.Quota{}
	}
	defer l.cancel()
	grace := max(minQuotaGrace, quotaGraceRTTs*time.Since(l.started))
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case q := <-l.done:
		if q.Predates(created) {
			l.logger.Debug("stream quota: the limit metrics in CloudWatch predate the stream (an earlier stream of its name); the rate control finds it",
				"stream", l.stream, "as_of", q.AsOf, "created", created)
			return producer.Quota{}
		}
		return q
	case <-timer.C:
		l.logger.Debug("stream quota: CloudWatch did not answer in time; the rate control finds it", "stream", l.stream, "waited", grace)
		return producer.Quota{}
	}
}

// stop ends the read without waiting for it (the stream check failed).
func (l *quotaLookup) stop() {
	if l != nil {
		l.cancel()
	}
}
