package producer_test

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/producer"
)

// A service adds records as events happen, from many goroutines, and
// flushes on shutdown. Here the stream is the in-process emulator.
func ExampleProducer_Add() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	srv, _ := emulator.New(emulator.DataDir(dir))
	url, _ := srv.Start("127.0.0.1:0")
	defer srv.Close(context.Background())

	// In real use: cfg, _ := config.LoadDefaultConfig(ctx).
	client := firehose.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	})
	ctx := context.Background()
	_, _ = client.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("events"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::events-bucket"),
			RoleARN:   aws.String("arn:aws:iam::123456789012:role/firehose"),
		},
	})

	var mu sync.Mutex
	failed := 0
	p, err := producer.New(client, "events", producer.OnResult(func(r producer.RecordResult) {
		if r.Err != nil {
			mu.Lock()
			failed++
			mu.Unlock()
		}
	}))
	if err != nil {
		fmt.Println(err)
		return
	}

	// Request handlers add events; Add returns at once and blocks only
	// while the buffer is full.
	var wg sync.WaitGroup
	for worker := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				event := fmt.Sprintf(`{"worker":%d,"event":%d}`, worker, i)
				if err := p.Add(ctx, producer.Record{Data: []byte(event)}); err != nil {
					fmt.Println(err)
					return
				}
			}
		})
	}
	wg.Wait()

	// On shutdown: Close flushes what is buffered and stops.
	if err := p.Close(ctx); err != nil {
		fmt.Println(err)
	}
	st := p.Stats()
	fmt.Println("delivered", st.Delivered, "failed", failed)
	// Output: delivered 8000 failed 0
}
