package cwmetrics

import "errors"

// Sentinel errors of the cwmetrics package.
var (
	// ErrNoStream is returned when a Query has no stream name.
	ErrNoStream = errors.New("metrics query: no delivery stream name")
	// ErrBadPeriod is returned when a Query's Period is negative, not a whole
	// number of seconds, or too large for CloudWatch.
	ErrBadPeriod = errors.New("metrics query: invalid period")
	// ErrBadRange is returned when a Query's End is not after its Start.
	ErrBadRange = errors.New("metrics query: end time is not after start time")
)
