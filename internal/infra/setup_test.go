package infra

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestSetupCreatesResourcesInMoto(t *testing.T) {
	m := startMoto(t)
	ctx := t.Context()
	opts := SetupOptions{Stream: "orders", Bucket: "orders-archive", BufferSizeMB: 8, BufferInterval: 120 * time.Second}

	res, err := Setup(ctx, m.Clients, opts, nil)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	for _, r := range []Resource{res.Bucket, res.Role, res.Stream} {
		if r.Status != StatusCreated || !r.Managed {
			t.Errorf("%s %s: status %s managed %v, want Created and managed", r.Kind, r.Name, r.Status, r.Managed)
		}
	}
	if res.LogGroup.Status != StatusReferenced || res.LogGroup.Name != "/aws/kinesisfirehose/orders" {
		t.Errorf("log group = %+v, want Referenced /aws/kinesisfirehose/orders", res.LogGroup)
	}
	if res.Role.Name != "firehose-orders-delivery" {
		t.Errorf("role name = %q, want the default firehose-orders-delivery", res.Role.Name)
	}

	t.Run("bucket", func(t *testing.T) {
		enc, err := m.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("orders-archive")})
		if err != nil {
			t.Fatalf("GetBucketEncryption: %v", err)
		}
		if got := enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm; got != s3types.ServerSideEncryptionAes256 {
			t.Errorf("SSE algorithm = %s, want AES256", got)
		}
		pab, err := m.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("orders-archive")})
		if err != nil {
			t.Fatalf("GetPublicAccessBlock: %v", err)
		}
		c := pab.PublicAccessBlockConfiguration
		if !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.RestrictPublicBuckets) {
			t.Errorf("public access block = %+v, want all true", c)
		}
		tags, ok, err := bucketTags(ctx, m.s3, "orders-archive")
		if err != nil || !ok || !isManaged(tags, "orders") {
			t.Errorf("bucket tags = %v (exists %v, err %v), want managed for orders", tags, ok, err)
		}
	})

	t.Run("role", func(t *testing.T) {
		got, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("firehose-orders-delivery")})
		if err != nil {
			t.Fatalf("GetRole: %v", err)
		}
		trust, err := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
		if err != nil {
			t.Fatalf("unescape trust policy: %v", err)
		}
		for _, want := range []string{`"firehose.amazonaws.com"`, `"sts:ExternalId": "123456789012"`} {
			if !strings.Contains(trust, want) {
				t.Errorf("trust policy lacks %s:\n%s", want, trust)
			}
		}
		tags, ok, err := roleTags(ctx, m.iam, "firehose-orders-delivery")
		if err != nil || !ok || !isManaged(tags, "orders") {
			t.Errorf("role tags = %v (exists %v, err %v), want managed for orders", tags, ok, err)
		}
		pol, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("firehose-orders-delivery"), PolicyName: aws.String(RolePolicyName)})
		if err != nil {
			t.Fatalf("GetRolePolicy: %v", err)
		}
		doc, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
		if err != nil {
			t.Fatalf("unescape policy: %v", err)
		}
		for _, want := range []string{
			`"arn:aws:s3:::orders-archive"`, `"arn:aws:s3:::orders-archive/*"`, `"s3:PutObject"`,
			`"arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesisfirehose/orders:log-stream:*"`,
		} {
			if !strings.Contains(doc, want) {
				t.Errorf("inline policy lacks %s:\n%s", want, doc)
			}
		}
	})

	t.Run("stream", func(t *testing.T) {
		out, err := m.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("orders")})
		if err != nil {
			t.Fatalf("DescribeDeliveryStream: %v", err)
		}
		d := out.DeliveryStreamDescription
		if d.DeliveryStreamStatus != fhtypes.DeliveryStreamStatusActive || d.DeliveryStreamType != fhtypes.DeliveryStreamTypeDirectPut {
			t.Errorf("stream status %s type %s, want ACTIVE DirectPut", d.DeliveryStreamStatus, d.DeliveryStreamType)
		}
		if res.Stream.ARN != aws.ToString(d.DeliveryStreamARN) || res.Stream.ARN == "" {
			t.Errorf("result ARN %q, want %q", res.Stream.ARN, aws.ToString(d.DeliveryStreamARN))
		}
		e := d.Destinations[0].ExtendedS3DestinationDescription
		if e == nil {
			t.Fatalf("no ExtendedS3 destination in %+v", d.Destinations[0])
		}
		checks := []struct{ name, got, want string }{
			{"bucket ARN", aws.ToString(e.BucketARN), "arn:aws:s3:::orders-archive"},
			{"role ARN", aws.ToString(e.RoleARN), res.Role.ARN},
			{"prefix", aws.ToString(e.Prefix), DefaultPrefix},
			{"error prefix", aws.ToString(e.ErrorOutputPrefix), DefaultErrorPrefix},
			{"log group", aws.ToString(e.CloudWatchLoggingOptions.LogGroupName), "/aws/kinesisfirehose/orders"},
			{"log stream", aws.ToString(e.CloudWatchLoggingOptions.LogStreamName), "DestinationDelivery"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		if got := aws.ToInt32(e.BufferingHints.SizeInMBs); got != 8 {
			t.Errorf("buffer size = %d, want 8", got)
		}
		if got := aws.ToInt32(e.BufferingHints.IntervalInSeconds); got != 120 {
			t.Errorf("buffer interval = %d, want 120", got)
		}
		tags, ok, err := streamTags(ctx, m.fh, "orders")
		if err != nil || !ok || !isManaged(tags, "orders") {
			t.Errorf("stream tags = %v (exists %v, err %v), want managed for orders", tags, ok, err)
		}
	})
}

