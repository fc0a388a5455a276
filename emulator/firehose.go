package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Fixed per-call limits of PutRecord and PutRecordBatch.
const (
	maxBatchRecords = 500
	maxRecordBytes  = 1_024_000
	// maxBatchBytes: a call whose records add up to 4 MiB or more is
	// refused (FACTS.md, seen on the real service), so this is the most.
	maxBatchBytes = 4<<20 - 1
)

// recordOutcome is what happened to one record of a Put request.
type recordOutcome uint8

const (
	outcomeOK          recordOutcome = iota
	outcomeThrottled                 // over a quota: ServiceUnavailableException "Slow down."
	outcomeUnavailable               // injected: ServiceUnavailableException
	outcomeInternal                  // injected: InternalFailure
)

func (o recordOutcome) codeAndMessage() (string, string) {
	switch o {
	case outcomeThrottled:
		return codeServiceUnavailable, messageSlowDown
	case outcomeUnavailable:
		return codeServiceUnavailable, messageServiceUnavailab
	default:
		return codeInternalFailure, messageInternalFailure
	}
}

func (o recordOutcome) apiError() *apiError {
	code, msg := o.codeAndMessage()
	return &apiError{code: code, message: msg, status: http.StatusInternalServerError}
}

func (s *Server) serveFirehose(w http.ResponseWriter, r *http.Request, op string) {
	// Read the body before the injected latency: net/http notices a client
	// that gives up (and cancels r.Context) only once the body is consumed.
	bodyBuf, err := readBody(r)
	defer putBodyBuffer(bodyBuf)
	if err == nil && !s.sleepLatency(r) {
		return
	}
	body := bodyBuf.Bytes()
	var sf scriptedOutcome
	if err == nil {
		sf = s.applyScriptedFault(w, r, op)
		if sf.stop {
			return
		}
		if sf.err != nil {
			err = sf.err
		}
		if sf.lost {
			defer dropConnection(w)
			w = &discardingWriter{header: make(http.Header)}
		}
	}
	if err == nil {
		switch op {
		case "PutRecordBatch":
			err = s.putRecordBatch(w, body, sf.forced)
		case "PutRecord":
			err = s.putRecord(w, body, sf.forced)
		case "CreateDeliveryStream":
			err = s.createDeliveryStream(w, body)
		case "DescribeDeliveryStream":
			err = s.describeDeliveryStream(w, body)
		case "ListDeliveryStreams":
			err = s.listDeliveryStreams(w, body)
		case "DeleteDeliveryStream":
			err = s.deleteDeliveryStream(w, body)
		case "ListTagsForDeliveryStream":
			err = s.listTagsPaged(w, body)
		case "TagDeliveryStream":
			err = s.tagDeliveryStream(w, body)
		case "UntagDeliveryStream":
			err = s.untagDeliveryStream(w, body)
		case "UpdateDestination":
			err = s.updateDestination(w, body)
		case "StartDeliveryStreamEncryption":
			err = s.startEncryption(w, body)
		case "StopDeliveryStreamEncryption":
			err = s.stopEncryption(w, body)
		default:
			err = &apiError{code: codeUnknownOperation, message: "the emulator does not implement Firehose operation " + op, status: http.StatusBadRequest}
		}
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			s.log.Error("emulator: firehose request", slog.String("op", op), slog.Any("error", err))
			ae = internalFailure()
		}
		s.log.Debug("emulator: firehose error", slog.String("op", op), slog.String("code", ae.code), slog.String("message", ae.message))
		writeFirehoseError(w, ae)
	}
}

// sleepLatency waits the injected latency; false if the client went away.
func (s *Server) sleepLatency(r *http.Request) bool {
	return sleepContext(r, s.cfg.faults.Latency)
}

// sleepContext waits d; false if the client went away first.
func sleepContext(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func writeFirehoseError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(map[string]string{"__type": e.code, "message": e.message})
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", uuid.NewString())
	h.Set("X-Amzn-Errortype", e.code)
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func writeFirehoseJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", uuid.NewString())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func writeFirehoseValue(w http.ResponseWriter, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	writeFirehoseJSON(w, body)
	return nil
}

