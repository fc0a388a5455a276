package emulator

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stream management beyond create/describe/delete: UpdateDestination,
// server-side encryption settings, paged tag listing, and the CREATING and
// DELETING states of CreateDelay.

// destinationID is the id of a stream's only destination, as AWS numbers
// them.
const destinationID = "destinationId-000000000001"

// CreateDelay makes a created stream CREATING for d before it is ACTIVE, a
// deleted one DELETING for d before it is gone, and an encryption change
// ENABLING or DISABLING for d, like the real service (which takes seconds to
// minutes), for code that waits on the status. While CREATING or DELETING a
// stream refuses puts with ResourceNotFoundException. Streams of the Stream
// options are ACTIVE at once. Default 0: every change is immediate.
func CreateDelay(d time.Duration) Option {
	return func(c *config) { c.createDelay = d }
}

// streamState is a stream's API state beyond delivery, guarded by the
// stream's mu.
type streamState struct {
	version    int       // VersionId, 1 at create, +1 per change
	updatedAt  time.Time // LastUpdateTimestamp
	activeAt   time.Time // CREATING before this
	deletingAt time.Time // DELETING since this (zero: not deleted)
	encryption encryptionState
}

type encryptionState struct {
	enabled   bool
	keyType   string
	keyARN    string
	changedAt time.Time // ENABLING/DISABLING until changedAt + CreateDelay
}

// encryptionInput is DeliveryStreamEncryptionConfigurationInput.
type encryptionInput struct {
	KeyARN  string
	KeyType string
}

// parseEncryption checks an encryption configuration as AWS does.
func parseEncryption(in *encryptionInput, now time.Time) (encryptionState, error) {
	e := encryptionState{enabled: true, keyType: in.KeyType, keyARN: in.KeyARN, changedAt: now}
	switch in.KeyType {
	case "AWS_OWNED_CMK":
		if in.KeyARN != "" {
			return e, invalidArgument("KeyARN must not be specified when KeyType is AWS_OWNED_CMK.")
		}
	case "CUSTOMER_MANAGED_CMK":
		if !strings.HasPrefix(in.KeyARN, "arn:") || !strings.Contains(in.KeyARN, ":kms:") {
			return e, invalidArgument(fmt.Sprintf("KeyARN %q is not a KMS key ARN; it is required when KeyType is CUSTOMER_MANAGED_CMK.", in.KeyARN))
		}
	case "":
		return e, validationError("1 validation error detected: Value null at 'deliveryStreamEncryptionConfigurationInput.keyType' failed to satisfy constraint: Member must not be null")
	default:
		return e, validationError(fmt.Sprintf("1 validation error detected: Value '%s' at 'deliveryStreamEncryptionConfigurationInput.keyType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_OWNED_CMK, CUSTOMER_MANAGED_CMK]", in.KeyType))
	}
	return e, nil
}

// status is the DeliveryStreamStatus at now; the caller holds st.mu.
func (s *Server) statusLocked(st *stream, now time.Time) string {
	switch {
	case !st.state.deletingAt.IsZero():
		return "DELETING"
	case now.Before(st.state.activeAt):
		return "CREATING"
	}
	return "ACTIVE"
}

// streamStatus is the DeliveryStreamStatus now.
func (s *Server) streamStatus(st *stream) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return s.statusLocked(st, s.cfg.now())
}

// checkActive refuses puts to a stream that is CREATING or DELETING.
func (s *Server) checkActive(st *stream) error {
	if status := s.streamStatus(st); status != "ACTIVE" {
		return resourceNotFound(fmt.Sprintf("Firehose %s under account %s is %s, not ACTIVE.", st.name, s.cfg.accountID, status))
	}
	return nil
}

