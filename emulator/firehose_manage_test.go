package emulator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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

func describe(t *testing.T, fh *firehose.Client, name string) *types.DeliveryStreamDescription {
	t.Helper()
	out, err := fh.DescribeDeliveryStream(context.Background(), &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeDeliveryStream %s: %v", name, err)
	}
	return out.DeliveryStreamDescription
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func putOne(ctx context.Context, fh *firehose.Client, stream, data string) (*firehose.PutRecordOutput, error) {
	return fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String(stream), Record: &types.Record{Data: []byte(data)}})
}

func TestUpdateDestination(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "upd", "upd-bucket", "old/", 5, 300)
	if _, err := putOne(ctx, fh, "upd", "before\n"); err != nil {
		t.Fatal(err)
	}
	d := describe(t, fh, "upd")
	if aws.ToString(d.VersionId) != "1" {
		t.Fatalf("VersionId %s, want 1", aws.ToString(d.VersionId))
	}
	destID := d.Destinations[0].DestinationId

	refusals := []struct {
		name     string
		in       firehose.UpdateDestinationInput
		wantCode string
	}{
		{name: "stale version", in: firehose.UpdateDestinationInput{CurrentDeliveryStreamVersionId: aws.String("7"), DestinationId: destID,
			ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("x/")}}, wantCode: "ConcurrentModificationException"},
		{name: "unknown destination", in: firehose.UpdateDestinationInput{CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: aws.String("destinationId-000000000009"),
			ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("x/")}}, wantCode: "InvalidArgumentException"},
		{name: "buffering size out of range", in: firehose.UpdateDestinationInput{CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: destID,
			ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(129)}}}, wantCode: "ValidationException"},
		{name: "prefix leaving the bucket", in: firehose.UpdateDestinationInput{CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: destID,
			ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("../x/")}}, wantCode: "InvalidArgumentException"},
		{name: "no update", in: firehose.UpdateDestinationInput{CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: destID}, wantCode: "InvalidArgumentException"},
		{name: "missing stream", in: firehose.UpdateDestinationInput{DeliveryStreamName: aws.String("nope"), CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: destID,
			ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("x/")}}, wantCode: "ResourceNotFoundException"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.DeliveryStreamName == nil {
				in.DeliveryStreamName = aws.String("upd")
			}
			_, err := fh.UpdateDestination(ctx, &in)
			if got := errorCode(err); got != tt.wantCode {
				t.Errorf("UpdateDestination: %v, want %s", err, tt.wantCode)
			}
		})
	}
	if v := aws.ToString(describe(t, fh, "upd").VersionId); v != "1" {
		t.Fatalf("a refused update changed the version to %s", v)
	}

	// New prefix, no buffering: the next record is written at once, under the
	// new prefix and the new version; what was buffered keeps the old ones.
	_, err := fh.UpdateDestination(ctx, &firehose.UpdateDestinationInput{DeliveryStreamName: aws.String("upd"),
		CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: destID,
		ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("new/"),
			BufferingHints: &types.BufferingHints{IntervalInSeconds: aws.Int32(0)}}})
	if err != nil {
		t.Fatalf("UpdateDestination: %v", err)
	}
	d = describe(t, fh, "upd")
	ext := d.Destinations[0].ExtendedS3DestinationDescription
	if aws.ToString(d.VersionId) != "2" || aws.ToString(ext.Prefix) != "new/" || aws.ToInt32(ext.BufferingHints.IntervalInSeconds) != 0 ||
		aws.ToInt32(ext.BufferingHints.SizeInMBs) != 5 || !d.LastUpdateTimestamp.After(*d.CreateTimestamp) && !d.LastUpdateTimestamp.Equal(*d.CreateTimestamp) {
		t.Errorf("after the update: version %s prefix %s hints %d MiB / %d s", aws.ToString(d.VersionId), aws.ToString(ext.Prefix),
			aws.ToInt32(ext.BufferingHints.SizeInMBs), aws.ToInt32(ext.BufferingHints.IntervalInSeconds))
	}
	if _, err := putOne(ctx, fh, "upd", "after\n"); err != nil {
		t.Fatal(err)
	}
	keys, contents := deliveredFiles(t, srv.DataDir(), "upd-bucket")
	if len(keys) != 2 {
		t.Fatalf("files %v, want one before and one after the update (without a Flush)", keys)
	}
	for i, want := range []struct{ prefix, name, data string }{{"new/", "/upd-2-", "after\n"}, {"old/", "/upd-1-", "before\n"}} {
		if !strings.HasPrefix(keys[i], want.prefix) || !strings.Contains(keys[i], want.name) || string(contents[i]) != want.data {
			t.Errorf("file %s holds %q; want under %s, named %s, holding %q", keys[i], contents[i], want.prefix, want.name, want.data)
		}
	}

	// A smaller size hint takes effect too: 1 MiB fills with 11 records of
	// 100,000 bytes, and the buffer is written without a Flush.
	_, err = fh.UpdateDestination(ctx, &firehose.UpdateDestinationInput{DeliveryStreamName: aws.String("upd"),
		CurrentDeliveryStreamVersionId: aws.String("2"), DestinationId: destID,
		ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(900)}}})
	if err != nil {
		t.Fatalf("UpdateDestination: %v", err)
	}
	big := strings.Repeat("z", 100_000)
	if _, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("upd"), Records: batchOf(slices.Repeat([]string{big}, 11)...)}); err != nil {
		t.Fatal(err)
	}
	if keys, contents := deliveredFiles(t, srv.DataDir(), "upd-bucket"); len(keys) != 3 || !strings.Contains(keys[1], "new/") || !strings.Contains(keys[1], "/upd-3-") || len(contents[1]) != 11*len(big) {
		t.Errorf("files %v, want a third one of version 3 once 1 MiB was buffered", keys)
	}
}

