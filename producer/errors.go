package producer

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrRecordTooLarge matches the error for a record whose size (after the
	// optional newline) is over MaxRecordBytes (1,024,000 bytes).
	ErrRecordTooLarge = errors.New("record too large")
	// ErrNotDelivered matches the error returned when records could not be
	// delivered: retries were exhausted, or records were dead-lettered or
	// rejected while no dead-letter sink was configured.
	ErrNotDelivered = errors.New("records not delivered")
	// ErrFatal matches every *FatalError: a non-retryable error such as a
	// missing stream or denied access.
	ErrFatal = errors.New("fatal error")
	// ErrAborted is returned by the producer's calls after Abort.
	ErrAborted = errors.New("producer aborted")
	// ErrInvalidOption matches errors returned by New for a bad option value
	// or a bad combination of options.
	ErrInvalidOption = errors.New("invalid producer option")
	// ErrDeadLetterWrite matches errors returned when the dead-letter sink
	// could not store records: those records are lost.
	ErrDeadLetterWrite = errors.New("dead-letter write failed")
	// ErrUnsent matches the outcome of a record the producer stopped before
	// delivering and did not dead-letter (DeadLetterOnStop(false)).
	ErrUnsent = errors.New("record not sent")
	// ErrClosed is returned by Add, Send, PutRecord and PutRecordBatch after
	// Close.
	ErrClosed = errors.New("producer closed")
	// ErrSinkClosed is returned by FileSink.WriteDeadLetters after Close.
	ErrSinkClosed = errors.New("dead-letter sink closed")
)

// codeEndpointUnreachable is the FatalError code when the endpoint has not
// answered for MaxRetryTime.
const codeEndpointUnreachable = "EndpointUnreachable"

// FatalError is a non-retryable failure of a PutRecord or PutRecordBatch
// call: the stream does not exist, access is denied, credentials are missing
// or rejected, a KMS key is unusable, or the service refused the request as
// invalid. Its message says what to check. errors.Is(err, ErrFatal) is true.
type FatalError struct {
	Stream  string // delivery stream name
	Region  string // the client's region when it tells it (a *firehose.Client does), else ""; only for messages
	Code    string // AWS error code, e.g. "ResourceNotFoundException"; "NoCredentials" when none were found
	Message string // the service's message, or the underlying error text
	Err     error  // the underlying error
}

// Error describes the failure and what to check.
func (e *FatalError) Error() string {
	where := fmt.Sprintf("stream %q", e.Stream)
	if e.Region != "" {
		where += " in region " + e.Region
	}
	detail := e.Code
	if e.Message != "" {
		if detail != "" {
			detail += ": "
		}
		detail += e.Message
	}
	code := e.Code
	switch {
	case code == "ResourceNotFoundException":
		return fmt.Sprintf("%s not found (%s): check the stream name and region", where, detail)
	case code == codeEndpointUnreachable:
		return fmt.Sprintf("the endpoint for %s stopped answering (%s): check the endpoint and the network", where, detail)
	case code == "NoCredentials":
		return fmt.Sprintf("no AWS credentials found (%s): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws configure / aws sso login", detail)
	case strings.HasPrefix(code, "AccessDenied"):
		return fmt.Sprintf("access denied to %s (%s): check that the IAM identity may call firehose:PutRecord and firehose:PutRecordBatch on it", where, detail)
	case strings.HasPrefix(code, "ExpiredToken"):
		return fmt.Sprintf("AWS credentials expired (%s): refresh them (e.g. aws sso login) and retry", detail)
	case code == "UnrecognizedClientException", code == "InvalidSignatureException", code == "InvalidClientTokenId",
		code == "SignatureDoesNotMatch", code == "IncompleteSignature", code == "MissingAuthenticationToken":
		return fmt.Sprintf("AWS credentials rejected (%s): check the access key, secret key and the system clock", detail)
	case strings.Contains(code, "KMS"):
		return fmt.Sprintf("encryption key problem for %s (%s): check the stream's KMS key, its state and its key policy", where, detail)
	case code == "InvalidArgumentException", code == "ValidationException":
		return fmt.Sprintf("request refused for %s (%s): check the stream name; a size refusal here is a producer bug", where, detail)
	default:
		return fmt.Sprintf("sending to %s failed with a non-retryable error (%s)", where, detail)
	}
}

// Unwrap returns the underlying error.
func (e *FatalError) Unwrap() error { return e.Err }

// Is reports whether target is ErrFatal.
func (e *FatalError) Is(target error) bool { return target == ErrFatal }

// InvalidRecordError is returned by a Source for a record that cannot be sent
// (for example invalid JSON). Send rejects that record (dead-letter with
// Reason, counted as Rejected) and goes on reading.
type InvalidRecordError struct {
	Record Record // the record as read, with its Seq and Source
	Reason string // dead-letter reason, e.g. ReasonInvalidJSON
	Err    error  // what is wrong with it
}

// Error names the record and what is wrong with it.
func (e *InvalidRecordError) Error() string {
	return fmt.Sprintf("invalid record %s: %s: %v", recordName(e.Record.Seq, e.Record.Source), e.Reason, e.Err)
}

// Unwrap returns the underlying error.
func (e *InvalidRecordError) Unwrap() error { return e.Err }

// recordName is how messages name a record: its Source when set, else its Seq.
func recordName(seq int64, source string) string {
	if source != "" {
		return fmt.Sprintf("#%d (%s)", seq, source)
	}
	return fmt.Sprintf("#%d", seq)
}
