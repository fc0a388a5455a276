package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"
)

// callResult is what one Firehose call through the real SDK came back with.
type callResult struct {
	err      error
	failed   int      // FailedPutCount of a PutRecordBatch
	codes    []string // per-record ErrorCode of a PutRecordBatch
	messages []string
}

// scriptedCall makes call number i of op, sending records that carry i.
func scriptedCall(ctx context.Context, fh *firehose.Client, op string, i int) (callResult, []string) {
	lines := []string{fmt.Sprintf("call%02d-a\n", i), fmt.Sprintf("call%02d-b\n", i)}
	switch op {
	case "PutRecordBatch":
		out, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{
			DeliveryStreamName: aws.String("s"),
			Records:            []types.Record{{Data: []byte(lines[0])}, {Data: []byte(lines[1])}},
		})
		res := callResult{err: err}
		if err == nil {
			res.failed = int(aws.ToInt32(out.FailedPutCount))
			for _, r := range out.RequestResponses {
				res.codes = append(res.codes, aws.ToString(r.ErrorCode))
				res.messages = append(res.messages, aws.ToString(r.ErrorMessage))
			}
		}
		return res, lines
	case "PutRecord":
		_, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("s"), Record: &types.Record{Data: []byte(lines[0])}})
		return callResult{err: err}, lines[:1]
	default:
		_, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("s")})
		return callResult{err: err}, nil
	}
}

func wantAPIError(code string) func(*testing.T, callResult) {
	return func(t *testing.T, r callResult) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(r.err, &ae) || ae.ErrorCode() != code {
			t.Errorf("error = %v, want API error %s", r.err, code)
		}
	}
}

func wantRecordErrors(code, message string) func(*testing.T, callResult) {
	return func(t *testing.T, r callResult) {
		t.Helper()
		if r.err != nil {
			t.Fatalf("error = %v, want a 200 with failed records", r.err)
		}
		if r.failed != 2 || !slices.Equal(r.codes, []string{code, code}) {
			t.Errorf("failed %d, codes %v; want both records failed with %s", r.failed, r.codes, code)
		}
		if message != "" && !slices.Equal(r.messages, []string{message, message}) {
			t.Errorf("messages %q, want %q", r.messages, message)
		}
	}
}

// wantBrokenConnection: the call got no answer at all, only a transport
// error.
func wantBrokenConnection(t *testing.T, r callResult) {
	t.Helper()
	var ae smithy.APIError
	if r.err == nil || errors.As(r.err, &ae) {
		t.Errorf("error = %v, want a connection error without an answer", r.err)
	}
}

