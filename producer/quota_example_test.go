package producer_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/producer"
)

// Read the stream's quota before sending, as the CLI does: under it nothing
// is throttled, not even in the first second. The emulator stands in for
// AWS here; with AWS, the clients come from config.LoadDefaultConfig.
func ExampleReadQuota() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "quota-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := emulator.New(emulator.DataDir(dir), emulator.Stream("events", "example-bucket"))
	if err != nil {
		log.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close(ctx)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url)}
	cw, fh := cloudwatch.NewFromConfig(cfg), firehose.NewFromConfig(cfg)

	send := func(data string) {
		q, err := producer.ReadQuota(ctx, cw, "events")
		if err != nil {
			log.Fatal(err) // no cloudwatch:GetMetricData, say: go on without it
		}
		if q.Known() {
			fmt.Printf("quota: %.0f MiB/s, %.0f records/s, %.0f requests/s\n",
				q.BytesPerSecond/(1<<20), q.RecordsPerSecond, q.RequestsPerSecond)
		} else {
			fmt.Println("quota: not known (no traffic yet); the rate control finds it")
		}
		p, err := producer.New(fh, "events", producer.KnownQuota(q))
		if err != nil {
			log.Fatal(err)
		}
		res, err := p.PutRecordBatch(ctx, []producer.Record{{Data: []byte(data)}})
		fmt.Println("delivered:", res.Delivered, err)
		if err := p.Close(ctx); err != nil {
			log.Fatal(err)
		}
	}
	send(`{"n":1}`) // a new stream: its limit metrics come with its traffic
	send(`{"n":2}`)
	// Output:
	// quota: not known (no traffic yet); the rate control finds it
	// delivered: 1 <nil>
	// quota: 5 MiB/s, 500000 records/s, 2000 requests/s
	// delivered: 1 <nil>
}
