package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// opErr wraps err the way the SDK returns errors from an operation.
func opErr(status int, err error) error {
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: status}}
	return &smithy.OperationError{ServiceID: "Firehose", OperationName: "PutRecordBatch",
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{Response: resp, Err: err}}}
}

func sendErr(err error) error {
	return &smithy.OperationError{ServiceID: "Firehose", OperationName: "PutRecordBatch",
		Err: &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:1/", Err: err}}}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	msg := func(s string) *string { return &s }
	tests := []struct {
		name        string
		err         error
		wantClass   errorClass
		wantCode    string
		wantUnknown bool
	}{
		{name: "modelled ResourceNotFoundException", err: opErr(400, &types.ResourceNotFoundException{Message: msg("not found")}), wantClass: classFatal, wantCode: "ResourceNotFoundException"},
		{name: "InvalidArgumentException (4 MiB refusal)", err: opErr(400, &types.InvalidArgumentException{Message: msg("Records size exceeds 4 MB limit")}), wantClass: classFatal, wantCode: "InvalidArgumentException"},
		{name: "ValidationException", err: opErr(400, apiError("ValidationException", "too many")), wantClass: classFatal, wantCode: "ValidationException"},
		{name: "AccessDeniedException", err: opErr(400, apiError("AccessDeniedException", "no")), wantClass: classFatal, wantCode: "AccessDeniedException"},
		{name: "UnrecognizedClientException", err: opErr(400, apiError("UnrecognizedClientException", "bad key")), wantClass: classFatal, wantCode: "UnrecognizedClientException"},
		{name: "InvalidSignatureException", err: opErr(400, apiError("InvalidSignatureException", "sig")), wantClass: classFatal, wantCode: "InvalidSignatureException"},
		{name: "ExpiredTokenException", err: opErr(400, apiError("ExpiredTokenException", "expired")), wantClass: classFatal, wantCode: "ExpiredTokenException"},
		{name: "InvalidKMSResourceException", err: opErr(400, &types.InvalidKMSResourceException{Message: msg("kms")}), wantClass: classFatal, wantCode: "InvalidKMSResourceException"},
		{name: "KMS access denied", err: opErr(400, apiError("KMSAccessDeniedException", "kms")), wantClass: classFatal, wantCode: "KMSAccessDeniedException"},
		{name: "ServiceUnavailableException Slow down whole request", err: opErr(500, &types.ServiceUnavailableException{Message: msg("Slow down.")}), wantClass: classThrottle, wantCode: codeServiceUnavailable},
		{name: "ServiceUnavailableException fault whole request", err: opErr(500, &types.ServiceUnavailableException{Message: msg("Service unavailable.")}), wantClass: classRetryable, wantCode: codeServiceUnavailable},
		{name: "InternalFailure", err: opErr(500, apiError("InternalFailure", "")), wantClass: classRetryable, wantCode: "InternalFailure"},
		{name: "ThrottlingException", err: opErr(400, apiError("ThrottlingException", "rate")), wantClass: classThrottle, wantCode: "ThrottlingException"},
		{name: "unknown code with 503", err: opErr(503, apiError("Weird", "")), wantClass: classRetryable, wantCode: "Weird"},
		{name: "unknown code with 429", err: opErr(429, apiError("", "")), wantClass: classThrottle, wantCode: "TooManyRequests"},
		{name: "unknown code with 403", err: opErr(403, apiError("Forbidden", "")), wantClass: classFatal, wantCode: "Forbidden"},
		{name: "retry quota exceeded", err: fmt.Errorf("failed to get rate limit token, %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5}), wantClass: classThrottle, wantCode: "RetryQuotaExceeded"},
		{name: "no credentials", err: &smithy.OperationError{Err: &v4.SigningError{Err: errors.New("failed to retrieve credentials: no EC2 IMDS role found")}}, wantClass: classFatal, wantCode: "NoCredentials"},
		{name: "EOF after sending", err: sendErr(io.EOF), wantClass: classRetryable, wantCode: "ConnectionError", wantUnknown: true},
		{name: "connection reset", err: sendErr(&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}), wantClass: classRetryable, wantCode: "ConnectionError", wantUnknown: true},
		{name: "use of closed network connection", err: sendErr(errors.New("use of closed network connection")), wantClass: classRetryable, wantCode: "ConnectionError", wantUnknown: true},
		{name: "connection refused is not a duplicate risk", err: sendErr(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}), wantClass: classRetryable, wantCode: "ConnectionError"},
		{name: "response read timeout", err: &smithy.OperationError{Err: &awshttp.ResponseTimeoutError{TimeoutDur: time.Second}}, wantClass: classRetryable, wantCode: "ResponseTimeout", wantUnknown: true},
		{name: "context canceled", err: sendErr(context.Canceled), wantClass: classCanceled, wantCode: "Canceled", wantUnknown: true},
		{name: "200 whose body could not be read (the records were taken)", err: opErr(200, &smithy.DeserializationError{Err: errors.New("read tcp: use of closed network connection")}), wantClass: classRetryable, wantCode: "UnexpectedResponse", wantUnknown: true},
		{name: "unknown local error", err: errors.New("endpoint resolution failed"), wantClass: classFatal, wantCode: "ClientError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := classify(tc.err)
			if got.class != tc.wantClass || got.code != tc.wantCode || got.unknownOutcome != tc.wantUnknown {
				t.Errorf("classify = {%v %q unknown=%v}, want {%v %q unknown=%v}",
					got.class, got.code, got.unknownOutcome, tc.wantClass, tc.wantCode, tc.wantUnknown)
			}
		})
	}
}

func TestClassifyEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code, msg string
		want            errorClass
	}{
		{name: "slow down is throttling", code: codeServiceUnavailable, msg: "Slow down.", want: classThrottle},
		{name: "other unavailability is a fault", code: codeServiceUnavailable, msg: "Service is unavailable.", want: classRetryable},
		{name: "internal failure", code: codeInternalFailure, msg: "Internal service failure.", want: classRetryable},
		{name: "unknown code", code: "SomethingNew", want: classRetryable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := classifyEntry(tc.code, tc.msg); got != tc.want {
				t.Errorf("classifyEntry(%q, %q) = %v, want %v", tc.code, tc.msg, got, tc.want)
			}
		})
	}
}

func TestFatalErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want string
	}{
		{code: "ResourceNotFoundException", want: "check the stream name and region"},
		{code: "AccessDeniedException", want: "firehose:PutRecordBatch"},
		{code: "ExpiredTokenException", want: "refresh them"},
		{code: "UnrecognizedClientException", want: "check the access key"},
		{code: "NoCredentials", want: "AWS_PROFILE"},
		{code: "InvalidKMSResourceException", want: "KMS key"},
		{code: "InvalidArgumentException", want: "producer bug"},
		{code: "Other", want: "non-retryable"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			err := error(&FatalError{Stream: "s", Region: "us-east-1", Code: tc.code, Message: "m", Err: errors.New("x")})
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrFatal) {
				t.Errorf("message %q lacks %q (or not ErrFatal)", err, tc.want)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		initial, max time.Duration
	}{
		{name: "defaults", initial: 100 * time.Millisecond, max: 5 * time.Second},
		{name: "fast", initial: time.Millisecond, max: 20 * time.Millisecond},
		{name: "initial equals max", initial: time.Second, max: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBackoff(tc.initial, tc.max)
			for attempts := 1; attempts <= 12; attempts++ {
				bound := min(tc.initial<<(attempts-1), tc.max)
				var sum time.Duration
				const n = 300
				for range n {
					d := b.delay(attempts)
					if d < 0 || d > bound {
						t.Fatalf("delay after %d attempts = %v, outside [0, %v]", attempts, d, bound)
					}
					sum += d
				}
				// Full jitter: the mean is well inside the bound (about half),
				// unless the cap is reached, where the SDK returns it flat.
				mean := sum / n
				if mean < bound/4 || (mean > bound*3/4 && mean != tc.max) {
					t.Errorf("after %d attempts mean delay %v for bound %v: not jittered", attempts, mean, bound)
				}
			}
		})
	}
}

func TestAsFatal(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode string // "" = not fatal
		wantText string
	}{
		{name: "stream not found", err: &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "gone"},
			wantCode: "ResourceNotFoundException", wantText: `stream "s1" in region eu-west-1 not found`},
		{name: "access denied", err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"},
			wantCode: "AccessDeniedException", wantText: "access denied"},
		{name: "bad credentials", err: &smithy.GenericAPIError{Code: "UnrecognizedClientException"},
			wantCode: "UnrecognizedClientException", wantText: "credentials rejected"},
		{name: "throttled", err: &smithy.GenericAPIError{Code: "ServiceUnavailableException", Message: "Slow down."}},
		{name: "internal failure", err: &smithy.GenericAPIError{Code: "InternalFailure"}},
		{name: "cancelled", err: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fe := AsFatal(tc.err, "s1", "eu-west-1")
			if tc.wantCode == "" {
				if fe != nil {
					t.Fatalf("AsFatal = %v, want nil", fe)
				}
				return
			}
			if fe == nil || fe.Code != tc.wantCode || !errors.Is(fe, ErrFatal) {
				t.Fatalf("AsFatal = %#v, want code %s", fe, tc.wantCode)
			}
			if !strings.Contains(fe.Error(), tc.wantText) {
				t.Errorf("message %q lacks %q", fe.Error(), tc.wantText)
			}
		})
	}
}