// Each scripted fault takes exactly the next N calls of its operation,
// through the real SDK with retries off, then normal service resumes; the
// delivered records are exactly those of the calls the service accepted.
func TestScriptedFaultsTakeExactlyTheNextCalls(t *testing.T) {
	const n = 3
	tests := []struct {
		name      string
		op        string
		fault     Fault
		check     func(*testing.T, callResult)
		delivered bool // the faulted calls' records are delivered
	}{
		{name: "batch fails whole with InternalFailure", op: "PutRecordBatch",
			fault: FailNext("PutRecordBatch", n, FaultInternalFailure), check: wantAPIError("InternalFailure")},
		{name: "batch fails whole with ServiceUnavailable", op: "PutRecordBatch",
			fault: FailNext("PutRecordBatch", n, FaultServiceUnavailable), check: wantAPIError("ServiceUnavailableException")},
		{name: "batch records fail with InternalFailure", op: "PutRecordBatch",
			fault: FailRecordsNext("PutRecordBatch", n, FaultInternalFailure), check: wantRecordErrors("InternalFailure", messageInternalFailure)},
		{name: "batch records are throttled", op: "PutRecordBatch",
			fault: FailRecordsNext("PutRecordBatch", n, FaultThrottled), check: wantRecordErrors("ServiceUnavailableException", "Slow down.")},
		{name: "batch response lost", op: "PutRecordBatch",
			fault: LoseResponseNext("PutRecordBatch", n), check: wantBrokenConnection, delivered: true},
		{name: "batch connection dropped", op: "PutRecordBatch",
			fault: DropConnectionNext("PutRecordBatch", n), check: wantBrokenConnection},
		{name: "put record fails with InvalidArgument", op: "PutRecord",
			fault: FailNext("PutRecord", n, FaultInvalidArgument), check: wantAPIError("InvalidArgumentException")},
		{name: "put record's record fails", op: "PutRecord",
			fault: FailRecordsNext("PutRecord", n, FaultServiceUnavailable), check: wantAPIError("ServiceUnavailableException")},
		{name: "put record response lost", op: "PutRecord",
			fault: LoseResponseNext("PutRecord", n), check: wantBrokenConnection, delivered: true},
		{name: "describe fails", op: "DescribeDeliveryStream",
			fault: FailNext("DescribeDeliveryStream", n, FaultResourceNotFound), check: wantAPIError("ResourceNotFoundException")},
		{name: "any operation", op: "PutRecordBatch",
			fault: DropConnectionNext("", n), check: wantBrokenConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, url := startServer(t, NoQuotas())
			fh := firehoseClient(url, 1)
			ctx := ctxTimeout(t)
			createStream(t, fh, "s", "bkt", "", 5, 300)
			// A fault for another operation stays untouched throughout.
			other := FailNext("ListDeliveryStreams", 1, FaultInternalFailure)
			if err := srv.Control(tt.fault, other); err != nil {
				t.Fatalf("Control: %v", err)
			}
			var want []string
			for i := range n {
				res, lines := scriptedCall(ctx, fh, tt.op, i)
				tt.check(t, res)
				if tt.delivered {
					want = append(want, lines...)
				}
			}
			res, lines := scriptedCall(ctx, fh, tt.op, n)
			if res.err != nil || res.failed != 0 {
				t.Fatalf("call %d after the fault: error %v, %d failed; want normal service", n+1, res.err, res.failed)
			}
			want = append(want, lines...)
			if got := srv.PendingFaults(); len(got) != 1 || got[0] != other {
				t.Errorf("pending faults %+v, want only the untouched %+v", got, other)
			}
			if err := srv.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			got := strings.SplitAfter(allDelivered(t, srv.DataDir(), "bkt"), "\n")
			got = slices.DeleteFunc(got, func(s string) bool { return s == "" })
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("delivered %q, want %q", got, want)
			}
		})
	}
}

// Faults scripted together take calls in order: the first pending fault
// that matches takes each call.
func TestScriptedFaultsRunInOrder(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "s", "bkt", "", 5, 300)
	if err := srv.Control(FailNext("PutRecord", 1, FaultInternalFailure), FailNext("", 2, FaultLimitExceeded)); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for i := range 4 {
		res, _ := scriptedCall(ctx, fh, "PutRecord", i)
		var ae smithy.APIError
		switch {
		case res.err == nil:
			codes = append(codes, "ok")
		case errors.As(res.err, &ae):
			codes = append(codes, ae.ErrorCode())
		default:
			t.Fatalf("call %d: %v", i, res.err)
		}
	}
	if want := []string{"InternalFailure", "LimitExceededException", "LimitExceededException", "ok"}; !slices.Equal(codes, want) {
		t.Errorf("answers %v, want %v", codes, want)
	}
}

// A delay fault holds the next N answers for its delay and no more.
func TestScriptedDelayHoldsTheNextCalls(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		srv, err := New(DataDir(dir), NoQuotas())
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close(context.Background())
		if rec := call(t, srv, "CreateDeliveryStream", `{"DeliveryStreamName":"d","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::d-bucket","RoleARN":"r"}}`); rec.Code != http.StatusOK {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		if err := srv.Control(DelayNext("PutRecord", 2, 7*time.Second)); err != nil {
			t.Fatal(err)
		}
		var waited []time.Duration
		for range 3 {
			start := time.Now()
			if rec := call(t, srv, "PutRecord", `{"DeliveryStreamName":"d","Record":{"Data":"YQ=="}}`); rec.Code != http.StatusOK {
				t.Fatalf("put: %d %s", rec.Code, rec.Body)
			}
			waited = append(waited, time.Since(start))
		}
		if want := []time.Duration{7 * time.Second, 7 * time.Second, 0}; !slices.Equal(waited, want) {
			t.Errorf("answers took %v, want %v", waited, want)
		}
	})
}

func TestControlRefusesInvalidFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
	}{
		{name: "no calls", fault: FailNext("PutRecord", 0, FaultInternalFailure)},
		{name: "negative calls", fault: LoseResponseNext("PutRecord", -1)},
		{name: "no action", fault: Fault{Operation: "PutRecord", Times: 1}},
		{name: "unknown action", fault: Fault{Operation: "PutRecord", Times: 1, Action: 99}},
		{name: "record failure of a non-put", fault: FailRecordsNext("DescribeDeliveryStream", 1, FaultInternalFailure)},
		{name: "record failure of any operation", fault: FailRecordsNext("", 1, FaultInternalFailure)},
		{name: "record failure with a request code", fault: FailRecordsNext("PutRecordBatch", 1, FaultInvalidArgument)},
		{name: "not an error code", fault: FailNext("PutRecord", 1, "Oops")},
		{name: "zero delay", fault: DelayNext("PutRecord", 1, 0)},
		{name: "bad operation name", fault: FailNext("Put Record", 1, FaultInternalFailure)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := New(DataDir(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close(context.Background()) })
			valid := FailNext("PutRecord", 1, FaultInternalFailure)
			if err := srv.Control(valid, tt.fault); !errors.Is(err, ErrInvalidFault) {
				t.Errorf("Control = %v, want ErrInvalidFault", err)
			}
			if got := srv.PendingFaults(); len(got) != 0 {
				t.Errorf("pending %+v after a refused Control, want none (all or nothing)", got)
			}
		})
	}
}

// controlRequest sends a request to the HTTP control API and decodes the
// JSON answer into out (if not nil).
func controlRequest(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxTimeout(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s answered %q: %v", method, url, data, err)
		}
	}
	return resp.StatusCode
}

// Tests in other languages script faults over HTTP: the same faults, the
// same effect on the SDK's calls.
func TestHTTPControlScriptsFaults(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "s", "bkt", "", 5, 300)
	faultsURL := url + "/_emulator/faults"

	var got faultsBody
	body := `{"faults":[{"operation":"PutRecordBatch","times":2,"action":"fail-records","code":"InternalFailure"},` +
		`{"operation":"PutRecord","times":1,"action":"lose-response"},{"times":1,"action":"delay","delay":"1ms"}]}`
	if code := controlRequest(t, http.MethodPost, faultsURL, body, &got); code != http.StatusOK {
		t.Fatalf("POST faults: %d", code)
	}
	want := []faultJSON{
		{Operation: "PutRecordBatch", Times: 2, Action: "fail-records", Code: "InternalFailure"},
		{Operation: "PutRecord", Times: 1, Action: "lose-response"},
		{Times: 1, Action: "delay", Delay: "1ms"},
	}
	if !slices.Equal(got.Faults, want) {
		t.Fatalf("pending after POST %+v, want %+v", got.Faults, want)
	}
	for i := range 2 {
		res, _ := scriptedCall(ctx, fh, "PutRecordBatch", i)
		wantRecordErrors("InternalFailure", "")(t, res)
	}
	res, _ := scriptedCall(ctx, fh, "PutRecord", 2)
	wantBrokenConnection(t, res)

	got = faultsBody{}
	if code := controlRequest(t, http.MethodGet, faultsURL, "", &got); code != http.StatusOK || !slices.Equal(got.Faults, want[2:]) {
		t.Errorf("GET faults: %d %+v, want %+v", code, got.Faults, want[2:])
	}
	got = faultsBody{}
	if code := controlRequest(t, http.MethodDelete, faultsURL, "", &got); code != http.StatusOK || len(got.Faults) != 0 {
		t.Errorf("DELETE faults: %d %+v, want none left", code, got.Faults)
	}
	if res, _ := scriptedCall(ctx, fh, "PutRecordBatch", 3); res.err != nil || res.failed != 0 {
		t.Errorf("after DELETE: %v, %d failed; want normal service", res.err, res.failed)
	}

	bad := []struct{ name, method, body string }{
		{"not JSON", http.MethodPost, `{`},
		{"unknown member", http.MethodPost, `{"faults":[{"op":"PutRecord","times":1,"action":"fail"}]}`},
		{"unknown action", http.MethodPost, `{"faults":[{"operation":"PutRecord","times":1,"action":"explode"}]}`},
		{"bad delay", http.MethodPost, `{"faults":[{"operation":"PutRecord","times":1,"action":"delay","delay":"soon"}]}`},
		{"zero times", http.MethodPost, `{"faults":[{"operation":"PutRecord","times":0,"action":"fail"}]}`},
		{"wrong method", http.MethodPut, ``},
	}
	for _, b := range bad {
		var msg struct{ Message string }
		code := controlRequest(t, b.method, faultsURL, b.body, &msg)
		if code < 400 || code > 499 || msg.Message == "" {
			t.Errorf("%s: %d %q, want a 4xx with a message", b.name, code, msg.Message)
		}
	}
	if got := srv.PendingFaults(); len(got) != 0 {
		t.Errorf("refused requests scripted %+v", got)
	}
}
