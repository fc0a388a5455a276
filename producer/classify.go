package producer

// This file classifies errors: what to do after a failed call or entry.

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// errorClass says what to do after a failed call or entry.
type errorClass int

const (
	// classRetryable: resend after a back-off.
	classRetryable errorClass = iota
	// classThrottle: resend after a back-off, and slow down.
	classThrottle
	// classFatal: stop; nothing will work until the user fixes something.
	classFatal
	// classCanceled: the request's context was cancelled (shutdown or abort).
	classCanceled
)

func (c errorClass) String() string {
	switch c {
	case classRetryable:
		return "retryable"
	case classThrottle:
		return "throttle"
	case classFatal:
		return "fatal"
	default:
		return "canceled"
	}
}

// classified is the verdict on one error.
type classified struct {
	class errorClass
	code  string // AWS error code or a short name of ours ("ConnectionError", "NoCredentials", ...)
	msg   string
	// unknownOutcome is true when the request may have been processed but its
	// response was lost (timeout, reset or EOF after the request was written):
	// resending may duplicate records.
	unknownOutcome bool
	// unreachable is true when the request could not reach the service at
	// all (connection refused, no route): it says nothing of the records,
	// only that the endpoint is not there.
	unreachable bool
}

// Per-entry error codes of PutRecordBatch (FACTS.md).
const (
	codeServiceUnavailable = "ServiceUnavailableException"
	codeInternalFailure    = "InternalFailure"
)

var throttleCodes = map[string]bool{
	codeServiceUnavailable: true, "ThrottlingException": true, "Throttling": true, "ThrottledException": true,
	"SlowDown": true, "RequestLimitExceeded": true, "TooManyRequestsException": true,
	"ProvisionedThroughputExceededException": true, "RequestThrottled": true, "RequestThrottledException": true,
	"LimitExceededException": true, "BandwidthLimitExceeded": true, "TransactionInProgressException": true,
}

var retryableCodes = map[string]bool{
	codeInternalFailure: true, "InternalServerError": true, "InternalError": true,
	"ServiceException": true, "InternalServiceError": true, "ServiceUnavailable": true,
}

var timeoutCodes = map[string]bool{
	"RequestTimeout": true, "RequestTimeoutException": true, "PriorRequestNotComplete": true,
}

var fatalCodes = map[string]bool{
	"ResourceNotFoundException": true, "InvalidArgumentException": true, "ValidationException": true,
	"UnrecognizedClientException": true, "InvalidSignatureException": true, "InvalidClientTokenId": true,
	"SignatureDoesNotMatch": true, "IncompleteSignature": true, "MissingAuthenticationToken": true,
	"InvalidSourceException": true, "InvalidKMSResourceException": true, "InvalidAction": true,
	"UnknownOperationException": true, "SerializationException": true, "OptInRequired": true,
	"NotAuthorized": true, "MissingParameter": true, "InvalidParameterValue": true,
}

// isSlowDown reports whether a ServiceUnavailableException is the service
// throttling us ("Slow down.") rather than a passing fault: only throttling
// should slow the adaptive rate down, or random faults would drive it to
// the floor.
func isSlowDown(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "slow down")
}

// classifyEntry classifies a per-entry ErrorCode of a PutRecordBatch
// response. Both documented codes are retryable; ServiceUnavailableException
// with "Slow down." is throttling. An unknown code is retried rather than
// given up.
func classifyEntry(code, msg string) errorClass {
	switch {
	case code == codeServiceUnavailable:
		if isSlowDown(msg) {
			return classThrottle
		}
		return classRetryable
	case throttleCodes[code]:
		return classThrottle
	}
	return classRetryable
}

