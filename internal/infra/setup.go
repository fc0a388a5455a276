package infra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Defaults for SetupOptions; a zero field means its default.
const (
	// DefaultPrefix is the S3 key prefix of delivered objects.
	DefaultPrefix = "data/!{timestamp:yyyy/MM/dd/HH}/"
	// DefaultErrorPrefix is the S3 key prefix of records Firehose could not
	// deliver or transform.
	DefaultErrorPrefix = "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
	// DefaultBufferSizeMB is the buffering size hint, in MiB (Firehose: 1-128).
	DefaultBufferSizeMB = 5
	// DefaultBufferInterval is the buffering interval hint (Firehose: 0-900 s).
	DefaultBufferInterval = 60 * time.Second
	// DefaultWaitTimeout bounds the wait for the stream to become ACTIVE
	// (Setup) or to disappear (Teardown).
	DefaultWaitTimeout = 5 * time.Minute
	// DefaultRolePropagationTimeout bounds the retries of CreateDeliveryStream
	// while IAM has not yet propagated a new role ("Firehose is unable to
	// assume role").
	DefaultRolePropagationTimeout = 2 * time.Minute
)

// maxPollDelay caps the back-off between two status checks.
const maxPollDelay = 10 * time.Second

// SetupOptions say what Setup creates. Zero fields take the defaults named
// on each.
type SetupOptions struct {
	// Stream is the delivery stream name (required; 1-64 of [a-zA-Z0-9_.-]).
	Stream string
	// Bucket is the destination S3 bucket name (required).
	Bucket string
	// RoleName is the IAM role Firehose assumes; default DefaultRoleName(Stream).
	RoleName string
	// Prefix is the S3 key prefix; default DefaultPrefix.
	Prefix string
	// ErrorPrefix is the S3 key prefix for failed records; default
	// DefaultErrorPrefix.
	ErrorPrefix string
	// BufferSizeMB is the buffering size hint in MiB, 1-128; default 5.
	BufferSizeMB int
	// BufferInterval is the buffering interval hint, whole seconds up to
	// 900 s; default 60 s (zero means the default, so 0 s is not reachable).
	BufferInterval time.Duration
	// WaitTimeout bounds the wait for the stream to become ACTIVE; default 5m.
	WaitTimeout time.Duration
	// RolePropagationTimeout bounds the retries while Firehose cannot yet
	// assume a new role; default 2m.
	RolePropagationTimeout time.Duration
}

func (o SetupOptions) withDefaults() SetupOptions {
	if o.RoleName == "" {
		o.RoleName = DefaultRoleName(o.Stream)
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.ErrorPrefix == "" {
		o.ErrorPrefix = DefaultErrorPrefix
	}
	if o.BufferSizeMB == 0 {
		o.BufferSizeMB = DefaultBufferSizeMB
	}
	if o.BufferInterval == 0 {
		o.BufferInterval = DefaultBufferInterval
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = DefaultWaitTimeout
	}
	if o.RolePropagationTimeout == 0 {
		o.RolePropagationTimeout = DefaultRolePropagationTimeout
	}
	return o
}

func (o SetupOptions) validate() error {
	if err := validateNames(o.Stream, o.Bucket, o.RoleName); err != nil {
		return err
	}
	switch {
	case o.BufferSizeMB < 1 || o.BufferSizeMB > 128:
		return fmt.Errorf("%w: buffer size %d MiB: want 1-128", ErrInvalidOptions, o.BufferSizeMB)
	case o.BufferInterval < 0 || o.BufferInterval > 900*time.Second || o.BufferInterval%time.Second != 0:
		return fmt.Errorf("%w: buffer interval %s: want whole seconds from 0s to 900s", ErrInvalidOptions, o.BufferInterval)
	case o.WaitTimeout < 0 || o.RolePropagationTimeout < 0:
		return fmt.Errorf("%w: negative timeout", ErrInvalidOptions)
	}
	return nil
}

// SetupResult reports each resource and whether Setup created it.
type SetupResult struct {
	Bucket   Resource
	Role     Resource
	Stream   Resource
	LogGroup Resource
}

// Resources lists the resources in the order Setup handles them.
func (r SetupResult) Resources() []Resource {
	return []Resource{r.Bucket, r.Role, r.LogGroup, r.Stream}
}

// identity is what Setup knows about the caller's account.
type identity struct {
	partition, account, region string
}

// Setup creates, or finds, the bucket, the role and the delivery stream, and
// waits until the stream is ACTIVE. It is idempotent: on resources that
// exist it changes nothing, except that it completes the configuration of a
// resource it created itself (tagged) when an earlier run was interrupted
// (bucket encryption and public access block, the role's inline policy).
// Existing resources without its tags are used as they are and reported with
// Managed false.
//
// The CloudWatch Logs group LogGroupName(Stream) is not created (the module
// has no CloudWatch Logs client): the stream is configured to log delivery
// errors there and the role may write to it; create it yourself or deploy
// deploy/firehose-stack.yaml to have those logs.
//
// On error, the result holds the resources handled so far.
func Setup(ctx context.Context, c Clients, o SetupOptions, logger *slog.Logger) (SetupResult, error) {
	logger = discardIfNil(logger).With(slog.String("stream", o.Stream))
	o = o.withDefaults()
	var res SetupResult
	if err := o.validate(); err != nil {
		return res, err
	}
	id, err := callerIdentity(ctx, c)
	if err != nil {
		return res, err
	}
	if res.Bucket, err = ensureBucket(ctx, c, o, id, logger); err != nil {
		return res, err
	}
	if res.Role, err = ensureRole(ctx, c, o, id, logger); err != nil {
		return res, err
	}
	res.LogGroup = Resource{
		Kind:   KindLogGroup,
		Name:   LogGroupName(o.Stream),
		Status: StatusReferenced,
		Note:   "not created by setup; delivery errors are logged once it exists (deploy/firehose-stack.yaml creates it)",
	}
	if res.Stream, err = ensureStream(ctx, c, o, id, res.Role.ARN, logger); err != nil {
		return res, err
	}
	return res, nil
}

func callerIdentity(ctx context.Context, c Clients) (identity, error) {
	id := identity{partition: "aws", region: c.Region}
	if c.STS == nil {
		return id, nil
	}
	out, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return id, fmt.Errorf("get caller identity: %w", err)
	}
	id.account = aws.ToString(out.Account)
	if a, err := arn.Parse(aws.ToString(out.Arn)); err == nil {
		id.partition = a.Partition
	}
	return id, nil
}

