package emulator

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stream management.

type bufferingHintsJSON struct {
	SizeInMBs         *int `json:",omitempty"`
	IntervalInSeconds *int `json:",omitempty"`
}

type s3DestinationConfigJSON struct {
	RoleARN           string
	BucketARN         string
	Prefix            string
	ErrorOutputPrefix string
	BufferingHints    *bufferingHintsJSON
	CompressionFormat string
}

type createDeliveryStreamInput struct {
	DeliveryStreamName                 string
	DeliveryStreamType                 string
	S3DestinationConfiguration         *s3DestinationConfigJSON
	ExtendedS3DestinationConfiguration *s3DestinationConfigJSON
	Tags                               []tagJSON

	DeliveryStreamEncryptionConfigurationInput *encryptionInput
}

type tagJSON struct {
	Key   string
	Value *string `json:",omitempty"`
}

// otherDestinations are CreateDeliveryStream members the emulator refuses.
var otherDestinations = []string{
	"RedshiftDestinationConfiguration", "ElasticsearchDestinationConfiguration",
	"AmazonopensearchserviceDestinationConfiguration", "SplunkDestinationConfiguration",
	"HttpEndpointDestinationConfiguration", "AmazonOpenSearchServerlessDestinationConfiguration",
	"SnowflakeDestinationConfiguration", "IcebergDestinationConfiguration",
	"KinesisStreamSourceConfiguration", "MSKSourceConfiguration", "DatabaseSourceConfiguration",
}

var bucketARNPattern = regexp.MustCompile(`^arn:[a-z-]+:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$`)

func parseDestination(c *s3DestinationConfigJSON, field string, extended bool) (destination, error) {
	d := destination{
		extended: extended, roleARN: c.RoleARN, bucketARN: c.BucketARN, prefix: c.Prefix,
		errorOutputPrefix: c.ErrorOutputPrefix, sizeInMBs: 5, intervalInSeconds: 300, compressionFormat: "UNCOMPRESSED",
	}
	m := bucketARNPattern.FindStringSubmatch(c.BucketARN)
	if c.BucketARN == "" {
		return d, validationError(fmt.Sprintf("1 validation error detected: Value null at '%s.bucketARN' failed to satisfy constraint: Member must not be null", field))
	}
	if m == nil {
		return d, validationError(fmt.Sprintf("1 validation error detected: Value '%s' at '%s.bucketARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:.*:s3:::[a-z0-9.-]{3,63}", c.BucketARN, field))
	}
	d.bucket = m[1]
	if h := c.BufferingHints; h != nil {
		if h.SizeInMBs != nil {
			if v := *h.SizeInMBs; v < 1 || v > 128 {
				return d, validationError(fmt.Sprintf("1 validation error detected: Value '%d' at '%s.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value %s", v, field, rangeWord(v, 1, 128)))
			}
			d.sizeInMBs = *h.SizeInMBs
		}
		if h.IntervalInSeconds != nil {
			if v := *h.IntervalInSeconds; v < 0 || v > 900 {
				return d, validationError(fmt.Sprintf("1 validation error detected: Value '%d' at '%s.bufferingHints.intervalInSeconds' failed to satisfy constraint: Member must have value %s", v, field, rangeWord(v, 0, 900)))
			}
			d.intervalInSeconds = *h.IntervalInSeconds
		}
	}
	switch c.CompressionFormat {
	case "", "UNCOMPRESSED":
	default:
		return d, invalidArgument(fmt.Sprintf("the emulator writes uncompressed files only; CompressionFormat %s is not supported", c.CompressionFormat))
	}
	for _, p := range []struct{ field, value string }{{"prefix", c.Prefix}, {"errorOutputPrefix", c.ErrorOutputPrefix}} {
		if n := len(p.value); n > maxPrefixLength {
			return d, validationError(fmt.Sprintf("1 validation error detected: Value at '%s.%s' failed to satisfy constraint: Member must have length less than or equal to %d", field, p.field, maxPrefixLength))
		}
		if strings.Contains(p.value, "!{") {
			return d, invalidArgument(fmt.Sprintf("the emulator does not evaluate prefix expressions (!{...}): %q", p.value))
		}
	}
	return d, nil
}

func rangeWord(v, lo, hi int) string {
	if v < lo {
		return fmt.Sprintf("greater than or equal to %d", lo)
	}
	return fmt.Sprintf("less than or equal to %d", hi)
}

func (s *Server) streamARN(name string) string {
	return fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s", s.cfg.region, s.cfg.accountID, name)
}

func (s *Server) createDeliveryStream(w http.ResponseWriter, body []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return serializationError("Malformed request body: " + err.Error())
	}
	for _, k := range otherDestinations {
		if _, ok := raw[k]; ok {
			return invalidArgument("the emulator supports S3 destinations of DirectPut streams only, not " + k)
		}
	}
	var in createDeliveryStreamInput
	if err := json.Unmarshal(body, &in); err != nil {
		return serializationError("Malformed request body: " + err.Error())
	}
	if err := validateStreamName(in.DeliveryStreamName, "deliveryStreamName"); err != nil {
		return err
	}
	switch in.DeliveryStreamType {
	case "":
		in.DeliveryStreamType = "DirectPut"
	case "DirectPut":
	default:
		return invalidArgument("the emulator supports DeliveryStreamType DirectPut only, not " + in.DeliveryStreamType)
	}
	var (
		dest destination
		err  error
	)
	switch {
	case in.S3DestinationConfiguration != nil && in.ExtendedS3DestinationConfiguration != nil:
		return invalidArgument("Only one destination configuration is allowed.")
	case in.ExtendedS3DestinationConfiguration != nil:
		dest, err = parseDestination(in.ExtendedS3DestinationConfiguration, "extendedS3DestinationConfiguration", true)
	case in.S3DestinationConfiguration != nil:
		dest, err = parseDestination(in.S3DestinationConfiguration, "s3DestinationConfiguration", false)
	default:
		return invalidArgument("A destination configuration is required: the emulator supports ExtendedS3DestinationConfiguration and S3DestinationConfiguration.")
	}
	if err != nil {
		return err
	}
	if err := validateObjectPath(s.cfg.dataDir, dest); err != nil {
		return err
	}
	tags := make(map[string]string, len(in.Tags))
	for _, t := range in.Tags {
		tags[t.Key] = derefString(t.Value)
	}
	st := s.newStream(in.DeliveryStreamName, in.DeliveryStreamType, s.cfg.now(), dest, tags)
	if err := s.initState(st, in.DeliveryStreamEncryptionConfigurationInput, false); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return serviceUnavailable(messageServiceUnavailab)
	}
	if _, exists := s.streams[st.name]; exists {
		s.mu.Unlock()
		return &apiError{code: codeResourceInUse, message: fmt.Sprintf("Firehose %s under accountId %s already exists", st.name, s.cfg.accountID), status: http.StatusBadRequest}
	}
	s.streams[st.name] = st
	s.mu.Unlock()
	if err := s.saveStreams(); err != nil {
		s.mu.Lock()
		delete(s.streams, st.name)
		s.mu.Unlock()
		return err
	}
	s.log.Debug("emulator: created stream", slog.String("stream", st.name), slog.String("bucket", dest.bucket))
	return writeFirehoseValue(w, map[string]string{"DeliveryStreamARN": st.arn})
}

func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

type streamNameInput struct {
	DeliveryStreamName string
}

func (s *Server) describeDeliveryStream(w http.ResponseWriter, body []byte) error {
	var in streamNameInput
	if err := decodeFirehose(body, &in); err != nil {
		return err
	}
	if err := validateStreamName(in.DeliveryStreamName, "deliveryStreamName"); err != nil {
		return err
	}
	st, ok := s.lookupStream(in.DeliveryStreamName)
	if !ok {
		return s.streamNotFound(in.DeliveryStreamName)
	}
	now := s.cfg.now()
	st.mu.Lock()
	d := st.dest
	state := st.state
	status := s.statusLocked(st, now)
	encryption := s.encryptionDescriptionLocked(st, now)
	st.mu.Unlock()
	hints := map[string]int{"SizeInMBs": d.sizeInMBs, "IntervalInSeconds": d.intervalInSeconds}
	roleARN := d.roleARN
	if roleARN == "" {
		roleARN = fmt.Sprintf("arn:aws:iam::%s:role/firehose-emulator", s.cfg.accountID)
	}
	s3Desc := map[string]any{
		"RoleARN":                 roleARN,
		"BucketARN":               d.bucketARN,
		"Prefix":                  d.prefix,
		"BufferingHints":          hints,
		"CompressionFormat":       d.compressionFormat,
		"EncryptionConfiguration": map[string]string{"NoEncryptionConfig": "NoEncryption"},
		"CloudWatchLoggingOptions": map[string]any{
			"Enabled": false,
		},
	}
	if d.errorOutputPrefix != "" {
		s3Desc["ErrorOutputPrefix"] = d.errorOutputPrefix
	}
	ext := make(map[string]any, len(s3Desc)+1)
	for k, v := range s3Desc {
		ext[k] = v
	}
	ext["S3BackupMode"] = "Disabled"
	desc := map[string]any{
		"DeliveryStreamName":                    st.name,
		"DeliveryStreamARN":                     st.arn,
		"DeliveryStreamStatus":                  status,
		"DeliveryStreamType":                    st.typ,
		"VersionId":                             strconv.Itoa(state.version),
		"CreateTimestamp":                       epochSeconds(st.createdAt),
		"LastUpdateTimestamp":                   epochSeconds(state.updatedAt),
		"DeliveryStreamEncryptionConfiguration": encryption,
		"Destinations": []map[string]any{{
			"DestinationId":                    destinationID,
			"S3DestinationDescription":         s3Desc,
			"ExtendedS3DestinationDescription": ext,
		}},
		"HasMoreDestinations": false,
	}
	return writeFirehoseValue(w, map[string]any{"DeliveryStreamDescription": desc})
}

// epochSeconds is a timestamp as AWS JSON sends it: seconds since the epoch,
// with milliseconds.
func epochSeconds(t time.Time) json.Number {
	return json.Number(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64))
}

type listDeliveryStreamsInput struct {
	Limit                            *int
	DeliveryStreamType               string
	ExclusiveStartDeliveryStreamName string
}

func (s *Server) listDeliveryStreams(w http.ResponseWriter, body []byte) error {
	var in listDeliveryStreamsInput
	if err := decodeFirehose(body, &in); err != nil {
		return err
	}
	limit := 10
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return validationError(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value %s", *in.Limit, rangeWord(*in.Limit, 1, 10000)))
		}
		limit = *in.Limit
	}
	var names []string
	for _, st := range s.streamList() {
		if in.DeliveryStreamType != "" && in.DeliveryStreamType != st.typ {
			continue
		}
		if in.ExclusiveStartDeliveryStreamName != "" && st.name <= in.ExclusiveStartDeliveryStreamName {
			continue
		}
		names = append(names, st.name)
	}
	slices.Sort(names)
	more := len(names) > limit
	if more {
		names = names[:limit]
	}
	if names == nil {
		names = []string{}
	}
	return writeFirehoseValue(w, map[string]any{"DeliveryStreamNames": names, "HasMoreDeliveryStreams": more})
}

func (s *Server) deleteDeliveryStream(w http.ResponseWriter, body []byte) error {
	var in streamNameInput
	if err := decodeFirehose(body, &in); err != nil {
		return err
	}
	if err := validateStreamName(in.DeliveryStreamName, "deliveryStreamName"); err != nil {
		return err
	}
	st, ok := s.lookupStream(in.DeliveryStreamName)
	if !ok {
		return s.streamNotFound(in.DeliveryStreamName)
	}
	switch s.streamStatus(st) {
	case "CREATING":
		return &apiError{code: codeResourceInUse, status: http.StatusBadRequest,
			message: fmt.Sprintf("Firehose %s under account %s is CREATING and cannot be deleted yet.", st.name, s.cfg.accountID)}
	case "DELETING":
		return writeFirehoseValue(w, struct{}{})
	}
	if err := st.flush(true); err != nil {
		return fmt.Errorf("flush before delete: %w", err)
	}
	// DELETING for CreateDelay (firehose_manage.go); streams.json drops
	// it now, so a restart does not bring it back.
	s.scheduleRemoval(st)
	if err := s.saveStreams(); err != nil {
		return err
	}
	s.log.Debug("emulator: deleted stream", slog.String("stream", st.name))
	return writeFirehoseValue(w, struct{}{})
}

type tagsInput struct {
	DeliveryStreamName string
	Tags               []tagJSON
	TagKeys            []string
}

func (s *Server) tagsTarget(body []byte) (*stream, tagsInput, error) {
	var in tagsInput
	if err := decodeFirehose(body, &in); err != nil {
		return nil, in, err
	}
	if err := validateStreamName(in.DeliveryStreamName, "deliveryStreamName"); err != nil {
		return nil, in, err
	}
	st, ok := s.lookupStream(in.DeliveryStreamName)
	if !ok {
		return nil, in, s.streamNotFound(in.DeliveryStreamName)
	}
	return st, in, nil
}

func (s *Server) tagDeliveryStream(w http.ResponseWriter, body []byte) error {
	st, in, err := s.tagsTarget(body)
	if err != nil {
		return err
	}
	st.mu.Lock()
	for _, t := range in.Tags {
		st.tags[t.Key] = derefString(t.Value)
	}
	st.mu.Unlock()
	if err := s.saveStreams(); err != nil {
		return err
	}
	return writeFirehoseValue(w, struct{}{})
}

func (s *Server) untagDeliveryStream(w http.ResponseWriter, body []byte) error {
	st, in, err := s.tagsTarget(body)
	if err != nil {
		return err
	}
	st.mu.Lock()
	for _, k := range in.TagKeys {
		delete(st.tags, k)
	}
	st.mu.Unlock()
	if err := s.saveStreams(); err != nil {
		return err
	}
	return writeFirehoseValue(w, struct{}{})
}
