package producer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/firehose-tools/firehose/producer"
)

// acceptAll is a stand-in for *firehose.Client that accepts every record.
type acceptAll struct{ n int }

func (c *acceptAll) PutRecord(_ context.Context, _ *firehose.PutRecordInput, _ ...func(*firehose.Options)) (*firehose.PutRecordOutput, error) {
	c.n++
	return &firehose.PutRecordOutput{RecordId: aws.String(fmt.Sprintf("id-%d", c.n))}, nil
}

func (c *acceptAll) PutRecordBatch(_ context.Context, in *firehose.PutRecordBatchInput, _ ...func(*firehose.Options)) (*firehose.PutRecordBatchOutput, error) {
	out := &firehose.PutRecordBatchOutput{FailedPutCount: aws.Int32(0)}
	for range in.Records {
		c.n++
		out.RequestResponses = append(out.RequestResponses, types.PutRecordBatchResponseEntry{RecordId: aws.String(fmt.Sprintf("id-%d", c.n))})
	}
	return out, nil
}

func Example() {
	// In real use: client := firehose.NewFromConfig(cfg) (see the package
	// doc for the retryer setting).
	client := &acceptAll{}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	sink := producer.NewFileSink(filepath.Join(dir, "dead-letters.ndjson"))

	p, err := producer.New(client, "my-stream",
		producer.Concurrency(2),
		producer.DeadLetterTo(sink),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())

	ctx := context.Background()
	id, err := p.PutRecord(ctx, producer.Record{Seq: 1, Data: []byte(`{"n":1}`)})
	fmt.Println(id, err)

	recs := []producer.Record{
		{Seq: 2, Data: []byte(`{"n":2}`)},
		{Seq: 3, Data: []byte(`{"n":3}`)},
	}
	res, err := p.PutRecordBatch(ctx, recs)
	fmt.Println(res.Delivered, res.DeadLettered, err)

	s := p.Stats()
	fmt.Println(s.Submitted, s.Delivered, s.Bytes, s.BilledBytes, sink.Count())
	// Output:
	// id-1 <nil>
	// 2 0 <nil>
	// 3 3 24 15360 0
}

func ExamplePack() {
	client := &acceptAll{}
	p, _ := producer.New(client, "my-stream", producer.Pack(producer.DefaultPackTarget))
	recs := make([]producer.Record, 1000)
	for i := range recs {
		recs[i] = producer.Record{Seq: int64(i + 1), Data: []byte(`{"small":"record"}`)}
	}
	if _, err := p.PutRecordBatch(context.Background(), recs); err != nil {
		fmt.Println(err)
	}
	s := p.Stats()
	fmt.Printf("input records %d, Firehose records %d, billed %d bytes\n", s.Delivered, s.FirehoseRecords, s.BilledBytes)
	// Output:
	// input records 1000, Firehose records 2, billed 20480 bytes
}

func ExampleReadDeadLetters() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "dead.ndjson")
	sink := producer.NewFileSink(path)
	_ = sink.WriteDeadLetters(context.Background(), []producer.DeadLetter{
		{Seq: 42, Source: "data.json:42", Reason: producer.ReasonRetriesExhausted, Attempts: 8, Data: []byte(`{"a":1}`)},
	})
	_ = sink.Close()

	f, _ := os.Open(path)
	defer f.Close()
	for dl, err := range producer.ReadDeadLetters(f) {
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(dl.Seq, dl.Source, dl.Reason, string(dl.Data))
	}
	// Output:
	// 42 data.json:42 retries-exhausted {"a":1}
}