// bodyPool recycles request body buffers: the handlers copy what they keep
// (strings, and records into the stream's buffer).
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody bounds the body buffers kept for reuse; a body that needed
// more (over a 4 MiB batch's base64) is left to the garbage collector.
const maxPooledBody = 6 << 20

func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		b.Reset()
		bodyPool.Put(b)
	}
}

// readBody reads the whole request body into a pooled buffer, to be given
// back with putBodyBuffer once the handler is done with it, error or not.
// A body over the size cap can only be a batch over 4 MiB.
func readBody(r *http.Request) (*bytes.Buffer, error) {
	// The buffer grows as bytes arrive, never from Content-Length: a client
	// that declares 12 MiB and sends one byte holds one byte.
	buf := bodyPool.Get().(*bytes.Buffer)
	if _, err := buf.ReadFrom(r.Body); err != nil {
		buf.Reset()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return buf, invalidArgument(messageRecordsTooLarge)
		}
		if errors.Is(err, errOverloaded) {
			return buf, serviceUnavailable(messageServiceUnavailab)
		}
		return buf, serializationError("could not read the request body")
	}
	return buf, nil
}

// decodeFirehose decodes a JSON request body into v, mapping problems to
// the errors the service answers.
func decodeFirehose(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var ute *json.UnmarshalTypeError
		var ce base64.CorruptInputError
		switch {
		case errors.As(err, &ce):
			return serializationError("Failed to deserialize Base64 data: " + err.Error())
		case errors.As(err, &ute):
			return serializationError(fmt.Sprintf("Unexpected value type for %s", ute.Field))
		default:
			return serializationError("Malformed request body: " + err.Error())
		}
	}
	return nil
}

var streamNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

func validateStreamName(name, field string) error {
	switch {
	case name == "":
		return validationError(fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field))
	case len(name) > 64:
		return validationError(fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to 64", name, field))
	case !streamNamePattern.MatchString(name):
		return validationError(fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name, field))
	}
	return nil
}

func (s *Server) streamNotFound(name string) *apiError {
	return resourceNotFound(fmt.Sprintf("Firehose %s under account %s not found.", name, s.cfg.accountID))
}

func dataTooLong(field string, n int) *apiError {
	return validationError(fmt.Sprintf("1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", n, n, field, maxRecordBytes))
}

type putRecordInput struct {
	DeliveryStreamName string
	Record             *struct{ Data []byte }
}

type putRecordBatchInput struct {
	DeliveryStreamName string
	Records            []struct{ Data []byte }
}

func (s *Server) putRecord(w http.ResponseWriter, body []byte, forced recordOutcome) error {
	start := s.cfg.now()
	var in putRecordInput
	if err := decodeFirehose(body, &in); err != nil {
		return err
	}
	if err := validateStreamName(in.DeliveryStreamName, "deliveryStreamName"); err != nil {
		return err
	}
	if in.Record == nil || in.Record.Data == nil {
		return validationError("1 validation error detected: Value null at 'record.data' failed to satisfy constraint: Member must not be null")
	}
	if n := len(in.Record.Data); n > maxRecordBytes {
		return dataTooLong("record.data", n)
	}
	st, ok := s.lookupStream(in.DeliveryStreamName)
	if !ok {
		return s.streamNotFound(in.DeliveryStreamName)
	}
	if err := s.checkActive(st); err != nil {
		return err
	}
	if ae := s.faults.requestFault(); ae != nil {
		return ae
	}
	records := [][]byte{in.Record.Data}
	outcomes := []recordOutcome{outcomeOK}
	res, err := s.accept(st, start, records, outcomes, forced)
	if err != nil {
		return err
	}
	size := float64(len(in.Record.Data))
	s.metrics.put(namespaceFirehose, st.dims, start,
		sample{name: "PutRecord.Requests", value: 1, unit: unitCount},
		sample{name: "PutRecord.Bytes", value: size, unit: unitBytes},
		sample{name: "PutRecord.Latency", value: msSince(s.cfg.now(), start), unit: unitMilliseconds},
	)
	if outcomes[0] != outcomeOK {
		return outcomes[0].apiError()
	}
	if res.requestAdmitted && s.faults.lostResponse() {
		dropConnection(w)
		return nil
	}
	ids := newRecordIDs()
	out := make([]byte, 0, 96)
	out = append(out, `{"Encrypted":`...)
	out = strconv.AppendBool(out, st.encrypted.Load())
	out = append(out, `,"RecordId":"`...)
	out = ids.append(out, 0)
	out = append(out, `"}`...)
	writeFirehoseJSON(w, out)
	return nil
}

