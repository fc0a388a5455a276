package records

import (
	"errors"
	"strconv"
)

// Sentinel errors. A rejected record's [*RecordError] wraps ErrInvalidJSON,
// ErrTooLarge or ErrUnterminatedArray; fatal errors returned by [Reader.Next]
// wrap one of the others (or an I/O error), so callers can classify them with
// errors.Is.
var (
	// ErrInvalidJSON: one record is not valid JSON, or holds invalid UTF-8
	// (FormatNDJSON and FormatJSON only). The record is rejected; reading goes on.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrTooLarge: one record (a line, or an array element once compacted) is
	// longer than the record limit. Its bytes were skipped as they were read;
	// the record is rejected and reading goes on.
	ErrTooLarge = errors.New("record too large")
	// ErrNotArray is fatal: the format is FormatJSON but the input does not
	// start with '[' (or, when resuming, no ',' or ']' follows the last element).
	ErrNotArray = errors.New("input is not a JSON array")
	// ErrUnterminatedArray: a JSON array ends (EOF) before its closing ']'. The
	// partial last element is first rejected with it, then it is fatal.
	ErrUnterminatedArray = errors.New("JSON array is not closed (unexpected end of input)")
	// ErrTrailingData is fatal: non-space bytes follow the closing ']' of a
	// JSON array.
	ErrTrailingData = errors.New("unexpected data after the end of the JSON array")
	// ErrUnknownFormat is returned by [ParseFormat] and [NewReader] for a
	// format other than auto, json, ndjson (jsonl) or text.
	ErrUnknownFormat = errors.New("unknown input format")
	// ErrBadOption is returned by [NewReader] and [Open] for an invalid option
	// value (a record limit below 1, a negative resume position).
	ErrBadOption = errors.New("invalid reader option")
)

// RecordError describes one rejected record. It is not fatal: the caller
// rejects the record (for example to a dead-letter file) and reads on. A
// rejected record consumes its Seq, so Seq always names the input position.
type RecordError struct {
	// Source names the record: "FILE:LINE" for lines, "FILE[INDEX] line
	// LINE" for array elements (INDEX 0-based, LINE where the element starts).
	Source string
	// Position is where the record is in the input.
	Position
	// Size is the record's length in bytes as far as it was measured: the
	// line without its line ending, or the array element as read.
	Size int64
	// Err says what is wrong; it wraps ErrInvalidJSON, ErrTooLarge or
	// ErrUnterminatedArray.
	Err error
}

// Error names the file, line (and array index) and the record number.
func (e *RecordError) Error() string {
	return e.Source + ": record " + strconv.FormatInt(e.Seq, 10) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }
