package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// putOptions are the per-call options of every PutRecord and PutRecordBatch
// call: the SDK's retries off (the producer retries) and PutRecordBatch's
// body and answer encoded by encoding/json.
func putOptions(o *firehose.Options) {
	withoutSDKRetries(o)
	if o.Protocol != nil {
		if _, done := o.Protocol.(batchWire); !done {
			o.Protocol = batchWire{o.Protocol}
		}
	}
}

// batchWire is the client's protocol (awsJson 1.1, set by the SDK) with one
// change: the PutRecordBatch request body and its successful answer are
// encoded by encoding/json, the same JSON as the SDK writes. The SDK's
// generic serializer grows its buffer record by record and copies it out
// whole, several times the body in garbage per call; at 500 small records a
// call that garbage was most of the CPU the producer spent beyond the SDK's
// own work (see ARCHITECTURE.md, CPU). Headers, signing, errors and every
// other operation stay the SDK's: the request headers are the ones the SDK
// writes, and a non-2xx answer goes to the SDK's error decoding.
type batchWire struct{ smithyhttp.ClientProtocol }

// batchBody is the JSON body of PutRecordBatch. encoding/json writes Data
// ([]byte) as standard base64, the service's blob encoding.
type batchBody struct {
	DeliveryStreamName *string
	Records            []types.Record
}

// SerializeRequest writes PutRecordBatch's body with encoding/json, after the
// SDK's protocol has set the method, path and headers; any other operation
// is the SDK's.
func (w batchWire) SerializeRequest(ctx context.Context, schema *smithy.OperationSchema, in smithy.Serializable, req *smithyhttp.Request) error {
	batch, ok := in.(*firehose.PutRecordBatchInput)
	if !ok {
		return w.ClientProtocol.SerializeRequest(ctx, schema, in, req) //nolint:wrapcheck // the SDK's own error
	}
	// The SDK's protocol sets method, path, target and content type; its
	// body (no records) is replaced below.
	empty := &firehose.PutRecordBatchInput{DeliveryStreamName: batch.DeliveryStreamName}
	if err := w.ClientProtocol.SerializeRequest(ctx, schema, empty, req); err != nil {
		return err //nolint:wrapcheck // the SDK's own error
	}
	body, err := json.Marshal(batchBody{DeliveryStreamName: batch.DeliveryStreamName, Records: batch.Records})
	if err != nil {
		return &smithy.SerializationError{Err: fmt.Errorf("encode PutRecordBatch: %w", err)}
	}
	sreq, err := req.SetStream(bytes.NewReader(body))
	if err != nil {
		return &smithy.SerializationError{Err: fmt.Errorf("set PutRecordBatch body: %w", err)}
	}
	*req = *sreq
	return nil
}
