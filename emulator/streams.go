package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// streamSpec is a stream New creates (the Stream and StreamWithPrefix
// options).
type streamSpec struct {
	name, bucket, prefix string
}

// Stream makes New create a DirectPut delivery stream named name that
// delivers to bucket, with no prefix and the default buffering (5 MiB,
// 300 s), as CreateDeliveryStream would: clients can put records at once,
// with no CreateDeliveryStream call and no IAM role. Repeat it for more
// streams. A stream that already exists (restored from the data directory)
// is kept as it is. Default: no streams.
func Stream(name, bucket string) Option {
	return StreamWithPrefix(name, bucket, "")
}

// StreamWithPrefix is Stream with an S3 key prefix (for example "events/"),
// validated as CreateDeliveryStream validates it.
func StreamWithPrefix(name, bucket, prefix string) Option {
	return func(c *config) { c.streams = append(c.streams, streamSpec{name: name, bucket: bucket, prefix: prefix}) }
}

// DefaultStreamBucket is the bucket of a stream given to the emulator
// command's --stream flag without one.
const DefaultStreamBucket = "firehose-emulator"

// createConfiguredStreams creates the streams of the Stream options through
// CreateDeliveryStream itself, so they are validated (and kept) like any
// other.
func (s *Server) createConfiguredStreams() error {
	var errs []error
	seen := make(map[string]bool, len(s.cfg.streams))
	for _, spec := range s.cfg.streams {
		if seen[spec.name] {
			errs = append(errs, fmt.Errorf("stream %s is given twice", spec.name))
			continue
		}
		seen[spec.name] = true
		body, err := json.Marshal(map[string]any{
			"DeliveryStreamName": spec.name,
			"DeliveryStreamType": "DirectPut",
			"ExtendedS3DestinationConfiguration": map[string]any{
				"BucketARN": "arn:aws:s3:::" + spec.bucket,
				"RoleARN":   fmt.Sprintf("arn:aws:iam::%s:role/firehose-emulator", s.cfg.accountID),
				"Prefix":    spec.prefix,
			},
		})
		if err != nil {
			return err
		}
		err = s.createDeliveryStream(selfCallResponse{}, body)
		var ae *apiError
		switch {
		case err == nil:
			if st, ok := s.lookupStream(spec.name); ok { // ACTIVE at once, whatever CreateDelay
				st.mu.Lock()
				st.state.activeAt = st.createdAt
				st.mu.Unlock()
				if err := s.saveStreams(); err != nil {
					errs = append(errs, err)
				}
			}
		case errors.As(err, &ae) && ae.code == codeResourceInUse:
			// Already there, restored from the data directory.
		default:
			errs = append(errs, fmt.Errorf("stream %s (bucket %q, prefix %q): %w", spec.name, spec.bucket, spec.prefix, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidOption, errors.Join(errs...))
	}
	return nil
}

// selfCallResponse is the ResponseWriter of calls the emulator makes to its
// own API.
type selfCallResponse struct{}

func (selfCallResponse) Header() http.Header         { return http.Header{} }
func (selfCallResponse) Write(p []byte) (int, error) { return len(p), nil }
func (selfCallResponse) WriteHeader(int)             {}
