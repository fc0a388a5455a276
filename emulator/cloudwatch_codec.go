package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
)

// This file holds the CloudWatch wire codecs: rpc-v2-cbor and AWS JSON 1.0
// (awsQuery is in query.go), and the timestamp both carry.

// cwCodec is one CloudWatch wire protocol: rpc-v2-cbor or AWS JSON 1.0.
type cwCodec interface {
	decode(body []byte, v any) error
	write(w http.ResponseWriter, v any) error
	writeError(w http.ResponseWriter, e *cwError)
}

const cwShapePrefix = "com.amazonaws.cloudwatch#"

var (
	cborEnc = mustEncMode()
	cborDec = mustDecMode()
)

func mustEncMode() cbor.EncMode {
	em, err := cbor.EncOptions{NilContainers: cbor.NilContainerAsEmpty}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}

func mustDecMode() cbor.DecMode {
	dm, err := cbor.DecOptions{}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}

// cborCodec speaks smithy rpc-v2-cbor, what the current Go SDK sends.
type cborCodec struct{}

func (cborCodec) decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	return cborDec.Unmarshal(body, v)
}

func (cborCodec) write(w http.ResponseWriter, v any) error {
	body, err := cborEnc.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode cbor response: %w", err)
	}
	h := w.Header()
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	h.Set("Content-Type", "application/cbor")
	h.Set("X-Amzn-Requestid", uuid.NewString())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func (cborCodec) writeError(w http.ResponseWriter, e *cwError) {
	body, _ := cborEnc.Marshal(map[string]string{"__type": cwShapePrefix + e.shape, "message": e.message})
	h := w.Header()
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	h.Set("Content-Type", "application/cbor")
	h.Set("X-Amzn-Requestid", uuid.NewString())
	h.Set("X-Amzn-Query-Error", e.queryHeader())
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// jsonCodec speaks AWS JSON 1.0, what botocore and the AWS CLI send.
type jsonCodec struct{}

func (jsonCodec) decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return json.Unmarshal(body, v)
}

func (jsonCodec) write(w http.ResponseWriter, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode json response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", uuid.NewString())
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func (jsonCodec) writeError(w http.ResponseWriter, e *cwError) {
	body, _ := json.Marshal(map[string]string{"__type": cwShapePrefix + e.shape, "message": e.message})
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", uuid.NewString())
	h.Set("X-Amzn-Query-Error", e.queryHeader())
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func (e *cwError) queryHeader() string {
	if e.sender {
		return e.queryCode + ";Sender"
	}
	return e.queryCode + ";Receiver"
}

// cwTime is a CloudWatch timestamp: epoch seconds in JSON, CBOR tag 1 with
// float seconds in rpc-v2-cbor.
type cwTime struct{ time.Time }

func (t cwTime) MarshalJSON() ([]byte, error) {
	return []byte(epochSeconds(t.Time)), nil
}

func (t *cwTime) UnmarshalJSON(b []byte) error {
	if s, err := strconv.Unquote(string(b)); err == nil {
		parsed, perr := time.Parse(time.RFC3339Nano, s)
		if perr != nil {
			return fmt.Errorf("timestamp %q: %w", s, perr)
		}
		t.Time = parsed
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s: %w", b, err)
	}
	t.Time = floatSecondsToTime(f)
	return nil
}

func (t cwTime) MarshalCBOR() ([]byte, error) {
	return cborEnc.Marshal(cbor.Tag{Number: 1, Content: float64(t.UnixMilli()) / 1000})
}

func (t *cwTime) UnmarshalCBOR(b []byte) error {
	var tm time.Time
	if err := cborDec.Unmarshal(b, &tm); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	t.Time = tm
	return nil
}

func floatSecondsToTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}

// Wire shapes. Field names are the same in both protocols; fxamacker/cbor
// reads the json tags.