// initState sets a new stream's state: version 1, CREATING for CreateDelay
// unless immediate.
func (s *Server) initState(st *stream, enc *encryptionInput, immediate bool) error {
	now := s.cfg.now()
	st.state = streamState{version: 1, updatedAt: now, activeAt: now}
	if !immediate {
		st.state.activeAt = now.Add(s.cfg.createDelay)
	}
	if enc != nil {
		e, err := parseEncryption(enc, now.Add(-s.cfg.createDelay)) // enabled with the stream
		if err != nil {
			return err
		}
		st.setEncryptionLocked(e)
	}
	return nil
}

// encryptionDescription is DeliveryStreamEncryptionConfiguration; the
// caller holds st.mu.
func (s *Server) encryptionDescriptionLocked(st *stream, now time.Time) map[string]string {
	e := st.state.encryption
	settling := now.Before(e.changedAt.Add(s.cfg.createDelay))
	out := map[string]string{}
	switch {
	case e.enabled && settling:
		out["Status"] = "ENABLING"
	case e.enabled:
		out["Status"] = "ENABLED"
	case settling:
		out["Status"] = "DISABLING"
	default:
		out["Status"] = "DISABLED"
	}
	if e.keyType != "" {
		out["KeyType"] = e.keyType
	}
	if e.keyARN != "" {
		out["KeyARN"] = e.keyARN
	}
	return out
}

// setEncryptionLocked changes the encryption settings; the caller holds
// st.mu. Put answers read the flag without the lock.
func (st *stream) setEncryptionLocked(e encryptionState) {
	st.state.encryption = e
	st.encrypted.Store(e.enabled)
}

// bumpVersionLocked counts a configuration change; the caller holds st.mu.
// Object keys carry the version: a spool created after the change has the
// new one, a spool already buffering keeps the key it was given.
func (st *stream) bumpVersionLocked(now time.Time) {
	st.state.version++
	st.state.updatedAt = now
}

// scheduleRemoval marks st DELETING and removes it from the server after
// CreateDelay (at once without a delay). The caller has flushed st.
func (s *Server) scheduleRemoval(st *stream) {
	st.mu.Lock()
	st.state.deletingAt = s.cfg.now()
	st.mu.Unlock()
	remove := func() {
		s.mu.Lock()
		if s.streams[st.name] == st {
			delete(s.streams, st.name)
		}
		s.mu.Unlock()
	}
	if s.cfg.createDelay <= 0 {
		remove()
		return
	}
	time.AfterFunc(s.cfg.createDelay, remove)
}

type encryptionRequest struct {
	DeliveryStreamName                         string
	DeliveryStreamEncryptionConfigurationInput *encryptionInput
}

func (s *Server) activeStreamFor(name string) (*stream, error) {
	if err := validateStreamName(name, "deliveryStreamName"); err != nil {
		return nil, err
	}
	st, ok := s.lookupStream(name)
	if !ok {
		return nil, s.streamNotFound(name)
	}
	if status := s.streamStatus(st); status != "ACTIVE" {
		return nil, &apiError{code: codeResourceInUse, status: http.StatusBadRequest,
			message: fmt.Sprintf("Firehose %s under account %s is %s; the operation needs it ACTIVE.", name, s.cfg.accountID, status)}
	}
	return st, nil
}

func (s *Server) startEncryption(w http.ResponseWriter, body []byte) error {
	var in encryptionRequest
	if err := decodeFirehose(body, &in); err != nil {
		return err
	}
	st, err := s.activeStreamFor(in.DeliveryStreamName)
	if err != nil {
		return err
	}
	enc := in.DeliveryStreamEncryptionConfigurationInput
	if enc == nil {
		enc = &encryptionInput{KeyType: "AWS_OWNED_CMK"}
	}
	now := s.cfg.now()
	e, err := parseEncryption(enc, now)
	if err != nil {
		return err
	}
	st.mu.Lock()
	st.setEncryptionLocked(e)
	st.bumpVersionLocked(now)
	st.mu.Unlock()
	if err := s.saveStreams(); err != nil {
		return err
	}
	return writeFirehoseValue(w, struct{}{})
}

