package producer

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// capturedRequest is what a test server saw of one request.
type capturedRequest struct {
	target, contentType string
	body                any // decoded JSON
}

// TestBatchWireWritesTheSDKsRequest: with putOptions, a real SDK client sends
// PutRecordBatch with the headers and the JSON (same members, same base64)
// the SDK itself writes, for any bytes, and reads the answer the same way.
func TestBatchWireWritesTheSDKsRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []capturedRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		var body any
		if err == nil {
			err = json.Unmarshal(raw, &body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, capturedRequest{r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"), body})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = io.WriteString(w, `{"FailedPutCount":1,"Encrypted":false,"RequestResponses":[{"RecordId":"a"},{"ErrorCode":"ServiceUnavailableException","ErrorMessage":"Slow down."},{"RecordId":"c"}]}`)
	}))
	t.Cleanup(srv.Close)
	client := firehose.New(firehose.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	in := &firehose.PutRecordBatchInput{
		DeliveryStreamName: aws.String("stream-1_a.b"),
		Records: []types.Record{
			{Data: []byte(`{"ip_address":"10.0.0.1","note":"<&>\u2028"}` + "\n")},
			{Data: binary},
			{Data: []byte("x")},
		},
	}
	sdkOut, err := client.PutRecordBatch(context.Background(), in)
	if err != nil {
		t.Fatalf("SDK's own encoding: %v", err)
	}
	ourOut, err := client.PutRecordBatch(context.Background(), in, putOptions)
	if err != nil {
		t.Fatalf("with putOptions: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(got))
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Errorf("requests differ:\nSDK:  %+v\nours: %+v", got[0], got[1])
	}
	if got[1].target != "Firehose_20150804.PutRecordBatch" || got[1].contentType != "application/x-amz-json-1.1" {
		t.Errorf("target %q content type %q", got[1].target, got[1].contentType)
	}
	if *ourOut.FailedPutCount != *sdkOut.FailedPutCount || len(ourOut.RequestResponses) != 3 ||
		deref(ourOut.RequestResponses[1].ErrorCode) != "ServiceUnavailableException" || deref(ourOut.RequestResponses[2].RecordId) != "c" {
		t.Errorf("answer read as %+v", ourOut)
	}
}

// TestBatchWireKeepsSDKErrors: a refused PutRecordBatch still comes back as
// the SDK's typed error, which the producer's classification relies on.
func TestBatchWireKeepsSDKErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Firehose s not found."}`)
	}))
	t.Cleanup(srv.Close)
	client := firehose.New(firehose.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	_, err := client.PutRecordBatch(context.Background(), &firehose.PutRecordBatchInput{
		DeliveryStreamName: aws.String("s"),
		Records:            []types.Record{{Data: []byte("x")}},
	}, putOptions)
	var notFound *types.ResourceNotFoundException
	if !errorsAs(err, &notFound) {
		t.Fatalf("error %v (%T), want *types.ResourceNotFoundException", err, err)
	}
}