// classify decides whether a whole-request error is worth retrying. It looks
// at the error chain with errors.As: the SDK's retry quota error, signing
// (credential) errors, smithy.APIError codes, HTTP status codes, then network
// errors through the SDK's own connection-error check.
func classify(err error) classified {
	if err == nil {
		return classified{class: classRetryable}
	}
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		// The SDK's client-side retry bucket ran dry; the request was not sent.
		return classified{class: classThrottle, code: "RetryQuotaExceeded", msg: quota.Error()}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		var rt *awshttp.ResponseTimeoutError
		if errors.As(err, &rt) {
			return classified{class: classRetryable, code: "ResponseTimeout", msg: err.Error(), unknownOutcome: true}
		}
		return classified{class: classCanceled, code: "Canceled", msg: err.Error(), unknownOutcome: true}
	}
	var signing *v4.SigningError
	if errors.As(err, &signing) {
		return classified{class: classFatal, code: "NoCredentials", msg: signing.Error()}
	}
	if s := err.Error(); strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "get credentials:") ||
		strings.Contains(s, "failed to refresh cached credentials") {
		return classified{class: classFatal, code: "NoCredentials", msg: err.Error()}
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if c, ok := classifyCode(apiErr.ErrorCode(), apiErr.ErrorMessage()); ok {
			return c
		}
	}
	status := 0
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.Response != nil {
		status = respErr.HTTPStatusCode()
	}
	code, msg := "", err.Error()
	if apiErr != nil {
		code, msg = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	switch {
	case status == 429:
		return classified{class: classThrottle, code: orDefault(code, "TooManyRequests"), msg: msg}
	case status >= 500:
		return classified{class: classRetryable, code: orDefault(code, "HTTP5xx"), msg: msg}
	case status >= 400:
		return classified{class: classFatal, code: orDefault(code, "HTTP4xx"), msg: msg}
	case status > 0:
		// A 2xx whose body could not be read or decoded (a connection
		// closed under it, aws-sdk-go-v2#1825): the service took the
		// request, so a resend may store the records twice.
		return classified{class: classRetryable, code: orDefault(code, "UnexpectedResponse"), msg: msg, unknownOutcome: true}
	}
	var rt *awshttp.ResponseTimeoutError
	if errors.As(err, &rt) {
		return classified{class: classRetryable, code: "ResponseTimeout", msg: err.Error(), unknownOutcome: true}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		(retry.RetryableConnectionError{}).IsErrorRetryable(err) == aws.TrueTernary {
		notSent := notSent(err)
		return classified{class: classRetryable, code: "ConnectionError", msg: err.Error(), unknownOutcome: !notSent, unreachable: notSent}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return classified{class: classFatal, code: "EndpointNotFound", msg: err.Error()}
	}
	if code != "" {
		return classified{class: classFatal, code: code, msg: msg}
	}
	return classified{class: classFatal, code: "ClientError", msg: err.Error()}
}

// classifyCall classifies the error of a call made with reqCtx. A context
// error while reqCtx is still live is not a shutdown: it comes from a
// timeout inside the HTTP client (http.Client.Timeout, which the standard
// library reports as matching context.DeadlineExceeded, such as the CLI's
// per-attempt request timeout). The response was lost, so the call is
// retryable and its outcome unknown.
func classifyCall(reqCtx context.Context, err error) classified {
	c := classify(err)
	if c.class == classCanceled && reqCtx.Err() == nil {
		c.class, c.code, c.unknownOutcome = classRetryable, "RequestTimeout", true
	}
	return c
}

// classifyCode classifies a known AWS error code; ok is false when the code
// says nothing and the HTTP status must decide.
func classifyCode(code, msg string) (classified, bool) {
	switch {
	case code == "":
		return classified{}, false
	case code == codeServiceUnavailable && !isSlowDown(msg):
		return classified{class: classRetryable, code: code, msg: msg}, true
	case throttleCodes[code]:
		return classified{class: classThrottle, code: code, msg: msg}, true
	case retryableCodes[code]:
		return classified{class: classRetryable, code: code, msg: msg}, true
	case timeoutCodes[code]:
		return classified{class: classRetryable, code: code, msg: msg, unknownOutcome: true}, true
	case fatalCodes[code], strings.HasPrefix(code, "AccessDenied"), strings.HasPrefix(code, "ExpiredToken"),
		strings.HasPrefix(code, "KMS"), strings.Contains(code, "KMS"):
		return classified{class: classFatal, code: code, msg: msg}, true
	}
	return classified{}, false
}

// notSent reports whether a connection error happened before the request
// could be written (dial failure, refused connection), so a resend cannot
// duplicate anything.
func notSent(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host")
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