func (s *Server) stopEncryption(w http.ResponseWriter, body []byte) error {
	var in streamNameInput
	if err := decodeFirehose(body, &in); err != nil {
		return err
	}
	st, err := s.activeStreamFor(in.DeliveryStreamName)
	if err != nil {
		return err
	}
	now := s.cfg.now()
	st.mu.Lock()
	changed := st.state.encryption.enabled
	if changed {
		st.setEncryptionLocked(encryptionState{changedAt: now})
		st.bumpVersionLocked(now)
	}
	st.mu.Unlock()
	if changed {
		if err := s.saveStreams(); err != nil {
			return err
		}
	}
	return writeFirehoseValue(w, struct{}{})
}

type listTagsInput struct {
	DeliveryStreamName   string
	ExclusiveStartTagKey string
	Limit                *int
}

// listTagsPaged is ListTagsForDeliveryStream: tags sorted by key, at most
// Limit (1 to 50, default 50) after ExclusiveStartTagKey.
func (s *Server) listTagsPaged(w http.ResponseWriter, body []byte) error {
	var in listTagsInput
	if err := decodeFirehose(body, &in); err != nil {
		return err
	}
	if err := validateStreamName(in.DeliveryStreamName, "deliveryStreamName"); err != nil {
		return err
	}
	limit := 50
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 50 {
			return validationError(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value %s", *in.Limit, rangeWord(*in.Limit, 1, 50)))
		}
		limit = *in.Limit
	}
	st, ok := s.lookupStream(in.DeliveryStreamName)
	if !ok {
		return s.streamNotFound(in.DeliveryStreamName)
	}
	st.mu.Lock()
	tags := make([]tagJSON, 0, len(st.tags))
	for k, v := range st.tags {
		if in.ExclusiveStartTagKey != "" && k <= in.ExclusiveStartTagKey {
			continue
		}
		tags = append(tags, tagJSON{Key: k, Value: &v})
	}
	st.mu.Unlock()
	slices.SortFunc(tags, func(a, b tagJSON) int { return strings.Compare(a.Key, b.Key) })
	more := len(tags) > limit
	tags = tags[:min(limit, len(tags))]
	return writeFirehoseValue(w, map[string]any{"Tags": tags, "HasMoreTags": more})
}

type updateDestinationInput struct {
	DeliveryStreamName             string
	CurrentDeliveryStreamVersionID string `json:"CurrentDeliveryStreamVersionId"`
	DestinationID                  string `json:"DestinationId"`
	S3DestinationUpdate            *s3DestinationConfigJSON
	ExtendedS3DestinationUpdate    *s3DestinationConfigJSON
}

// otherDestinationUpdates are UpdateDestination members the emulator
// refuses.
var otherDestinationUpdates = []string{
	"RedshiftDestinationUpdate", "ElasticsearchDestinationUpdate", "AmazonopensearchserviceDestinationUpdate",
	"SplunkDestinationUpdate", "HttpEndpointDestinationUpdate", "AmazonOpenSearchServerlessDestinationUpdate",
	"SnowflakeDestinationUpdate", "IcebergDestinationUpdate",
}

