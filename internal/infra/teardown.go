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
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TeardownOptions say what Teardown deletes. Zero fields take the defaults
// named on each.
type TeardownOptions struct {
	// Stream is the delivery stream name (required).
	Stream string
	// Bucket is the S3 bucket name (required unless KeepBucket).
	Bucket string
	// RoleName is the IAM role; default DefaultRoleName(Stream).
	RoleName string
	// KeepBucket leaves the bucket and its objects in place (and skips its
	// tag check); default false.
	KeepBucket bool
	// WaitTimeout bounds the wait for the stream to disappear; default 5m.
	WaitTimeout time.Duration
}

// TeardownResult reports each resource and what Teardown did with it.
type TeardownResult struct {
	Stream Resource
	Bucket Resource
	Role   Resource
	// ObjectsDeleted counts the object versions and delete markers removed
	// from the bucket.
	ObjectsDeleted int
}

// Resources lists the resources in the order Teardown handles them; a
// resource with an empty Status (the bucket with KeepBucket and no Bucket
// name) was not considered.
func (r TeardownResult) Resources() []Resource {
	return []Resource{r.Stream, r.Bucket, r.Role}
}

// ConfirmFunc is asked once before the bucket is emptied and deleted, with
// the number of objects (versions included) it holds. false keeps the bucket;
// an error stops Teardown before it deletes anything. A nil ConfirmFunc
// means yes.
type ConfirmFunc func(bucket string, objects int) (bool, error)

// Teardown deletes the delivery stream (and waits until it is gone), empties
// and deletes the bucket, and deletes the role (its inline policies first,
// and any attached managed policies are detached). Resources that do not
// exist are reported with StatusGone.
//
// Before deleting anything it checks that every existing resource carries
// Setup's tags for this stream; if one does not, it deletes nothing and
// returns an error wrapping ErrNotManaged that names each such resource and
// why. Then confirm is asked about the bucket; only then does deletion start.
func Teardown(ctx context.Context, c Clients, o TeardownOptions, confirm ConfirmFunc, logger *slog.Logger) (TeardownResult, error) {
	logger = discardIfNil(logger).With(slog.String("stream", o.Stream))
	if o.RoleName == "" {
		o.RoleName = DefaultRoleName(o.Stream)
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = DefaultWaitTimeout
	}
	res := TeardownResult{
		Stream: Resource{Kind: KindStream, Name: o.Stream, Status: StatusGone},
		Bucket: Resource{Kind: KindBucket, Name: o.Bucket, Status: StatusGone},
		Role:   Resource{Kind: KindRole, Name: o.RoleName, Status: StatusGone},
	}
	validate := validateStreamAndRole
	if !o.KeepBucket {
		validate = func(stream, role string) error { return validateNames(stream, o.Bucket, role) }
	}
	if err := validate(o.Stream, o.RoleName); err != nil {
		return res, err
	}
	if o.WaitTimeout < 0 {
		return res, fmt.Errorf("%w: negative wait timeout", ErrInvalidOptions)
	}

	streamExists, bucketExists, roleExists, err := checkManaged(ctx, c, o, &res)
	if err != nil {
		return res, err
	}

	deleteBucket := bucketExists && !o.KeepBucket
	switch {
	case o.KeepBucket && o.Bucket == "":
		res.Bucket.Status = "" // not named: left out of the report
	case o.KeepBucket:
		res.Bucket.Status, res.Bucket.Note = StatusKept, "kept as asked"
	}
	if deleteBucket && confirm != nil {
		n, err := countObjects(ctx, c.S3, o.Bucket)
		if err != nil {
			return res, err
		}
		ok, err := confirm(o.Bucket, n)
		if err != nil {
			return res, fmt.Errorf("bucket %s: %w", o.Bucket, err)
		}
		if !ok {
			deleteBucket = false
			res.Bucket.Status, res.Bucket.Note = StatusKept, "deletion not confirmed"
			logger.Info("bucket kept: deletion not confirmed", slog.String("bucket", o.Bucket))
		}
	}

	if streamExists {
		// The stream was there a moment ago: if the delete finds it gone,
		// it was most likely our own delete, retried by the SDK after a
		// slow answer. Either way it is deleted now.
		if _, err := deleteStream(ctx, c.Firehose, o, logger); err != nil {
			return res, err
		}
		res.Stream.Status = StatusDeleted
	}
	if deleteBucket {
		n, gone, err := deleteBucketAndObjects(ctx, c.S3, o.Bucket)
		res.ObjectsDeleted = n
		if err != nil {
			return res, err
		}
		if !gone {
			res.Bucket.Status = StatusDeleted
			logger.Info("bucket deleted", slog.String("bucket", o.Bucket), slog.Int("objects", n))
		}
	}
	if roleExists {
		gone, err := deleteRole(ctx, c.IAM, o.RoleName)
		if err != nil {
			return res, err
		}
		if !gone {
			res.Role.Status = StatusDeleted
			logger.Info("role deleted", slog.String("role", o.RoleName))
		}
	}
	return res, nil
}

