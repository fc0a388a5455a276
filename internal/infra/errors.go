package infra

import "errors"

// Sentinel errors; match them with errors.Is. The returned errors wrap them
// with the resource name and the reason.
var (
	// ErrInvalidOptions means SetupOptions or TeardownOptions failed
	// validation (a bad stream, bucket or role name, buffering hints out of
	// range).
	ErrInvalidOptions = errors.New("invalid options")

	// ErrNotManaged means Teardown found a resource that Setup did not
	// create (it lacks the firehose-tool:managed=true and
	// firehose-tool:stream=<stream> tags) and refused to delete anything.
	ErrNotManaged = errors.New("resource not created by firehose setup")

	// ErrBucketNotOwned means the bucket name is taken by another account,
	// or this account may not access it.
	ErrBucketNotOwned = errors.New("bucket owned by another account or not accessible")

	// ErrStreamState means the delivery stream is in a state Setup cannot
	// use (CREATING_FAILED, DELETING, ...).
	ErrStreamState = errors.New("delivery stream in an unusable state")

	// ErrTimeout means a wait (stream ACTIVE, stream deleted, role usable by
	// Firehose) did not finish within its time budget.
	ErrTimeout = errors.New("timed out")

	// ErrNotConfirmed means the confirmation to delete the bucket could not
	// be obtained (for example stdin is not a terminal and --yes was not
	// given). A confirm function returns it; Teardown passes it on.
	ErrNotConfirmed = errors.New("deletion not confirmed")
)
