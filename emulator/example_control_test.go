package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"

	"github.com/firehose-tools/firehose/emulator"
)

// Script a fault: the next PutRecordBatch fails whole with InternalFailure,
// then the service is normal again.
func ExampleServer_Control() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "emulator-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := emulator.New(emulator.DataDir(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close(ctx)
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	client := firehose.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	}, func(o *firehose.Options) { o.RetryMaxAttempts = 1 }) // see each fault
	_, err = client.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("events"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::example-bucket"),
			RoleARN:   aws.String("arn:aws:iam::000000000000:role/firehose"),
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	if err := srv.Control(emulator.FailNext("PutRecordBatch", 1, emulator.FaultInternalFailure)); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		_, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{
			DeliveryStreamName: aws.String("events"),
			Records:            []types.Record{{Data: []byte("hello\n")}},
		})
		var ae smithy.APIError
		if errors.As(err, &ae) {
			fmt.Println("error:", ae.ErrorCode())
		} else {
			fmt.Println("error:", err)
		}
	}
	// Output:
	// error: InternalFailure
	// error: <nil>
}