// updateDestination is UpdateDestination: the members given replace the
// destination's (BufferingHints member by member), after the version and
// destination checks AWS makes. Records buffered before the update are
// delivered under the old settings.
func (s *Server) updateDestination(w http.ResponseWriter, body []byte) error {
	var raw map[string]any
	if err := decodeFirehose(body, &raw); err != nil {
		return err
	}
	for _, k := range otherDestinationUpdates {
		if _, ok := raw[k]; ok {
			return invalidArgument("the emulator supports S3 destinations only, not " + k)
		}
	}
	var in updateDestinationInput
	if err := decodeFirehose(body, &in); err != nil {
		return err
	}
	if in.CurrentDeliveryStreamVersionID == "" {
		return validationError("1 validation error detected: Value null at 'currentDeliveryStreamVersionId' failed to satisfy constraint: Member must not be null")
	}
	if in.DestinationID == "" {
		return validationError("1 validation error detected: Value null at 'destinationId' failed to satisfy constraint: Member must not be null")
	}
	st, err := s.activeStreamFor(in.DeliveryStreamName)
	if err != nil {
		return err
	}
	update, field, extended := in.ExtendedS3DestinationUpdate, "extendedS3DestinationUpdate", true
	switch {
	case in.S3DestinationUpdate != nil && in.ExtendedS3DestinationUpdate != nil:
		return invalidArgument("Only one destination update is allowed.")
	case in.S3DestinationUpdate != nil:
		update, field, extended = in.S3DestinationUpdate, "s3DestinationUpdate", false
	case update == nil:
		return invalidArgument("A destination update is required: the emulator supports ExtendedS3DestinationUpdate and S3DestinationUpdate.")
	}

	st.mu.Lock()
	version := st.state.version
	cur := st.dest
	st.mu.Unlock()
	if in.CurrentDeliveryStreamVersionID != strconv.Itoa(version) {
		return &apiError{code: "ConcurrentModificationException", status: http.StatusBadRequest,
			message: fmt.Sprintf("Cannot update Firehose %s: the current version id is %d, not %s.", st.name, version, in.CurrentDeliveryStreamVersionID)}
	}
	if in.DestinationID != destinationID {
		return invalidArgument(fmt.Sprintf("Destination %s not found in Firehose %s; its destination is %s.", in.DestinationID, st.name, destinationID))
	}
	merged := mergeDestination(cur, update)
	dest, err := parseDestination(&merged, field, extended || cur.extended)
	if err != nil {
		return err
	}
	if err := validateObjectPath(s.cfg.dataDir, dest); err != nil {
		return err
	}

	// Deliver what is buffered under the old settings, then switch. A
	// spool keeps the bucket and key it was created with, so records put
	// between the flush and the switch go out under the old settings too.
	if err := st.flush(false); err != nil {
		return fmt.Errorf("flush before update: %w", err)
	}
	st.mu.Lock()
	if st.state.version != version {
		st.mu.Unlock()
		return &apiError{code: "ConcurrentModificationException", status: http.StatusBadRequest,
			message: fmt.Sprintf("Cannot update Firehose %s: it changed during the update.", st.name)}
	}
	st.dest = dest
	st.bumpVersionLocked(s.cfg.now())
	st.mu.Unlock()
	if err := s.saveStreams(); err != nil {
		return err
	}
	s.log.Debug("emulator: updated destination", slog.String("stream", st.name), slog.String("bucket", dest.bucket))
	return writeFirehoseValue(w, struct{}{})
}

// mergeDestination overlays the members of an update on the current
// destination.
func mergeDestination(cur destination, u *s3DestinationConfigJSON) s3DestinationConfigJSON {
	size, interval := cur.sizeInMBs, cur.intervalInSeconds
	m := s3DestinationConfigJSON{
		RoleARN: cur.roleARN, BucketARN: cur.bucketARN, Prefix: cur.prefix, ErrorOutputPrefix: cur.errorOutputPrefix,
		CompressionFormat: cur.compressionFormat, BufferingHints: &bufferingHintsJSON{SizeInMBs: &size, IntervalInSeconds: &interval},
	}
	if u.RoleARN != "" {
		m.RoleARN = u.RoleARN
	}
	if u.BucketARN != "" {
		m.BucketARN = u.BucketARN
	}
	if u.Prefix != "" {
		m.Prefix = u.Prefix
	}
	if u.ErrorOutputPrefix != "" {
		m.ErrorOutputPrefix = u.ErrorOutputPrefix
	}
	if u.CompressionFormat != "" {
		m.CompressionFormat = u.CompressionFormat
	}
	if h := u.BufferingHints; h != nil {
		if h.SizeInMBs != nil {
			m.BufferingHints.SizeInMBs = h.SizeInMBs
		}
		if h.IntervalInSeconds != nil {
			m.BufferingHints.IntervalInSeconds = h.IntervalInSeconds
		}
	}
	return m
}