func TestEncryptionSettings(t *testing.T) {
	_, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	const keyARN = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"

	createWith := func(name string, enc *types.DeliveryStreamEncryptionConfigurationInput) error {
		_, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
			DeliveryStreamName: aws.String(name),
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
				BucketARN: aws.String("arn:aws:s3:::enc-bucket"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")},
			DeliveryStreamEncryptionConfigurationInput: enc,
		})
		return err
	}
	if err := createWith("enc", &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeAwsOwnedCmk}); err != nil {
		t.Fatalf("create with encryption: %v", err)
	}
	if err := createWith("bad", &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeAwsOwnedCmk, KeyARN: aws.String(keyARN)}); errorCode(err) != "InvalidArgumentException" {
		t.Errorf("create with an AWS-owned key and a KeyARN: %v, want InvalidArgumentException", err)
	}

	check := func(t *testing.T, wantStatus types.DeliveryStreamEncryptionStatus, wantType types.KeyType, wantKey string, wantEncrypted bool) {
		t.Helper()
		enc := describe(t, fh, "enc").DeliveryStreamEncryptionConfiguration
		if enc.Status != wantStatus || enc.KeyType != wantType || aws.ToString(enc.KeyARN) != wantKey {
			t.Errorf("encryption %s %s %q, want %s %s %q", enc.Status, enc.KeyType, aws.ToString(enc.KeyARN), wantStatus, wantType, wantKey)
		}
		out, err := putOne(ctx, fh, "enc", "x")
		if err != nil {
			t.Fatal(err)
		}
		batch, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("enc"), Records: batchOf("y")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToBool(out.Encrypted) != wantEncrypted || aws.ToBool(batch.Encrypted) != wantEncrypted {
			t.Errorf("Encrypted %v / %v, want %v", aws.ToBool(out.Encrypted), aws.ToBool(batch.Encrypted), wantEncrypted)
		}
	}
	check(t, types.DeliveryStreamEncryptionStatusEnabled, types.KeyTypeAwsOwnedCmk, "", true)

	if _, err := fh.StopDeliveryStreamEncryption(ctx, &firehose.StopDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("enc")}); err != nil {
		t.Fatal(err)
	}
	check(t, types.DeliveryStreamEncryptionStatusDisabled, "", "", false)

	_, err := fh.StartDeliveryStreamEncryption(ctx, &firehose.StartDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("enc"),
		DeliveryStreamEncryptionConfigurationInput: &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeCustomerManagedCmk}})
	if errorCode(err) != "InvalidArgumentException" {
		t.Errorf("a customer managed key without a KeyARN: %v, want InvalidArgumentException", err)
	}
	_, err = fh.StartDeliveryStreamEncryption(ctx, &firehose.StartDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("enc"),
		DeliveryStreamEncryptionConfigurationInput: &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeCustomerManagedCmk, KeyARN: aws.String(keyARN)}})
	if err != nil {
		t.Fatal(err)
	}
	check(t, types.DeliveryStreamEncryptionStatusEnabled, types.KeyTypeCustomerManagedCmk, keyARN, true)
	if v := aws.ToString(describe(t, fh, "enc").VersionId); v != "3" {
		t.Errorf("VersionId %s after a stop and a start, want 3", v)
	}
}

