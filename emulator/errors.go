package emulator

import (
	"errors"
	"net/http"
)

// Sentinel errors returned by the Server's Go API.
var (
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("emulator: server closed")
	// ErrAlreadyStarted is returned by a second call of Start.
	ErrAlreadyStarted = errors.New("emulator: server already started")
	// ErrInvalidOption wraps every problem New finds in its options.
	ErrInvalidOption = errors.New("emulator: invalid option")
	// ErrDataDirInUse is returned by New when another emulator, running
	// now, uses the data directory.
	ErrDataDirInUse = errors.New("emulator: data dir in use by another running emulator")
)

// apiError is an error answered on the wire: an AWS error code, a message and
// the HTTP status the real service uses for it.
type apiError struct {
	code    string
	message string
	status  int
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// Firehose error codes (AWS JSON 1.1 "__type" values).
const (
	codeValidation          = "ValidationException"
	codeInvalidArgument     = "InvalidArgumentException"
	codeResourceNotFound    = "ResourceNotFoundException"
	codeResourceInUse       = "ResourceInUseException"
	codeSerialization       = "SerializationException"
	codeServiceUnavailable  = "ServiceUnavailableException"
	codeInternalFailure     = "InternalFailure"
	codeUnknownOperation    = "UnknownOperationException"
	messageSlowDown         = "Slow down."
	messageRecordsTooLarge  = "Records size exceeds 4 MB limit"
	messageInternalFailure  = "Internal service failure."
	messageServiceUnavailab = "The service is unavailable. Back off and retry the operation."
)

func validationError(msg string) *apiError {
	return &apiError{code: codeValidation, message: msg, status: http.StatusBadRequest}
}

func invalidArgument(msg string) *apiError {
	return &apiError{code: codeInvalidArgument, message: msg, status: http.StatusBadRequest}
}

func serializationError(msg string) *apiError {
	return &apiError{code: codeSerialization, message: msg, status: http.StatusBadRequest}
}

func resourceNotFound(msg string) *apiError {
	return &apiError{code: codeResourceNotFound, message: msg, status: http.StatusBadRequest}
}

func serviceUnavailable(msg string) *apiError {
	return &apiError{code: codeServiceUnavailable, message: msg, status: http.StatusInternalServerError}
}

func internalFailure() *apiError {
	return &apiError{code: codeInternalFailure, message: messageInternalFailure, status: http.StatusInternalServerError}
}

// CloudWatch error shapes: the rpc-v2-cbor "__type" shape id and the
// awsQueryError code the SDK reads from X-Amzn-Query-Error.
type cwError struct {
	shape     string // e.g. InvalidParameterValueException
	queryCode string // e.g. InvalidParameterValue
	message   string
	status    int
	sender    bool
}

func (e *cwError) Error() string { return e.queryCode + ": " + e.message }

func cwInvalidParameter(msg string) *cwError {
	return &cwError{shape: "InvalidParameterValueException", queryCode: "InvalidParameterValue", message: msg, status: http.StatusBadRequest, sender: true}
}

func cwMissingParameter(msg string) *cwError {
	return &cwError{shape: "MissingRequiredParameterException", queryCode: "MissingParameter", message: msg, status: http.StatusBadRequest, sender: true}
}

func cwInvalidCombination(msg string) *cwError {
	return &cwError{shape: "InvalidParameterCombinationException", queryCode: "InvalidParameterCombination", message: msg, status: http.StatusBadRequest, sender: true}
}

func cwInternal(msg string) *cwError {
	return &cwError{shape: "InternalServiceFault", queryCode: "InternalServiceError", message: msg, status: http.StatusInternalServerError}
}
