package emulator_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firehose-tools/firehose/emulator"
)

// A stream given as an option exists as soon as New returns: no
// CreateDeliveryStream, no IAM role. The delivered object is read back
// through the emulator's S3 API, as from the real bucket.
func ExampleStream() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "emulator-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := emulator.New(emulator.DataDir(dir), emulator.Stream("orders", "example-bucket"), emulator.NoQuotas())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close(ctx)
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(url)}

	fh := firehose.NewFromConfig(cfg)
	if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{
		DeliveryStreamName: aws.String("orders"),
		Record:             &types.Record{Data: []byte(`{"order":1}` + "\n")},
	}); err != nil {
		log.Fatal(err)
	}
	if err := srv.Flush(ctx); err != nil { // deliver now rather than after 300 s
		log.Fatal(err)
	}

	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("example-bucket")})
	if err != nil {
		log.Fatal(err)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("example-bucket"), Key: list.Contents[0].Key})
	if err != nil {
		log.Fatal(err)
	}
	defer obj.Body.Close()
	data, _ := io.ReadAll(obj.Body)
	fmt.Printf("%d object: %s", len(list.Contents), data)
	// Output:
	// 1 object: {"order":1}
}
