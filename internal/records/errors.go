package records

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors of the records package. Fatal errors returned by
// [Reader.Next] and [Open] wrap one of these (or an I/O error), so callers can
// classify them with errors.Is.
var (
	// ErrInvalidJSON is wrapped by a [SyntaxError]: one record is not valid JSON.
	// It is not fatal: the reader goes on with the next record.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrNotArray is returned when the format is FormatJSON but the input does
	// not start with '['.
	ErrNotArray = errors.New("input is not a JSON array")
	// ErrUnterminatedArray is returned when a JSON array ends (EOF) before its
	// closing ']'. The partial last element is first returned as a SyntaxError.
	ErrUnterminatedArray = errors.New("JSON array is not closed (unexpected end of input)")
	// ErrTrailingData is returned when non-space bytes follow the closing ']'
	// of a JSON array.
	ErrTrailingData = errors.New("unexpected data after the end of the JSON array")
	// ErrElementTooLarge is returned when a JSON array element grows beyond
	// MaxElementBytes, which almost always means an unterminated string or
	// unbalanced brackets swallowed the rest of the input.
	ErrElementTooLarge = errors.New("JSON array element too large")
	// ErrUnknownFormat is returned by [ParseFormat] for a name other than
	// auto, json or ndjson.
	ErrUnknownFormat = errors.New("unknown input format")
)

// SyntaxError describes one malformed record. It is not fatal: the caller
// rejects the record (for example to the dead-letter file, using Raw) and
// calls [Reader.Next] again. A rejected record still consumes its Seq, so Seq
// stays equal to the position in the input.
type SyntaxError struct {
	// Source names the record like [Record.Source]: "FILE:LINE" for NDJSON,
	// "FILE[INDEX] line LINE" for a JSON array.
	Source string
	// Seq is the 1-based position of the record in the input.
	Seq int64
	// Line is the 1-based line where the record starts.
	Line int
	// Raw holds the record's bytes as read (a fresh copy the caller may keep).
	Raw []byte
	// Err says what is wrong; it wraps [ErrInvalidJSON] (or, for the partial
	// last element of a truncated array, [ErrUnterminatedArray]).
	Err error
}

// Error names the file and line (and array index) of the malformed record.
func (e *SyntaxError) Error() string {
	return e.Source + ": record " + strconv.FormatInt(e.Seq, 10) + ": " + e.Err.Error()
}

// Unwrap returns the underlying cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

func invalidJSON(detail error) error {
	if detail == nil {
		return ErrInvalidJSON
	}
	return fmt.Errorf("%w: %v", ErrInvalidJSON, detail)
}