// checkManaged reads the tags of the three resources, fills in Managed and
// returns which exist; it fails with ErrNotManaged when an existing resource
// that would be deleted lacks Setup's tags.
func checkManaged(ctx context.Context, c Clients, o TeardownOptions, res *TeardownResult) (stream, bucket, role bool, err error) {
	var refusals []string
	tags, stream, err := streamTags(ctx, c.Firehose, o.Stream)
	if err != nil {
		return false, false, false, err
	}
	if stream {
		res.Stream.Managed = isManaged(tags, o.Stream)
		if res.Stream.Note = teardownRefusal(tags, o.Stream); res.Stream.Note != "" {
			refusals = append(refusals, fmt.Sprintf("delivery stream %s: %s", o.Stream, res.Stream.Note))
		}
	}
	if !o.KeepBucket {
		tags, bucket, err = bucketTags(ctx, c.S3, o.Bucket)
		if err != nil {
			return false, false, false, err
		}
		if bucket {
			res.Bucket.Managed = isManaged(tags, o.Stream)
			if res.Bucket.Note = teardownRefusal(tags, o.Stream); res.Bucket.Note != "" {
				refusals = append(refusals, fmt.Sprintf("bucket %s: %s (--keep-bucket leaves it)", o.Bucket, res.Bucket.Note))
			}
		}
	}
	tags, role, err = roleTags(ctx, c.IAM, o.RoleName)
	if err != nil {
		return false, false, false, err
	}
	if role {
		res.Role.Managed = isManaged(tags, o.Stream)
		if res.Role.Note = teardownRefusal(tags, o.Stream); res.Role.Note != "" {
			refusals = append(refusals, fmt.Sprintf("role %s: %s", o.RoleName, res.Role.Note))
		}
	}
	if len(refusals) > 0 {
		return false, false, false, fmt.Errorf("%w; deleted nothing: %s", ErrNotManaged, strings.Join(refusals, "; "))
	}
	return stream, bucket, role, nil
}

// roleTags returns the role's tags and whether the role exists.
func roleTags(ctx context.Context, iamc IAMAPI, role string) (map[string]string, bool, error) {
	tags := map[string]string{}
	p := iam.NewListRoleTagsPaginator(iamc, &iam.ListRoleTagsInput{RoleName: aws.String(role)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		var missing *iamtypes.NoSuchEntityException
		switch {
		case errors.As(err, &missing):
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("role %s: list tags: %w", role, err)
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, true, nil
}

// deleteStream deletes the stream and waits until DescribeDeliveryStream no
// longer finds it; gone reports that it had already disappeared.
func deleteStream(ctx context.Context, fh FirehoseAPI, o TeardownOptions, logger *slog.Logger) (gone bool, err error) {
	// A stream still CREATING cannot be deleted yet (ResourceInUseException):
	// retry until it can, within the same time budget.
	var lastErr error
	err = poll(ctx, o.WaitTimeout, maxPollDelay, "delete delivery stream "+o.Stream, func(ctx context.Context) (bool, error) {
		_, err := fh.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String(o.Stream)})
		var missing *fhtypes.ResourceNotFoundException
		var inUse *fhtypes.ResourceInUseException
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &missing):
			gone = true
			return true, nil
		case errors.As(err, &inUse):
			lastErr = err
			logger.Info("delivery stream cannot be deleted yet (still being created?); retrying")
			return false, nil
		default:
			return false, fmt.Errorf("delivery stream %s: delete: %w", o.Stream, err)
		}
	})
	if errors.Is(err, ErrTimeout) && lastErr != nil {
		return false, fmt.Errorf("%w (last error: %w)", err, lastErr)
	}
	if err != nil || gone {
		return gone, err
	}
	err = poll(ctx, o.WaitTimeout, maxPollDelay, "wait for delivery stream "+o.Stream+" to be deleted", func(ctx context.Context) (bool, error) {
		d, err := describeStream(ctx, fh, o.Stream)
		if err != nil {
			return false, err
		}
		if d != nil {
			logger.Debug("delivery stream still there; waiting", slog.String("status", string(d.DeliveryStreamStatus)))
		}
		return d == nil, nil
	})
	if err != nil {
		return false, err
	}
	logger.Info("delivery stream deleted")
	return false, nil
}

func countObjects(ctx context.Context, s3c S3API, bucket string) (int, error) {
	n := 0
	p := s3.NewListObjectVersionsPaginator(s3c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("bucket %s: list objects: %w", bucket, err)
		}
		n += len(out.Versions) + len(out.DeleteMarkers)
	}
	return n, nil
}

// deleteBucketAndObjects deletes every object version and delete marker (at
// most 1,000 per DeleteObjects call, one listing page), then the bucket.
func deleteBucketAndObjects(ctx context.Context, s3c S3API, bucket string) (deleted int, gone bool, err error) {
	p := s3.NewListObjectVersionsPaginator(s3c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return deleted, false, fmt.Errorf("bucket %s: list objects: %w", bucket, err)
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range out.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range out.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		del, err := s3c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return deleted, false, fmt.Errorf("bucket %s: delete objects: %w", bucket, err)
		}
		if len(del.Errors) > 0 {
			e := del.Errors[0]
			return deleted, false, fmt.Errorf("bucket %s: delete objects: %d failed, first %s: %s %s",
				bucket, len(del.Errors), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
		}
		deleted += len(ids)
	}
	_, err = s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
		return deleted, false, nil
	case errorCode(err) == "NoSuchBucket":
		return deleted, true, nil
	default:
		return deleted, false, fmt.Errorf("bucket %s: delete: %w", bucket, err)
	}
}

// deleteRole removes the role's inline policies, detaches its managed
// policies, then deletes it; gone reports that it had already disappeared.
func deleteRole(ctx context.Context, iamc IAMAPI, role string) (gone bool, err error) {
	var missing *iamtypes.NoSuchEntityException
	inline := iam.NewListRolePoliciesPaginator(iamc, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	for inline.HasMorePages() {
		out, err := inline.NextPage(ctx)
		if errors.As(err, &missing) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("role %s: list policies: %w", role, err)
		}
		for _, name := range out.PolicyNames {
			if _, err := iamc.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)}); err != nil && !errors.As(err, &missing) {
				return false, fmt.Errorf("role %s: delete policy %s: %w", role, name, err)
			}
		}
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(iamc, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for attached.HasMorePages() {
		out, err := attached.NextPage(ctx)
		if errors.As(err, &missing) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("role %s: list attached policies: %w", role, err)
		}
		for _, pol := range out.AttachedPolicies {
			if _, err := iamc.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: pol.PolicyArn}); err != nil && !errors.As(err, &missing) {
				return false, fmt.Errorf("role %s: detach policy %s: %w", role, aws.ToString(pol.PolicyArn), err)
			}
		}
	}
	_, err = iamc.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(role)})
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &missing):
		return true, nil
	default:
		return false, fmt.Errorf("role %s: delete: %w", role, err)
	}
}
