// Command naiveloop is the baseline of the bench's cpu scenario: the
// straightforward way to send a file with the AWS SDK for Go v2. One
// goroutine reads the NDJSON file line by line, appends a newline to each
// record, sends PutRecordBatch 500 records at a time and resends the failed
// entries of each call until none is left. It uses the SDK client settings of
// the firehose CLI (internal/awsconf.Load with an endpoint and Local). The
// bench runs it as its own process and reads its CPU time from rusage.
//
// Usage:
//
//	naiveloop -endpoint-url URL -stream NAME FILE
//
// It prints one JSON line: {"records": N, "delivered": D, "resent": R, "calls": C, "seconds": S, "records_per_second": X}.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/firehose-tools/firehose/internal/awsconf"
)

// batchSize is the PutRecordBatch maximum number of records per call.
const batchSize = 500

// maxRounds bounds the resends of one batch, so that a stream that refuses
// everything ends the run instead of spinning.
const maxRounds = 100

// errGaveUp: some records of a batch still failed after maxRounds calls.
var errGaveUp = errors.New("records still failing after the last resend")

// Result is the JSON line printed at the end.
type Result struct {
	Records          int64   `json:"records"`
	Delivered        int64   `json:"delivered"`
	Resent           int64   `json:"resent"`
	Calls            int64   `json:"calls"`
	Seconds          float64 `json:"seconds"`
	RecordsPerSecond float64 `json:"records_per_second"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("naiveloop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint-url", "", "Firehose endpoint, e.g. the emulator (required)")
	stream := fs.String("stream", "", "delivery stream name (required)")
	region := fs.String("region", "us-east-1", "region")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *endpoint == "" || *stream == "" || fs.NArg() != 1 {
		_, _ = fmt.Fprintln(stderr, "usage: naiveloop -endpoint-url URL -stream NAME FILE")
		return 2
	}
	cfg, err := awsconf.Load(ctx, awsconf.Options{Region: *region, EndpointURL: *endpoint, Local: true})
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "naiveloop:", err)
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "naiveloop:", err)
		return 2
	}
	defer func() { _ = f.Close() }()
	start := time.Now()
	res, err := sendFile(ctx, awsconf.Firehose(cfg), *stream, f)
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.RecordsPerSecond = float64(res.Delivered) / res.Seconds
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "naiveloop:", err)
	}
	line, _ := json.Marshal(res)
	_, _ = fmt.Fprintln(stdout, string(line))
	if err != nil {
		return 1
	}
	return 0
}

// sendFile sends every non-empty line of r, newline appended, 500 at a time.
func sendFile(ctx context.Context, client *firehose.Client, stream string, r io.Reader) (Result, error) {
	var res Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1_024_000)
	batch := make([]types.Record, 0, batchSize)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		data := make([]byte, len(line)+1)
		copy(data, line)
		data[len(line)] = '\n'
		batch = append(batch, types.Record{Data: data})
		res.Records++
		if len(batch) == batchSize {
			if err := sendBatch(ctx, client, stream, batch, &res); err != nil {
				return res, err
			}
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read input: %w", err)
	}
	if len(batch) > 0 {
		return res, sendBatch(ctx, client, stream, batch, &res)
	}
	return res, nil
}

// sendBatch calls PutRecordBatch until every record of batch is accepted,
// each time with only the entries that failed.
func sendBatch(ctx context.Context, client *firehose.Client, stream string, batch []types.Record, res *Result) error {
	pending := batch
	for range maxRounds {
		out, err := client.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{
			DeliveryStreamName: aws.String(stream),
			Records:            pending,
		})
		res.Calls++
		if err != nil {
			return fmt.Errorf("PutRecordBatch: %w", err)
		}
		var failed []types.Record
		for i, e := range out.RequestResponses {
			if e.ErrorCode != nil && i < len(pending) {
				failed = append(failed, pending[i])
			}
		}
		res.Delivered += int64(len(pending) - len(failed))
		if len(failed) == 0 {
			return nil
		}
		res.Resent += int64(len(failed))
		pending = failed
	}
	return fmt.Errorf("%w: %d records", errGaveUp, len(pending))
}
