package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"sync"
)

// The PutRecordBatch hot path: encoding/json decoding Records[].Data as
// []byte allocates a slice per record. Instead the request is decoded with
// Data kept as its raw JSON text (a sub-slice of the body, no copy), and
// each record's base64 is decoded into one pooled arena. Anything unusual
// (an error, a string with escapes, a non-string Data) goes through the
// plain encoding/json decode, so answers stay exactly what they were.

// rawJSON keeps a JSON value as received. json.Unmarshal passes an
// Unmarshaler a sub-slice of its input; the body outlives the request's
// decode, so no copy is needed.
type rawJSON []byte

// repeatedKey marks a member given more than once in one object:
// encoding/json reports an error in any of the values, so such a body takes
// the plain decode.
var repeatedKey = rawJSON("repeated")

// UnmarshalJSON keeps b, or repeatedKey on a second call for one member.
func (r *rawJSON) UnmarshalJSON(b []byte) error {
	if *r != nil {
		*r = repeatedKey
		return nil
	}
	*r = b
	return nil
}

type rawRecord struct{ Data rawJSON }

type putRecordBatchRaw struct {
	DeliveryStreamName string
	Records            []rawRecord
}

// batchScratch is the reusable memory of one PutRecordBatch request.
type batchScratch struct {
	raw      putRecordBatchRaw
	records  [][]byte
	arena    []byte
	outcomes []recordOutcome
	response []byte
}

var batchScratchPool = sync.Pool{New: func() any { return new(batchScratch) }}

// maxPooledScratch bounds what a scratch keeps between requests (a full
// 4 MiB batch fits); a bigger one is left to the garbage collector.
const maxPooledScratch = 5 << 20

func getBatchScratch() *batchScratch { return batchScratchPool.Get().(*batchScratch) }

func putBatchScratch(sc *batchScratch) {
	if cap(sc.arena) > maxPooledScratch || cap(sc.response) > maxPooledScratch {
		return
	}
	clear(sc.raw.Records[:cap(sc.raw.Records)])
	sc.raw = putRecordBatchRaw{Records: sc.raw.Records[:0]}
	clear(sc.records[:cap(sc.records)])
	sc.records = sc.records[:0]
	batchScratchPool.Put(sc)
}

// decodeBatch decodes a PutRecordBatch body into the stream name and the
// records' data (nil where Data is missing or null). The records point into
// sc and are valid until sc goes back to the pool.
func decodeBatch(body []byte, sc *batchScratch) (string, [][]byte, error) {
	if name, records, ok := decodeBatchFast(body, sc); ok {
		return name, records, nil
	}
	var in putRecordBatchInput
	if err := decodeFirehose(body, &in); err != nil {
		return "", nil, err
	}
	records := make([][]byte, len(in.Records))
	for i, rec := range in.Records {
		records[i] = rec.Data
	}
	return in.DeliveryStreamName, records, nil
}

// decodeBatchFast decodes body when every Data is null, missing or a
// string without escapes holding valid base64; ok is false otherwise.
func decodeBatchFast(body []byte, sc *batchScratch) (string, [][]byte, bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil, false
	}
	// json keeps fields the body lacks and reuses slice elements without
	// zeroing them: start from a clean value.
	clear(sc.raw.Records[:cap(sc.raw.Records)])
	sc.raw = putRecordBatchRaw{Records: sc.raw.Records[:0]}
	if err := json.Unmarshal(body, &sc.raw); err != nil {
		return "", nil, false
	}
	need := 0
	for _, rec := range sc.raw.Records {
		d := rec.Data
		switch {
		case d == nil || string(d) == "null":
		case len(d) >= 2 && d[0] == '"' && bytes.IndexByte(d, '\\') < 0:
			need += base64.StdEncoding.DecodedLen(len(d) - 2)
		default:
			return "", nil, false
		}
	}
	if cap(sc.arena) < need || sc.arena == nil {
		sc.arena = make([]byte, max(need, 64))
	}
	arena := sc.arena[:cap(sc.arena)]
	records := sc.records[:0]
	off := 0
	for _, rec := range sc.raw.Records {
		d := rec.Data
		if d == nil || d[0] == 'n' {
			records = append(records, nil)
			continue
		}
		n, err := base64.StdEncoding.Decode(arena[off:], d[1:len(d)-1])
		if err != nil {
			return "", nil, false
		}
		records = append(records, arena[off:off+n:off+n])
		off += n
	}
	sc.records = records
	return sc.raw.DeliveryStreamName, records, true
}
