package emulator_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/firehose-tools/firehose/emulator"
)

// Start an emulator, send records with the AWS SDK, and read the delivered
// file after Close.
func Example() {
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
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	client := firehose.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	})
	_, err = client.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("events"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::example-bucket"),
			RoleARN:   aws.String("arn:aws:iam::000000000000:role/firehose"),
			Prefix:    aws.String("events/"),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	out, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{
		DeliveryStreamName: aws.String("events"),
		Records:            []types.Record{{Data: []byte(`{"n":1}` + "\n")}, {Data: []byte(`{"n":2}` + "\n")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("failed:", aws.ToInt32(out.FailedPutCount))

	// Close writes every buffered record to disk.
	if err := srv.Close(ctx); err != nil {
		log.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "example-bucket", "events", "*", "*", "*", "*", "events-1-*"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		fmt.Print(string(data))
	}
	// Output:
	// failed: 0
	// {"n":1}
	// {"n":2}
}
