package infra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

func ensureStream(ctx context.Context, c Clients, o SetupOptions, id identity, roleARN string, logger *slog.Logger) (Resource, error) {
	r := Resource{Kind: KindStream, Name: o.Stream}
	desc, err := describeStream(ctx, c.Firehose, o.Stream)
	if err != nil {
		return r, err
	}
	if desc == nil {
		if r.Status, err = createStream(ctx, c.Firehose, o, id, roleARN, logger); err != nil {
			return r, err
		}
	} else {
		r.Status = StatusExists
		if got := streamBucketARN(desc); got != "" && got != bucketARN(id.partition, o.Bucket) {
			r.Note = "delivers to " + got + ", not to bucket " + o.Bucket
		}
	}
	if desc, err = waitActive(ctx, c.Firehose, o, logger); err != nil {
		return r, err
	}
	r.ARN = aws.ToString(desc.DeliveryStreamARN)
	tags, _, err := streamTags(ctx, c.Firehose, o.Stream)
	if err != nil {
		return r, err
	}
	r.Managed = isManaged(tags, o.Stream)
	if !r.Managed && r.Note == "" {
		r.Note = managedNote(tags, o.Stream)
	}
	logger.Info("delivery stream ready", slog.String("status", string(r.Status)))
	return r, nil
}

func streamBucketARN(d *fhtypes.DeliveryStreamDescription) string {
	for _, dst := range d.Destinations {
		if e := dst.ExtendedS3DestinationDescription; e != nil {
			return aws.ToString(e.BucketARN)
		}
		if s := dst.S3DestinationDescription; s != nil {
			return aws.ToString(s.BucketARN)
		}
	}
	return ""
}

// describeStream returns nil, nil when the stream does not exist.
func describeStream(ctx context.Context, fh FirehoseAPI, stream string) (*fhtypes.DeliveryStreamDescription, error) {
	out, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(stream)})
	var missing *fhtypes.ResourceNotFoundException
	switch {
	case err == nil:
		return out.DeliveryStreamDescription, nil
	case errors.As(err, &missing):
		return nil, nil
	default:
		return nil, fmt.Errorf("delivery stream %s: describe: %w", stream, err)
	}
}

// isRoleNotYetUsable reports the error Firehose returns while IAM has not yet
// propagated a new role: InvalidArgumentException "Firehose is unable to
// assume role ...".
func isRoleNotYetUsable(err error) bool {
	var inv *fhtypes.InvalidArgumentException
	return errors.As(err, &inv) && strings.Contains(strings.ToLower(inv.ErrorMessage()), "assume role")
}

func createStream(ctx context.Context, fh FirehoseAPI, o SetupOptions, id identity, roleARN string, logger *slog.Logger) (Status, error) {
	var tags []fhtypes.Tag
	for k, v := range tagsFor(o.Stream) {
		tags = append(tags, fhtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	in := &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(o.Stream),
		DeliveryStreamType: fhtypes.DeliveryStreamTypeDirectPut,
		DeliveryStreamEncryptionConfigurationInput: &fhtypes.DeliveryStreamEncryptionConfigurationInput{
			KeyType: fhtypes.KeyTypeAwsOwnedCmk,
		},
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN:         aws.String(bucketARN(id.partition, o.Bucket)),
			RoleARN:           aws.String(roleARN),
			Prefix:            aws.String(o.Prefix),
			ErrorOutputPrefix: aws.String(o.ErrorPrefix),
			BufferingHints: &fhtypes.BufferingHints{
				SizeInMBs:         aws.Int32(int32(o.BufferSizeMB)),                 //nolint:gosec // validate() keeps it within 1-128
				IntervalInSeconds: aws.Int32(int32(o.BufferInterval / time.Second)), //nolint:gosec // validate() keeps it within 0-900
			},
			CompressionFormat: fhtypes.CompressionFormatUncompressed,
			CloudWatchLoggingOptions: &fhtypes.CloudWatchLoggingOptions{
				Enabled:       aws.Bool(true),
				LogGroupName:  aws.String(LogGroupName(o.Stream)),
				LogStreamName: aws.String(LogStreamName),
			},
		},
		Tags: tags,
	}
	status := StatusCreated
	var lastErr error
	err := poll(ctx, o.RolePropagationTimeout, maxPollDelay, "create delivery stream "+o.Stream, func(ctx context.Context) (bool, error) {
		_, err := fh.CreateDeliveryStream(ctx, in)
		var inUse *fhtypes.ResourceInUseException
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &inUse):
			status = StatusExists // created concurrently since DescribeDeliveryStream
			return true, nil
		case isRoleNotYetUsable(err):
			lastErr = err
			logger.Info("Firehose cannot assume the new role yet (IAM propagation); retrying", slog.String("role", roleARN))
			return false, nil
		default:
			return false, fmt.Errorf("delivery stream %s: create: %w", o.Stream, err)
		}
	})
	if errors.Is(err, ErrTimeout) && lastErr != nil {
		return "", fmt.Errorf("%w (last error: %w)", err, lastErr)
	}
	return status, err
}

func waitActive(ctx context.Context, fh FirehoseAPI, o SetupOptions, logger *slog.Logger) (*fhtypes.DeliveryStreamDescription, error) {
	var desc *fhtypes.DeliveryStreamDescription
	err := poll(ctx, o.WaitTimeout, maxPollDelay, "wait for delivery stream "+o.Stream+" to be ACTIVE", func(ctx context.Context) (bool, error) {
		d, err := describeStream(ctx, fh, o.Stream)
		switch {
		case err != nil:
			return false, err
		case d == nil:
			return false, fmt.Errorf("delivery stream %s: %w: it disappeared", o.Stream, ErrStreamState)
		}
		desc = d
		switch d.DeliveryStreamStatus {
		case fhtypes.DeliveryStreamStatusActive:
			return true, nil
		case fhtypes.DeliveryStreamStatusCreating:
			logger.Debug("delivery stream is CREATING; waiting")
			return false, nil
		default:
			reason := ""
			if fd := d.FailureDescription; fd != nil {
				reason = fmt.Sprintf(" (%s: %s)", fd.Type, aws.ToString(fd.Details))
			}
			return false, fmt.Errorf("delivery stream %s: %w: %s%s", o.Stream, ErrStreamState, d.DeliveryStreamStatus, reason)
		}
	})
	return desc, err
}

// streamTags returns the stream's tags and whether the stream exists.
func streamTags(ctx context.Context, fh FirehoseAPI, stream string) (map[string]string, bool, error) {
	tags := map[string]string{}
	in := &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String(stream)}
	for {
		out, err := fh.ListTagsForDeliveryStream(ctx, in)
		var missing *fhtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &missing):
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("delivery stream %s: list tags: %w", stream, err)
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if !aws.ToBool(out.HasMoreTags) || len(out.Tags) == 0 {
			return tags, true, nil
		}
		in.ExclusiveStartTagKey = out.Tags[len(out.Tags)-1].Key
	}
}