func (s *Server) putRecordBatch(w http.ResponseWriter, body []byte, forced recordOutcome) error {
	start := s.cfg.now()
	sc := getBatchScratch()
	defer putBatchScratch(sc)
	name, records, err := decodeBatch(body, sc)
	if err != nil {
		return err
	}
	if err := validateStreamName(name, "deliveryStreamName"); err != nil {
		return err
	}
	n := len(records)
	switch {
	case n == 0:
		return validationError("1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case n > maxBatchRecords:
		return validationError("1 validation error detected: Value '[...]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500")
	}
	total := 0
	for i, rec := range records {
		if rec == nil {
			return validationError(fmt.Sprintf("1 validation error detected: Value null at 'records.%d.member.data' failed to satisfy constraint: Member must not be null", i+1))
		}
		if len(rec) > maxRecordBytes {
			return dataTooLong(fmt.Sprintf("records.%d.member.data", i+1), len(rec))
		}
		total += len(rec)
	}
	if total > maxBatchBytes {
		return invalidArgument(messageRecordsTooLarge)
	}
	st, ok := s.lookupStream(name)
	if !ok {
		return s.streamNotFound(name)
	}
	if err := s.checkActive(st); err != nil {
		return err
	}
	if ae := s.faults.requestFault(); ae != nil {
		return ae
	}
	outcomes := slices.Grow(sc.outcomes[:0], n)[:n]
	clear(outcomes)
	sc.outcomes = outcomes
	res, err := s.accept(st, start, records, outcomes, forced)
	if err != nil {
		return err
	}
	s.metrics.put(namespaceFirehose, st.dims, start,
		sample{name: "PutRecordBatch.Requests", value: 1, unit: unitCount},
		sample{name: "PutRecordBatch.Records", value: float64(n), unit: unitCount},
		sample{name: "PutRecordBatch.Bytes", value: float64(total), unit: unitBytes},
		sample{name: "PutRecordBatch.Latency", value: msSince(s.cfg.now(), start), unit: unitMilliseconds},
	)
	if res.requestAdmitted && s.faults.lostResponse() {
		dropConnection(w)
		return nil
	}
	sc.response = encodeBatchResponse(sc.response[:0], outcomes, n-res.accepted, st.encrypted.Load())
	writeFirehoseJSON(w, sc.response)
	return nil
}

// acceptResult sums up what accept did with a request's records.
type acceptResult struct {
	requestAdmitted bool // within the requests/s quota
	accepted        int
	acceptedBytes   int
}

// accept runs the quotas and record faults over records and appends the
// accepted ones to the stream's spool, all under the stream's lock, then
// emits the incoming metrics. outcomes must be all outcomeOK on entry;
// forced, unless outcomeOK, fails every record with that outcome (a
// scripted fault). When accept returns without error the accepted records
// are in the spool (and synced, with SyncWrites): the answer may go out.
func (s *Server) accept(st *stream, now time.Time, records [][]byte, outcomes []recordOutcome, forced recordOutcome) (acceptResult, error) {
	res := acceptResult{requestAdmitted: true}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		if s.isClosed() {
			return res, serviceUnavailable(messageServiceUnavailab)
		}
		return res, s.streamNotFound(st.name)
	}
	throttled := 0
	if forced != outcomeOK {
		for i := range outcomes {
			outcomes[i] = forced
		}
	} else {
		if st.quota != nil {
			throttled, res.requestAdmitted = st.quota.admit(now, records, outcomes)
		}
		s.faults.recordFaults(outcomes)
	}
	for i, rec := range records {
		if outcomes[i] != outcomeOK {
			continue
		}
		res.accepted++
		res.acceptedBytes += len(rec)
	}
	var (
		sp  *spool
		end int64
	)
	if res.accepted > 0 {
		var err error
		sp, end, err = st.appendLocked(now, records, outcomes)
		if err != nil {
			st.mu.Unlock()
			s.log.Error("emulator: spool a request", slog.String("stream", st.name), slog.Any("error", err))
			return res, serviceUnavailable(messageServiceUnavailab)
		}
	}
	st.flushAfterAppendLocked() // unlocks st.mu
	if sp != nil && st.sync {
		if err := sp.syncTo(end); err != nil {
			s.log.Error("emulator: sync a request", slog.String("stream", st.name), slog.Any("error", err))
			return res, serviceUnavailable(messageServiceUnavailab)
		}
	}

	samples := make([]sample, 0, 7)
	samples = append(samples, sample{name: "ThrottledRecords", value: float64(throttled), unit: unitCount})
	if res.requestAdmitted {
		samples = append(samples,
			sample{name: "IncomingPutRequests", value: 1, unit: unitCount},
			sample{name: "IncomingRecords", value: float64(res.accepted), unit: unitCount},
			sample{name: "IncomingBytes", value: float64(res.acceptedBytes), unit: unitBytes},
		)
	}
	if q := st.quota; q != nil {
		samples = append(samples,
			sample{name: "RecordsPerSecondLimit", value: float64(q.cfg.RecordsPerSecond), unit: unitCount},
			sample{name: "PutRequestsPerSecondLimit", value: float64(q.cfg.RequestsPerSecond), unit: unitCount},
			sample{name: "BytesPerSecondLimit", value: float64(q.cfg.BytesPerSecond), unit: unitBytes},
		)
	}
	s.metrics.put(namespaceFirehose, st.dims, now, samples...)
	s.log.Debug("emulator: put", slog.String("stream", st.name), slog.Int("records", len(records)),
		slog.Int("accepted", res.accepted), slog.Int("throttled", throttled))
	return res, nil
}