func tagsFor(stream string) map[string]string {
	return map[string]string{TagManaged: "true", TagStream: stream}
}

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

func ensureRole(ctx context.Context, c Clients, o SetupOptions, id identity, logger *slog.Logger) (Resource, error) {
	r := Resource{Kind: KindRole, Name: o.RoleName}
	var role *iamtypes.Role
	got, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(o.RoleName)})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case err == nil:
		r.Status, role = StatusExists, got.Role
	case errors.As(err, &missing):
		if role, r.Status, err = createRole(ctx, c.IAM, o, id); err != nil {
			return r, err
		}
	default:
		return r, fmt.Errorf("role %s: get: %w", o.RoleName, err)
	}
	r.ARN = aws.ToString(role.Arn)
	tags := make(map[string]string, len(role.Tags))
	for _, t := range role.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	r.Managed = isManaged(tags, o.Stream)
	if !r.Managed {
		r.Note = managedNote(tags, o.Stream) + "; used as it is"
		logger.Warn("role exists and was not created by setup; using it unchanged", slog.String("role", o.RoleName))
		return r, nil
	}
	if err := ensureRolePolicy(ctx, c.IAM, o, id); err != nil {
		return r, err
	}
	logger.Info("role ready", slog.String("role", o.RoleName), slog.String("status", string(r.Status)))
	return r, nil
}

func createRole(ctx context.Context, iamc IAMAPI, o SetupOptions, id identity) (*iamtypes.Role, Status, error) {
	var tags []iamtypes.Tag
	for k, v := range tagsFor(o.Stream) {
		tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(o.RoleName),
		AssumeRolePolicyDocument: aws.String(TrustPolicy(id.account)),
		Description:              aws.String("Lets Amazon Data Firehose stream " + o.Stream + " deliver to s3://" + o.Bucket),
		Tags:                     tags,
	})
	var exists *iamtypes.EntityAlreadyExistsException
	switch {
	case err == nil:
		return out.Role, StatusCreated, nil
	case errors.As(err, &exists):
		// Created concurrently since GetRole: read what is there.
		got, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(o.RoleName)})
		if err != nil {
			return nil, "", fmt.Errorf("role %s: get: %w", o.RoleName, err)
		}
		return got.Role, StatusExists, nil
	default:
		return nil, "", fmt.Errorf("role %s: create: %w", o.RoleName, err)
	}
}

// ensureRolePolicy puts the inline policy when it is missing and leaves an
// existing one alone.
func ensureRolePolicy(ctx context.Context, iamc IAMAPI, o SetupOptions, id identity) error {
	_, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(o.RoleName), PolicyName: aws.String(RolePolicyName)})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &missing):
		return fmt.Errorf("role %s: get policy %s: %w", o.RoleName, RolePolicyName, err)
	}
	doc := DeliveryPolicy(DeliveryPolicyParams{
		Partition: id.partition, Region: id.region, AccountID: id.account,
		Bucket: o.Bucket, LogGroup: LogGroupName(o.Stream),
	})
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName:       aws.String(o.RoleName),
		PolicyName:     aws.String(RolePolicyName),
		PolicyDocument: aws.String(doc),
	}); err != nil {
		return fmt.Errorf("role %s: put policy %s: %w", o.RoleName, RolePolicyName, err)
	}
	return nil
}

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
