package emulator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"
)

// Every crafted prefix is refused at create or written under the data
// directory, exactly where its key says.
func TestCraftedPrefixesAreRefusedOrWritten(t *testing.T) {
	tests := []struct {
		name        string
		prefix      string
		errorPrefix string
		wantCode    string // "" when the stream is created and its records written
	}{
		{name: "three dots", prefix: ".../"},
		{name: "escaped dot-dot slashes", prefix: "..%2f..%2f"},
		{name: "name starting with two dots", prefix: "..data/"},
		{name: "dot-dot as the last component", prefix: "a/.."},
		{name: "dot as the last component", prefix: "a/."},
		{name: "plain", prefix: "events/type=a/"},
		{name: "non-ASCII", prefix: "données/日本/"},
		{name: "no prefix", prefix: ""},
		{name: "500 levels", prefix: strings.Repeat("a/", 500)},
		{name: "255-byte component", prefix: strings.Repeat("c", 255) + "/"},
		{name: "last component that fits with the year", prefix: strings.Repeat("c", 251)},
		{name: "NUL", prefix: "a\x00b/", wantCode: "InvalidArgumentException"},
		{name: "NUL in the error prefix", prefix: "ok/", errorPrefix: "err\x00/", wantCode: "InvalidArgumentException"},
		{name: "300-byte component", prefix: strings.Repeat("c", 300) + "/", wantCode: "InvalidArgumentException"},
		{name: "last component too long with the year", prefix: strings.Repeat("c", 252), wantCode: "InvalidArgumentException"},
		{name: "2,100 levels", prefix: strings.Repeat("a/", 2100), wantCode: "ValidationException"},
		{name: "over 1,024 bytes error prefix", prefix: "ok/", errorPrefix: strings.Repeat("e", 1025), wantCode: "ValidationException"},
		{name: "parent", prefix: "../up/", wantCode: "InvalidArgumentException"},
		{name: "parent inside", prefix: "a/../../b/", wantCode: "InvalidArgumentException"},
		{name: "absolute", prefix: "/etc/", wantCode: "InvalidArgumentException"},
		{name: "backslash", prefix: `a\b/`, wantCode: "InvalidArgumentException"},
		{name: "empty component", prefix: "a//b/", wantCode: "InvalidArgumentException"},
		{name: "dot component", prefix: "a/./b/", wantCode: "InvalidArgumentException"},
		{name: "parent in the error prefix", prefix: "ok/", errorPrefix: "../err/", wantCode: "InvalidArgumentException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, url := startServer(t, NoQuotas())
			fh := firehoseClient(url, 1)
			ctx := ctxTimeout(t)
			_, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
				DeliveryStreamName: aws.String("s"),
				ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
					BucketARN: aws.String("arn:aws:s3:::bkt"), RoleARN: aws.String("r"),
					Prefix: aws.String(tt.prefix), ErrorOutputPrefix: aws.String(tt.errorPrefix),
				},
			})
			if tt.wantCode != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
					t.Fatalf("create: %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("s"), Record: &types.Record{Data: []byte("x\n")}}); err != nil {
				t.Fatalf("put: %v", err)
			}
			if err := srv.Flush(ctx); err != nil {
				t.Fatalf("flush: %v", err)
			}
			paths, contents := deliveredFiles(t, srv.DataDir(), "bkt")
			if len(paths) != 1 || string(contents[0]) != "x\n" {
				t.Fatalf("delivered %q, want one object holding the record", paths)
			}
			// The file sits at the key: the prefix, then YYYY/MM/DD/HH/.
			rest, ok := strings.CutPrefix(paths[0], tt.prefix)
			if !ok || strings.Count(rest, "/") != 4 || !strings.HasPrefix(filepath.Base(rest), "s-1-") {
				t.Errorf("object at %q, want %q followed by YYYY/MM/DD/HH/s-1-...", paths[0], tt.prefix)
			}
		})
	}
}

// A bucket whose directory cannot be made (a file is in the way) is
// refused at create.
func TestUnwritableBucketIsRefused(t *testing.T) {
	srv, url := startServer(t)
	if err := os.WriteFile(filepath.Join(srv.DataDir(), "blocked"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fh := firehoseClient(url, 1)
	_, err := fh.CreateDeliveryStream(ctxTimeout(t), &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("s"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::blocked"), RoleARN: aws.String("r"),
		},
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidArgumentException" {
		t.Fatalf("create: %v, want InvalidArgumentException", err)
	}
}