func msSince(now, start time.Time) float64 {
	return float64(now.Sub(start).Microseconds()) / 1000
}

// dropConnection closes the connection without an answer: the records of
// the request are delivered, the client sees a broken connection.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// recordIDs makes distinct RecordIds for one request: a random per-request
// prefix and the record's index, 56 characters like the real ones' length
// class.
type recordIDs struct {
	prefix [48]byte
}

const recordIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func newRecordIDs() recordIDs {
	var ids recordIDs
	for i := 0; i < len(ids.prefix); i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8; j++ {
			ids.prefix[i+j] = recordIDAlphabet[v&63]
			v >>= 6
		}
	}
	return ids
}

func (ids *recordIDs) append(b []byte, i int) []byte {
	b = append(b, ids.prefix[:]...)
	const hexDigits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(i>>shift)&0xf])
	}
	return b
}

// encodeBatchResponse writes the PutRecordBatch answer by hand: it is the
// hot path, and every string in it is plain ASCII needing no escaping.
func encodeBatchResponse(b []byte, outcomes []recordOutcome, failed int, encrypted bool) []byte {
	ids := newRecordIDs()
	b = slices.Grow(b, 64+len(outcomes)*72)
	b = append(b, `{"Encrypted":`...)
	b = strconv.AppendBool(b, encrypted)
	b = append(b, `,"FailedPutCount":`...)
	b = strconv.AppendInt(b, int64(failed), 10)
	b = append(b, `,"RequestResponses":[`...)
	for i, o := range outcomes {
		if i > 0 {
			b = append(b, ',')
		}
		if o == outcomeOK {
			b = append(b, `{"RecordId":"`...)
			b = ids.append(b, i)
			b = append(b, `"}`...)
			continue
		}
		code, msg := o.codeAndMessage()
		b = append(b, `{"ErrorCode":"`...)
		b = append(b, code...)
		b = append(b, `","ErrorMessage":"`...)
		b = append(b, msg...)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

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
