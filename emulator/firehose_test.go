package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"
)

var fixedTime = time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC)

func fixedClock() time.Time { return fixedTime }

func batchOf(records ...string) []types.Record {
	out := make([]types.Record, len(records))
	for i, r := range records {
		out[i] = types.Record{Data: []byte(r)}
	}
	return out
}

func TestPutRecordAndBatchAreDeliveredAsSent(t *testing.T) {
	srv, url := startServer(t, Clock(fixedClock))
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "orders.v1", "my-bucket", "logs/", 5, 300)

	put, err := fh.PutRecord(ctx, &firehose.PutRecordInput{
		DeliveryStreamName: aws.String("orders.v1"),
		Record:             &types.Record{Data: []byte("first\n")},
	})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if len(aws.ToString(put.RecordId)) < 56 {
		t.Errorf("RecordId %q is shorter than 56 characters", aws.ToString(put.RecordId))
	}
	batch, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{
		DeliveryStreamName: aws.String("orders.v1"),
		Records:            batchOf("a", "bb\n", "", "{\"x\":1}"),
	})
	if err != nil {
		t.Fatalf("PutRecordBatch: %v", err)
	}
	if got := aws.ToInt32(batch.FailedPutCount); got != 0 {
		t.Errorf("FailedPutCount = %d, want 0", got)
	}
	seen := map[string]bool{aws.ToString(put.RecordId): true}
	for i, e := range batch.RequestResponses {
		id := aws.ToString(e.RecordId)
		if id == "" || e.ErrorCode != nil {
			t.Errorf("entry %d: RecordId %q ErrorCode %v", i, id, aws.ToString(e.ErrorCode))
		}
		if seen[id] {
			t.Errorf("entry %d: RecordId %q is not unique", i, id)
		}
		seen[id] = true
	}

	if paths, _ := deliveredFiles(t, srv.DataDir(), "my-bucket"); len(paths) != 0 {
		t.Fatalf("files before Flush: %v (buffer is 5 MiB / 300 s)", paths)
	}
	if err := srv.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	paths, contents := deliveredFiles(t, srv.DataDir(), "my-bucket")
	if len(paths) != 1 {
		t.Fatalf("delivered files = %v, want 1", paths)
	}
	keyPattern := regexp.MustCompile(`^logs/2024/03/05/07/orders\.v1-1-2024-03-05-07-08-09-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	if !keyPattern.MatchString(paths[0]) {
		t.Errorf("key %q does not match %s", paths[0], keyPattern)
	}
	if want := "first\nabb\n{\"x\":1}"; string(contents[0]) != want {
		t.Errorf("content = %q, want %q", contents[0], want)
	}
}

func apiErrorOf(t *testing.T, err error) (code, message string, status int) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want an API error")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not a smithy.APIError", err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), ae.ErrorMessage(), status
}

func TestLimitsRefuseTheWholeRequest(t *testing.T) {
	srv, url := startServer(t)
	fh := firehoseClient(url, 1)
	createStream(t, fh, "s", "bkt", "", 5, 300)

	records := func(n, size int) []types.Record {
		out := make([]types.Record, n)
		for i := range out {
			out[i] = types.Record{Data: bytes.Repeat([]byte{'x'}, size)}
		}
		return out
	}
	withBig := records(3, 10)
	withBig[1].Data = make([]byte, 1_024_001)

	tests := []struct {
		name        string
		call        func(context.Context) error
		wantCode    string
		wantMessage string
	}{
		{
			name: "501 records",
			call: func(ctx context.Context) error {
				_, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("s"), Records: records(501, 1)})
				return err
			},
			wantCode:    "ValidationException",
			wantMessage: "at 'records' failed to satisfy constraint: Member must have length less than or equal to 500",
		},
		{
			name: "a record over 1,024,000 bytes in a batch",
			call: func(ctx context.Context) error {
				_, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("s"), Records: withBig})
				return err
			},
			wantCode:    "ValidationException",
			wantMessage: "at 'records.2.member.data' failed to satisfy constraint: Member must have length less than or equal to 1024000",
		},
		{
			name: "PutRecord over 1,024,000 bytes",
			call: func(ctx context.Context) error {
				_, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("s"), Record: &types.Record{Data: make([]byte, 1_024_001)}})
				return err
			},
			wantCode:    "ValidationException",
			wantMessage: "Member must have length less than or equal to 1024000",
		},
		{
			name: "batch of exactly 4 MiB",
			call: func(ctx context.Context) error {
				recs := records(5, 1_000_000)
				recs[4].Data = make([]byte, 194_304) // 4,194,304 bytes in all
				_, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("s"), Records: recs})
				return err
			},
			wantCode:    "InvalidArgumentException",
			wantMessage: "Records size exceeds 4 MB limit",
		},
		{
			name: "unknown stream",
			call: func(ctx context.Context) error {
				_, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("nope"), Records: records(1, 1)})
				return err
			},
			wantCode:    "ResourceNotFoundException",
			wantMessage: "Firehose nope under account 000000000000 not found.",
		},
		{
			name: "empty batch",
			call: func(ctx context.Context) error {
				_, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("s"), Records: []types.Record{}})
				return err
			},
			wantCode:    "ValidationException",
			wantMessage: "Member must have length greater than or equal to 1",
		},
		{
			name: "bad stream name",
			call: func(ctx context.Context) error {
				_, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("no spaces"), Record: &types.Record{Data: []byte("x")}})
				return err
			},
			wantCode:    "ValidationException",
			wantMessage: "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg, status := apiErrorOf(t, tt.call(ctxTimeout(t)))
			if code != tt.wantCode {
				t.Errorf("code = %s, want %s (message %q)", code, tt.wantCode, msg)
			}
			if !strings.Contains(msg, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.wantMessage)
			}
			if status != http.StatusBadRequest {
				t.Errorf("HTTP status = %d, want 400", status)
			}
		})
	}

	if err := srv.Flush(ctxTimeout(t)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if paths, _ := deliveredFiles(t, srv.DataDir(), "bkt"); len(paths) != 0 {
		t.Errorf("refused requests delivered files: %v", paths)
	}

	// One byte under 4 MiB is within the limit (4 MiB itself is refused).
	recs := records(5, 1_000_000)
	recs[4].Data = make([]byte, 194_303)
	out, err := fh.PutRecordBatch(ctxTimeout(t), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("s"), Records: recs})
	if err != nil {
		t.Fatalf("PutRecordBatch of 4 MiB - 1 byte: %v", err)
	}
	if got := aws.ToInt32(out.FailedPutCount); got != 0 {
		t.Errorf("FailedPutCount = %d, want 0", got)
	}
}

func TestBadBodiesAreRefused(t *testing.T) {
	_, url := startServer(t)
	tests := []struct {
		name     string
		target   string
		body     string
		wantCode string
	}{
		{name: "not json", target: "PutRecordBatch", body: `{"DeliveryStreamName":`, wantCode: "SerializationException"},
		{name: "bad base64", target: "PutRecordBatch", body: `{"DeliveryStreamName":"s","Records":[{"Data":"!!!"}]}`, wantCode: "SerializationException"},
		{name: "wrong type", target: "PutRecord", body: `{"DeliveryStreamName":5}`, wantCode: "SerializationException"},
		{name: "missing data", target: "PutRecordBatch", body: `{"DeliveryStreamName":"s","Records":[{}]}`, wantCode: "ValidationException"},
		{name: "missing record", target: "PutRecord", body: `{"DeliveryStreamName":"s"}`, wantCode: "ValidationException"},
		{name: "unknown operation", target: "CreateDeliveryStreamV2", body: `{}`, wantCode: "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctxTimeout(t), http.MethodPost, url+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", "Firehose_20150804."+tt.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400 (body %s)", resp.StatusCode, buf.String())
			}
			if want := fmt.Sprintf(`"__type":"%s"`, tt.wantCode); !strings.Contains(buf.String(), want) {
				t.Errorf("body %s does not contain %s", buf.String(), want)
			}
		})
	}
}

func TestStreamLifecycle(t *testing.T) {
	srv, url := startServer(t, Region("eu-west-1"), AccountID("123456789012"))
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "s1", "bucket-one", "p/", 1, 60)
	createStream(t, fh, "s2", "bucket-two", "", 128, 0)

	_, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName:                 aws.String("s1"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::x-bucket"), RoleARN: aws.String("r")},
	})
	if code, _, _ := apiErrorOf(t, err); code != "ResourceInUseException" {
		t.Errorf("second create: code %s, want ResourceInUseException", code)
	}
	badCreates := []struct {
		name string
		in   *firehose.CreateDeliveryStreamInput
		code string
	}{
		{"name too long", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String(strings.Repeat("a", 65)),
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::bkt"), RoleARN: aws.String("r")}}, "ValidationException"},
		{"size 0", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"),
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::bkt"), RoleARN: aws.String("r"),
				BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(0)}}}, "ValidationException"},
		{"interval 901", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"),
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::bkt"), RoleARN: aws.String("r"),
				BufferingHints: &types.BufferingHints{IntervalInSeconds: aws.Int32(901)}}}, "ValidationException"},
		{"bad bucket arn", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"),
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("bucket"), RoleARN: aws.String("r")}}, "ValidationException"},
		{"prefix escapes", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"),
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::bkt"), RoleARN: aws.String("r"), Prefix: aws.String("../up/")}}, "InvalidArgumentException"},
		{"no destination", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x")}, "InvalidArgumentException"},
		{"kinesis source", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"), DeliveryStreamType: types.DeliveryStreamTypeKinesisStreamAsSource,
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::bkt"), RoleARN: aws.String("r")}}, "InvalidArgumentException"},
	}
	for _, tt := range badCreates {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fh.CreateDeliveryStream(ctxTimeout(t), tt.in)
			if code, msg, _ := apiErrorOf(t, err); code != tt.code {
				t.Errorf("code = %s (%s), want %s", code, msg, tt.code)
			}
		})
	}

	desc, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("s1")})
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	d := desc.DeliveryStreamDescription
	if got, want := aws.ToString(d.DeliveryStreamARN), "arn:aws:firehose:eu-west-1:123456789012:deliverystream/s1"; got != want {
		t.Errorf("ARN = %s, want %s", got, want)
	}
	if d.DeliveryStreamStatus != types.DeliveryStreamStatusActive || d.DeliveryStreamType != types.DeliveryStreamTypeDirectPut {
		t.Errorf("status %s type %s, want ACTIVE DirectPut", d.DeliveryStreamStatus, d.DeliveryStreamType)
	}
	if d.CreateTimestamp == nil || time.Since(*d.CreateTimestamp) > time.Minute {
		t.Errorf("CreateTimestamp = %v", d.CreateTimestamp)
	}
	if len(d.Destinations) != 1 || d.Destinations[0].ExtendedS3DestinationDescription == nil {
		t.Fatalf("Destinations = %+v", d.Destinations)
	}
	ext := d.Destinations[0].ExtendedS3DestinationDescription
	if aws.ToString(ext.BucketARN) != "arn:aws:s3:::bucket-one" || aws.ToString(ext.Prefix) != "p/" ||
		aws.ToInt32(ext.BufferingHints.SizeInMBs) != 1 || aws.ToInt32(ext.BufferingHints.IntervalInSeconds) != 60 ||
		ext.CompressionFormat != types.CompressionFormatUncompressed {
		t.Errorf("ExtendedS3DestinationDescription = %+v", ext)
	}
	if aws.ToBool(d.HasMoreDestinations) {
		t.Error("HasMoreDestinations = true")
	}

	list, err := fh.ListDeliveryStreams(ctx, &firehose.ListDeliveryStreamsInput{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got := strings.Join(list.DeliveryStreamNames, ","); got != "s1,s2" {
		t.Errorf("names = %s, want s1,s2", got)
	}
	list, err = fh.ListDeliveryStreams(ctx, &firehose.ListDeliveryStreamsInput{Limit: aws.Int32(1)})
	if err != nil || strings.Join(list.DeliveryStreamNames, ",") != "s1" || !aws.ToBool(list.HasMoreDeliveryStreams) {
		t.Errorf("List limit 1 = %v, %v, err %v", list.DeliveryStreamNames, aws.ToBool(list.HasMoreDeliveryStreams), err)
	}

	// Delete flushes the buffer first.
	if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("s1"), Record: &types.Record{Data: []byte("kept")}}); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if _, err := fh.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("s1")}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := allDelivered(t, srv.DataDir(), "bucket-one"); got != "kept" {
		t.Errorf("delivered after delete = %q, want %q", got, "kept")
	}
	_, err = fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("s1"), Record: &types.Record{Data: []byte("x")}})
	if code, _, _ := apiErrorOf(t, err); code != "ResourceNotFoundException" {
		t.Errorf("put after delete: code %s", code)
	}
	_, err = fh.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("s1")})
	if code, _, _ := apiErrorOf(t, err); code != "ResourceNotFoundException" {
		t.Errorf("second delete: code %s", code)
	}

	// IntervalInSeconds 0 writes on every request.
	if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("s2"), Record: &types.Record{Data: []byte("now")}}); err != nil {
		t.Fatalf("PutRecord s2: %v", err)
	}
	if got := allDelivered(t, srv.DataDir(), "bucket-two"); got != "now" {
		t.Errorf("interval 0 delivered %q, want %q", got, "now")
	}
}

func TestSizeHintWritesFullBuffers(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "s", "bkt", "", 1, 900)
	rec := bytes.Repeat([]byte("y"), 300_000)
	for range 4 { // 1.2 MB: the buffer fills on the 4th record
		if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("s"), Record: &types.Record{Data: rec}}); err != nil {
			t.Fatalf("PutRecord: %v", err)
		}
	}
	paths, contents := deliveredFiles(t, srv.DataDir(), "bkt")
	if len(paths) != 1 || len(contents[0]) != 1_200_000 {
		t.Fatalf("files = %v (want one file of 1,200,000 bytes before any Flush)", paths)
	}
}

func TestCloseFlushesAndRefusesLaterRequests(t *testing.T) {
	srv, err := New(DataDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "s", "bkt", "", 5, 900)
	var want strings.Builder
	for i := range 20 {
		recs := make([]types.Record, 100)
		for j := range recs {
			line := fmt.Sprintf("%d-%d\n", i, j)
			want.WriteString(line)
			recs[j] = types.Record{Data: []byte(line)}
		}
		if _, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("s"), Records: recs}); err != nil {
			t.Fatalf("PutRecordBatch: %v", err)
		}
	}
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := allDelivered(t, srv.DataDir(), "bkt"); got != want.String() {
		t.Errorf("delivered %d bytes, want %d", len(got), want.Len())
	}
	if _, err := srv.Start("127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
}
