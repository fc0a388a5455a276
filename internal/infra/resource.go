package infra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Tags Setup puts on everything it creates; Teardown deletes only resources
// carrying both, with TagStream equal to the stream it is asked to remove.
const (
	// TagManaged marks a resource created by Setup; its value is "true".
	TagManaged = "firehose-tool:managed"
	// TagStream names the delivery stream the resource was created for.
	TagStream = "firehose-tool:stream"
)

// Kind names a kind of resource in results.
type Kind string

// The kinds of resource Setup and Teardown handle.
const (
	KindBucket   Kind = "S3 bucket"
	KindRole     Kind = "IAM role"
	KindStream   Kind = "delivery stream"
	KindLogGroup Kind = "log group"
)

// Status says what Setup or Teardown did with a resource.
type Status string

// The statuses a Resource can have.
const (
	// StatusCreated: Setup created the resource.
	StatusCreated Status = "Created"
	// StatusExists: the resource existed already; Setup left it as it was
	// (apart from completing its own configuration when the resource is
	// managed, see Setup).
	StatusExists Status = "Exists"
	// StatusReferenced: Setup did not create the resource but configured
	// another one to use it (the CloudWatch Logs group).
	StatusReferenced Status = "Referenced"
	// StatusDeleted: Teardown deleted the resource.
	StatusDeleted Status = "Deleted"
	// StatusGone: the resource did not exist when Teardown looked.
	StatusGone Status = "Gone"
	// StatusKept: Teardown left the resource in place (not confirmed, or
	// asked to keep it).
	StatusKept Status = "Kept"
)

// Resource is one resource in a SetupResult or TeardownResult.
type Resource struct {
	Kind Kind
	// Name is the bucket, role, stream or log group name.
	Name string
	// ARN is set when known.
	ARN    string
	Status Status
	// Managed reports whether the resource carries Setup's tags for this
	// stream (so Teardown may delete it).
	Managed bool
	// Note explains anything unusual, in one sentence, for the user.
	Note string
}

var (
	streamNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)
	bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

func validateNames(stream, bucket, role string) error {
	if err := validateStreamAndRole(stream, role); err != nil {
		return err
	}
	if !bucketNameRE.MatchString(bucket) {
		return fmt.Errorf("%w: bucket name %q: want 3-63 characters of a-z, 0-9, . -, starting and ending with a letter or digit", ErrInvalidOptions, bucket)
	}
	return nil
}

func validateStreamAndRole(stream, role string) error {
	if !streamNameRE.MatchString(stream) {
		return fmt.Errorf("%w: stream name %q: want 1-64 characters of a-z, A-Z, 0-9, _ . -", ErrInvalidOptions, stream)
	}
	if !roleNameRE.MatchString(role) {
		return fmt.Errorf("%w: role name %q: want 1-64 characters of a-z, A-Z, 0-9, _ + = , . @ - (set it with --role-name)", ErrInvalidOptions, role)
	}
	return nil
}

// DefaultRoleName is the role name Setup and Teardown use when none is given:
// "firehose-<stream>-delivery".
func DefaultRoleName(stream string) string { return "firehose-" + stream + "-delivery" }

// LogGroupName is the CloudWatch Logs group the stream logs delivery errors
// to: "/aws/kinesisfirehose/<stream>", the name the Firehose console uses.
func LogGroupName(stream string) string { return "/aws/kinesisfirehose/" + stream }

// LogStreamName is the log stream in LogGroupName that delivery errors go to.
const LogStreamName = "DestinationDelivery"

// RolePolicyName is the name of the role's inline policy.
const RolePolicyName = "firehose-delivery"

func isManaged(tags map[string]string, stream string) bool {
	return tags[TagManaged] == "true" && tags[TagStream] == stream
}

// cloudFormationStackTag is the tag CloudFormation puts on the resources of
// a stack; such resources are the stack's to delete.
const cloudFormationStackTag = "aws:cloudformation:stack-name"

// teardownRefusal says why Teardown must not delete a resource with these
// tags, or "" when it may.
func teardownRefusal(tags map[string]string, stream string) string {
	switch {
	case !isManaged(tags, stream):
		return managedNote(tags, stream)
	case tags[cloudFormationStackTag] != "":
		return fmt.Sprintf("belongs to CloudFormation stack %q; delete the stack instead", tags[cloudFormationStackTag])
	}
	return ""
}

func managedNote(tags map[string]string, stream string) string {
	if tags[TagManaged] == "true" && tags[TagStream] != stream {
		return fmt.Sprintf("tagged for stream %q, not %q", tags[TagStream], stream)
	}
	return "not created by firehose setup (no " + TagManaged + "=true tag)"
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func discardIfNil(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// poll calls step until it reports done or fails, sleeping between calls for
// the SDK's exponential jitter back-off capped at maxDelay, for at most
// budget. It returns an error wrapping ErrTimeout when the budget runs out
// and ctx.Err() when ctx is done.
func poll(ctx context.Context, budget, maxDelay time.Duration, what string, step func(context.Context) (done bool, err error)) error {
	deadline := time.Now().Add(budget)
	backoff := retry.NewExponentialJitterBackoff(maxDelay)
	for attempt := 0; ; attempt++ {
		done, err := step(ctx)
		if err != nil || done {
			return err
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return fmt.Errorf("%s: %w after %s", what, ErrTimeout, budget)
		}
		delay, err := backoff.BackoffDelay(attempt, nil)
		if err != nil {
			return fmt.Errorf("%s: back-off: %w", what, err)
		}
		timer := time.NewTimer(min(delay, remaining))
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-timer.C:
		}
	}
}