func TestListTagsPaging(t *testing.T) {
	_, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "tagged", "tag-bucket", "", 5, 300)
	var want []string
	var tags []types.Tag
	for _, k := range []string{"g", "a", "f", "c", "e", "b", "d"} {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String("v-" + k)})
	}
	if _, err := fh.TagDeliveryStream(ctx, &firehose.TagDeliveryStreamInput{DeliveryStreamName: aws.String("tagged"), Tags: tags}); err != nil {
		t.Fatal(err)
	}
	want = []string{"a", "b", "c", "d", "e", "f", "g"}

	tests := []struct {
		name      string
		limit     *int32
		wantPages []int
	}{
		{name: "default limit", wantPages: []int{7}},
		{name: "three per page", limit: aws.Int32(3), wantPages: []int{3, 3, 1}},
		{name: "exact fit", limit: aws.Int32(7), wantPages: []int{7}},
		{name: "one per page", limit: aws.Int32(1), wantPages: []int{1, 1, 1, 1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var pages []int
			var start *string
			for {
				out, err := fh.ListTagsForDeliveryStream(ctx, &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("tagged"), Limit: tt.limit, ExclusiveStartTagKey: start})
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, len(out.Tags))
				for _, tag := range out.Tags {
					got = append(got, aws.ToString(tag.Key))
					if aws.ToString(tag.Value) != "v-"+aws.ToString(tag.Key) {
						t.Errorf("tag %s = %s", aws.ToString(tag.Key), aws.ToString(tag.Value))
					}
				}
				if !aws.ToBool(out.HasMoreTags) {
					break
				}
				if len(pages) > 10 {
					t.Fatal("HasMoreTags never ends")
				}
				start = out.Tags[len(out.Tags)-1].Key
			}
			if !slices.Equal(got, want) || !slices.Equal(pages, tt.wantPages) {
				t.Errorf("keys %v in pages %v, want %v in %v", got, pages, want, tt.wantPages)
			}
		})
	}
	for _, limit := range []int32{0, 51} {
		_, err := fh.ListTagsForDeliveryStream(ctx, &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("tagged"), Limit: aws.Int32(limit)})
		if errorCode(err) != "ValidationException" {
			t.Errorf("Limit %d: %v, want ValidationException", limit, err)
		}
	}
}

// handlerClient serves SDK requests with the emulator's handler in-process,
// so a synctest bubble holds the whole exchange.
type handlerClient struct{ h http.Handler }

