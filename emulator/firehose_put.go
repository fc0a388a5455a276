package emulator

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// This file serves PutRecord and PutRecordBatch: decoding, quotas and
// faults over the records, the spool, and the answer.

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