func TestSetupTwiceChangesNothing(t *testing.T) {
	m := startMoto(t)
	ctx := t.Context()
	opts := SetupOptions{Stream: "clicks", Bucket: "clicks-bucket", RoleName: "clicks-role"}
	if _, err := Setup(ctx, m.Clients, opts, nil); err != nil {
		t.Fatalf("first Setup: %v", err)
	}
	before := snapshot(t, m, opts)

	res, err := Setup(ctx, m.Clients, opts, nil)
	if err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	for _, r := range []Resource{res.Bucket, res.Role, res.Stream} {
		if r.Status != StatusExists || !r.Managed {
			t.Errorf("%s %s: status %s managed %v, want Exists and managed", r.Kind, r.Name, r.Status, r.Managed)
		}
	}
	if after := snapshot(t, m, opts); after != before {
		t.Errorf("second Setup changed resources:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot renders what a second Setup must not change.
func snapshot(t *testing.T, m motoClients, o SetupOptions) string {
	t.Helper()
	ctx := t.Context()
	d, err := m.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(o.Stream)})
	if err != nil {
		t.Fatalf("DescribeDeliveryStream: %v", err)
	}
	r, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(o.RoleName)})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	p, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(o.RoleName), PolicyName: aws.String(RolePolicyName)})
	if err != nil {
		t.Fatalf("GetRolePolicy: %v", err)
	}
	b, err := json.Marshal(struct {
		StreamVersion, StreamCreated, RoleID, RoleCreated, Policy string
	}{
		aws.ToString(d.DeliveryStreamDescription.VersionId), aws.ToTime(d.DeliveryStreamDescription.CreateTimestamp).String(),
		aws.ToString(r.Role.RoleId), aws.ToTime(r.Role.CreateDate).String(), aws.ToString(p.PolicyDocument),
	})
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

func TestSetupUsesExistingUnmanagedBucket(t *testing.T) {
	m := startMoto(t)
	ctx := t.Context()
	if _, err := m.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("users-own-bucket")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	res, err := Setup(ctx, m.Clients, SetupOptions{Stream: "mine", Bucket: "users-own-bucket"}, nil)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if res.Bucket.Status != StatusExists || res.Bucket.Managed || res.Bucket.Note == "" {
		t.Errorf("bucket = %+v, want Exists, not managed, with a note", res.Bucket)
	}
	tags, _, err := bucketTags(ctx, m.s3, "users-own-bucket")
	if err != nil || len(tags) != 0 {
		t.Errorf("Setup tagged the user's bucket: %v (err %v)", tags, err)
	}
	if res.Stream.Status != StatusCreated {
		t.Errorf("stream status = %s, want Created", res.Stream.Status)
	}
}

func TestSetupRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts SetupOptions
	}{
		{"empty stream", SetupOptions{Bucket: "b-ok"}},
		{"stream with slash", SetupOptions{Stream: "a/b", Bucket: "b-ok"}},
		{"stream too long", SetupOptions{Stream: strings.Repeat("s", 65), Bucket: "b-ok", RoleName: "r"}},
		{"default role name too long", SetupOptions{Stream: strings.Repeat("s", 60), Bucket: "b-ok"}},
		{"bucket upper case", SetupOptions{Stream: "s", Bucket: "Bucket"}},
		{"bucket too short", SetupOptions{Stream: "s", Bucket: "ab"}},
		{"buffer size too big", SetupOptions{Stream: "s", Bucket: "b-ok", BufferSizeMB: 129}},
		{"buffer interval too long", SetupOptions{Stream: "s", Bucket: "b-ok", BufferInterval: 901 * time.Second}},
		{"buffer interval fraction", SetupOptions{Stream: "s", Bucket: "b-ok", BufferInterval: 1500 * time.Millisecond}},
		{"negative wait", SetupOptions{Stream: "s", Bucket: "b-ok", WaitTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Clients are empty: validation must fail before any call.
			_, err := Setup(t.Context(), Clients{}, tt.opts, nil)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Setup(%+v) error = %v, want ErrInvalidOptions", tt.opts, err)
			}
		})
	}
}
