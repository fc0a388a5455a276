package awsconf

import "errors"

// Sentinel errors of the awsconf package.
var (
	// ErrNoRegion is returned by [Load] when no AWS region resolves from the
	// options, the environment or the shared config files.
	ErrNoRegion = errors.New("no AWS region: pass --region or set AWS_REGION")
	// ErrUnknownProtocol is returned for a CloudWatch protocol other than
	// auto, cbor or json.
	ErrUnknownProtocol = errors.New("unknown CloudWatch protocol")
)