func (c handlerClient) Do(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func TestCreateDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 30 * time.Second
		srv, err := New(DataDir(t.TempDir()), NoQuotas(), CreateDelay(delay), Stream("preset", "preset-bucket"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := srv.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		cfg := awsConfig()
		cfg.HTTPClient = handlerClient{srv}
		fh := firehose.NewFromConfig(cfg, func(o *firehose.Options) {
			o.BaseEndpoint = aws.String("http://emulator.invalid")
			o.RetryMaxAttempts = 1
		})
		ctx := context.Background()
		status := func() string {
			out, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("slow")})
			if err != nil {
				return errorCode(err)
			}
			return string(out.DeliveryStreamDescription.DeliveryStreamStatus)
		}
		if s := describe(t, fh, "preset").DeliveryStreamStatus; s != types.DeliveryStreamStatusActive {
			t.Errorf("a Stream option's stream is %s, want ACTIVE at once", s)
		}

		createStream(t, fh, "slow", "slow-bucket", "", 5, 300)
		if s := status(); s != "CREATING" {
			t.Fatalf("status after create %s, want CREATING", s)
		}
		if _, err := putOne(ctx, fh, "slow", "x"); errorCode(err) != "ResourceNotFoundException" {
			t.Errorf("put while CREATING: %v, want ResourceNotFoundException", err)
		}
		if _, err := fh.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("slow")}); errorCode(err) != "ResourceInUseException" {
			t.Errorf("delete while CREATING: %v, want ResourceInUseException", err)
		}
		time.Sleep(delay - time.Second)
		if s := status(); s != "CREATING" {
			t.Errorf("status a second before the delay %s, want CREATING", s)
		}
		time.Sleep(time.Second)
		if s := status(); s != "ACTIVE" {
			t.Fatalf("status after the delay %s, want ACTIVE", s)
		}
		if _, err := putOne(ctx, fh, "slow", "x"); err != nil {
			t.Errorf("put once ACTIVE: %v", err)
		}

		if _, err := fh.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("slow")}); err != nil {
			t.Fatal(err)
		}
		if s := status(); s != "DELETING" {
			t.Errorf("status after delete %s, want DELETING", s)
		}
		if _, err := putOne(ctx, fh, "slow", "x"); errorCode(err) != "ResourceNotFoundException" {
			t.Errorf("put while DELETING: %v, want ResourceNotFoundException", err)
		}
		_, err = fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("slow"),
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::slow-bucket"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")}})
		if errorCode(err) != "ResourceInUseException" {
			t.Errorf("re-create while DELETING: %v, want ResourceInUseException", err)
		}
		time.Sleep(delay)
		synctest.Wait()
		if s := status(); s != "ResourceNotFoundException" {
			t.Errorf("after the delay the deleted stream is %s, want gone", s)
		}
		if keys, contents := deliveredFiles(t, srv.DataDir(), "slow-bucket"); len(keys) != 1 || string(contents[0]) != "x" {
			t.Errorf("delivered %v %q, want the one record accepted while ACTIVE", keys, contents)
		}
	})
}

func TestStreamOptions(t *testing.T) {
	_, url := startServer(t, NoQuotas(), Stream("opt", "opt-bucket"), StreamWithPrefix("opt-p", "opt-bucket", "events/"))
	fh := firehoseClient(url, 1)
	tests := []struct{ name, wantPrefix string }{{"opt", ""}, {"opt-p", "events/"}}
	for _, tt := range tests {
		if _, err := putOne(ctxTimeout(t), fh, tt.name, "x"); err != nil {
			t.Errorf("put to %s without creating it: %v", tt.name, err)
		}
		ext := describe(t, fh, tt.name).Destinations[0].ExtendedS3DestinationDescription
		if aws.ToString(ext.BucketARN) != "arn:aws:s3:::opt-bucket" || aws.ToString(ext.Prefix) != tt.wantPrefix {
			t.Errorf("%s: bucket %s prefix %q, want opt-bucket %q", tt.name, aws.ToString(ext.BucketARN), aws.ToString(ext.Prefix), tt.wantPrefix)
		}
	}

	bad := []struct {
		name string
		opt  Option
	}{
		{"bad stream name", Stream("no spaces", "b-bucket")},
		{"bad bucket", Stream("s", "UPPER")},
		{"prefix leaving the bucket", StreamWithPrefix("s", "b-bucket", "../x/")},
		{"twice", Stream("s", "b-bucket")},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			opts := []Option{DataDir(t.TempDir()), tt.opt}
			if tt.name == "twice" {
				opts = append(opts, Stream("s", "other-bucket"))
			}
			srv, err := New(opts...)
			if err == nil {
				_ = srv.Close(context.Background())
			}
			if !errors.Is(err, ErrInvalidOption) {
				t.Errorf("New: %v, want ErrInvalidOption", err)
			}
		})
	}
}
