package infra

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
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
