package infra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func ensureBucket(ctx context.Context, c Clients, o SetupOptions, id identity, logger *slog.Logger) (Resource, error) {
	r := Resource{Kind: KindBucket, Name: o.Bucket, ARN: bucketARN(id.partition, o.Bucket)}
	_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.Bucket)})
	switch {
	case err == nil:
		r.Status = StatusExists
	case httpStatus(err) == http.StatusNotFound:
		if r.Status, err = createBucket(ctx, c, o); err != nil {
			return r, err
		}
	case httpStatus(err) == http.StatusForbidden:
		return r, fmt.Errorf("bucket %s: %w: %w", o.Bucket, ErrBucketNotOwned, err)
	case httpStatus(err) == http.StatusMovedPermanently:
		return r, fmt.Errorf("bucket %s: %w: it exists in a region other than %s (or in another account): %w", o.Bucket, ErrBucketNotOwned, orDefault(c.Region, "us-east-1"), err)
	default:
		return r, fmt.Errorf("bucket %s: head: %w", o.Bucket, err)
	}

	tags, exists, err := bucketTags(ctx, c.S3, o.Bucket)
	if err != nil {
		return r, err
	}
	if !exists {
		return r, fmt.Errorf("bucket %s: disappeared during setup", o.Bucket)
	}
	if r.Status == StatusCreated && len(tags) == 0 {
		if err := putBucketTags(ctx, c.S3, o); err != nil {
			return r, err
		}
		tags = tagsFor(o.Stream)
	}
	r.Managed = isManaged(tags, o.Stream)
	if !r.Managed {
		r.Note = managedNote(tags, o.Stream) + "; used as it is"
		logger.Warn("bucket exists and was not created by setup; using it unchanged", slog.String("bucket", o.Bucket))
		return r, nil
	}
	// Encryption and the public access block are set after the tags, so an
	// interrupted first run leaves a tagged bucket that a second run completes.
	if _, err := c.S3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(o.Bucket),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
			Rules: []s3types.ServerSideEncryptionRule{{
				ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
			}},
		},
	}); err != nil {
		return r, fmt.Errorf("bucket %s: enable default encryption: %w", o.Bucket, err)
	}
	if _, err := c.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket: aws.String(o.Bucket),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls:       aws.Bool(true),
			BlockPublicPolicy:     aws.Bool(true),
			IgnorePublicAcls:      aws.Bool(true),
			RestrictPublicBuckets: aws.Bool(true),
		},
	}); err != nil {
		return r, fmt.Errorf("bucket %s: block public access: %w", o.Bucket, err)
	}
	logger.Info("bucket ready", slog.String("bucket", o.Bucket), slog.String("status", string(r.Status)))
	return r, nil
}

func createBucket(ctx context.Context, c Clients, o SetupOptions) (Status, error) {
	in := &s3.CreateBucketInput{Bucket: aws.String(o.Bucket)}
	// us-east-1 is the one region that refuses an explicit location.
	if c.Region != "" && c.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(c.Region),
		}
	}
	_, err := c.S3.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	var taken *s3types.BucketAlreadyExists
	switch {
	case err == nil:
		return StatusCreated, nil
	case errors.As(err, &owned):
		return StatusExists, nil
	case errors.As(err, &taken):
		return "", fmt.Errorf("bucket %s: %w: %w", o.Bucket, ErrBucketNotOwned, err)
	default:
		return "", fmt.Errorf("bucket %s: create: %w", o.Bucket, err)
	}
}

func putBucketTags(ctx context.Context, s3c S3API, o SetupOptions) error {
	var tagSet []s3types.Tag
	for k, v := range tagsFor(o.Stream) {
		tagSet = append(tagSet, s3types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
		Bucket:  aws.String(o.Bucket),
		Tagging: &s3types.Tagging{TagSet: tagSet},
	}); err != nil {
		return fmt.Errorf("bucket %s: tag: %w", o.Bucket, err)
	}
	return nil
}

// bucketTags returns the bucket's tags and whether the bucket exists.
func bucketTags(ctx context.Context, s3c S3API, bucket string) (map[string]string, bool, error) {
	out, err := s3c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
	case errorCode(err) == "NoSuchTagSet":
		return map[string]string{}, true, nil
	case errorCode(err) == "NoSuchBucket" || httpStatus(err) == http.StatusNotFound:
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("bucket %s: read tags: %w", bucket, err)
	}
	tags := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, true, nil
}
