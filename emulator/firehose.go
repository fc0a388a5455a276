package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
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
