package infra

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestTeardownRemovesEverything(t *testing.T) {
	m := startMoto(t)
	ctx := t.Context()
	setup := SetupOptions{Stream: "events", Bucket: "events-bucket"}
	if _, err := Setup(ctx, m.Clients, setup, nil); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	// moto's Firehose writes one object per Put call; add one by hand too.
	if _, err := m.fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("events"), Record: &fhtypes.Record{Data: []byte("{}\n")}}); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if _, err := m.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("events-bucket"), Key: aws.String("extra.txt"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}

	var asked []string
	var askedCount int
	confirm := func(bucket string, n int) (bool, error) {
		asked = append(asked, bucket)
		askedCount = n
		return true, nil
	}
	res, err := Teardown(ctx, m.Clients, TeardownOptions{Stream: "events", Bucket: "events-bucket"}, confirm, nil)
	if err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if len(asked) != 1 || asked[0] != "events-bucket" || askedCount != 2 {
		t.Errorf("confirm asked %v with %d objects, want once for events-bucket with 2", asked, askedCount)
	}
	if res.ObjectsDeleted != 2 {
		t.Errorf("ObjectsDeleted = %d, want 2", res.ObjectsDeleted)
	}
	for _, r := range res.Resources() {
		if r.Status != StatusDeleted {
			t.Errorf("%s %s: status %s, want Deleted", r.Kind, r.Name, r.Status)
		}
	}
	if s, b, r := m.exists(t, "events", "events-bucket", DefaultRoleName("events")); s || b || r {
		t.Errorf("left behind: stream %v bucket %v role %v", s, b, r)
	}

	again, err := Teardown(ctx, m.Clients, TeardownOptions{Stream: "events", Bucket: "events-bucket"}, confirm, nil)
	if err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
	for _, r := range again.Resources() {
		if r.Status != StatusGone {
			t.Errorf("second run: %s %s: status %s, want Gone", r.Kind, r.Name, r.Status)
		}
	}
	if len(asked) != 1 {
		t.Errorf("confirm asked again for a missing bucket: %v", asked)
	}
}

func TestTeardownRefusesUnmanaged(t *testing.T) {
	m := startMoto(t)
	ctx := t.Context()
	// Each case sets up managed resources for its stream, then replaces one
	// of them with an untagged one made directly with the SDK.
	tests := []struct {
		name    string
		stream  string
		replace func(t *testing.T, stream, bucket, role string)
		wantIn  string
	}{
		{
			name:   "untagged stream",
			stream: "plain-stream",
			replace: func(t *testing.T, stream, bucket, role string) {
				if _, err := m.fh.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String(stream)}); err != nil {
					t.Fatalf("DeleteDeliveryStream: %v", err)
				}
				if _, err := m.fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
					DeliveryStreamName: aws.String(stream),
					ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
						BucketARN: aws.String("arn:aws:s3:::" + bucket), RoleARN: aws.String("arn:aws:iam::123456789012:role/" + role),
					},
				}); err != nil {
					t.Fatalf("CreateDeliveryStream: %v", err)
				}
			},
			wantIn: "delivery stream plain-stream: not created by firehose setup",
		},
		{
			name:   "untagged bucket",
			stream: "plain-bucket",
			replace: func(t *testing.T, _, bucket, _ string) {
				if _, err := m.s3.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(bucket)}); err != nil {
					t.Fatalf("DeleteBucketTagging: %v", err)
				}
			},
			wantIn: "bucket plain-bucket-bucket: not created by firehose setup",
		},
		{
			name:   "untagged role",
			stream: "plain-role",
			replace: func(t *testing.T, _, _, role string) {
				if _, err := m.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(role), TagKeys: []string{TagManaged, TagStream}}); err != nil {
					t.Fatalf("UntagRole: %v", err)
				}
			},
			wantIn: "role firehose-plain-role-delivery: not created by firehose setup",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket, role := tt.stream+"-bucket", DefaultRoleName(tt.stream)
			if _, err := Setup(ctx, m.Clients, SetupOptions{Stream: tt.stream, Bucket: bucket}, nil); err != nil {
				t.Fatalf("Setup: %v", err)
			}
			tt.replace(t, tt.stream, bucket, role)

			confirmed := false
			_, err := Teardown(ctx, m.Clients, TeardownOptions{Stream: tt.stream, Bucket: bucket},
				func(string, int) (bool, error) { confirmed = true; return true, nil }, nil)
			if !errors.Is(err, ErrNotManaged) {
				t.Fatalf("Teardown error = %v, want ErrNotManaged", err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("error %q does not name the resource (want %q)", err, tt.wantIn)
			}
			if confirmed {
				t.Error("confirm was asked although Teardown refused")
			}
			if s, b, r := m.exists(t, tt.stream, bucket, role); !s || !b || !r {
				t.Errorf("Teardown deleted something: stream %v bucket %v role %v still there", s, b, r)
			}
		})
	}
}

func TestTeardownConfirmation(t *testing.T) {
	m := startMoto(t)
	ctx := t.Context()
	errNoTTY := errors.New("no terminal")
	tests := []struct {
		name       string
		confirm    ConfirmFunc
		keepBucket bool
		wantErr    error
		wantStream bool // still there afterwards
		wantBucket bool
		wantRole   bool
		wantStatus Status // of the bucket, when no error
	}{
		{name: "declined keeps bucket", confirm: func(string, int) (bool, error) { return false, nil }, wantBucket: true, wantStatus: StatusKept},
		{name: "confirm error deletes nothing", confirm: func(string, int) (bool, error) { return false, errNoTTY }, wantErr: errNoTTY, wantStream: true, wantBucket: true, wantRole: true},
		{name: "keep bucket does not ask", confirm: func(string, int) (bool, error) { t.Error("asked"); return true, nil }, keepBucket: true, wantBucket: true, wantStatus: StatusKept},
		{name: "nil confirm means yes", confirm: nil, wantStatus: StatusDeleted},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := "confirm-" + string(rune('a'+i))
			bucket, role := stream+"-bucket", DefaultRoleName(stream)
			if _, err := Setup(ctx, m.Clients, SetupOptions{Stream: stream, Bucket: bucket}, nil); err != nil {
				t.Fatalf("Setup: %v", err)
			}
			res, err := Teardown(ctx, m.Clients, TeardownOptions{Stream: stream, Bucket: bucket, KeepBucket: tt.keepBucket}, tt.confirm, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Teardown error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && res.Bucket.Status != tt.wantStatus {
				t.Errorf("bucket status = %s, want %s", res.Bucket.Status, tt.wantStatus)
			}
			s, b, r := m.exists(t, stream, bucket, role)
			if s != tt.wantStream || b != tt.wantBucket || r != tt.wantRole {
				t.Errorf("after Teardown: stream %v bucket %v role %v, want %v %v %v", s, b, r, tt.wantStream, tt.wantBucket, tt.wantRole)
			}
		})
	}
}
