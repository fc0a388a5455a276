package emulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// BenchmarkPutRecordBatch pushes 500-record batches of 90-byte records
// through the real SDK from 4 senders; the producer's target is more than
// 250,000 records/s on 2 cores (see the records/s metric).
func BenchmarkPutRecordBatch(b *testing.B) {
	srv, err := New(DataDir(b.TempDir()), NoQuotas())
	if err != nil {
		b.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close(context.Background())
	fh := firehose.NewFromConfig(awsConfig(), func(o *firehose.Options) {
		o.BaseEndpoint = aws.String(url)
		o.HTTPClient = bufferedHTTPClient{c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	})
	ctx := context.Background()
	if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("bench"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::bench-bucket"), RoleARN: aws.String("r"),
			BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(64), IntervalInSeconds: aws.Int32(900)},
		},
	}); err != nil {
		b.Fatal(err)
	}
	records := make([]types.Record, 500)
	for i := range records {
		data := make([]byte, 90)
		for j := range data {
			data[j] = byte('a' + (i+j)%26)
		}
		records[i] = types.Record{Data: data}
	}
	in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("bench"), Records: records}
	const senders = 4
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range senders {
		wg.Go(func() {
			for range work {
				out, err := fh.PutRecordBatch(ctx, in)
				if err != nil {
					b.Error(err)
					continue
				}
				if aws.ToInt32(out.FailedPutCount) != 0 {
					b.Errorf("%d failed", aws.ToInt32(out.FailedPutCount))
				}
			}
		})
	}
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N*len(records))/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkHandlePutRecordBatch measures the handler alone (decode, accept,
// encode) on a 500 × 90-byte batch, without the SDK or the network.
func BenchmarkHandlePutRecordBatch(b *testing.B) {
	srv, err := New(DataDir(b.TempDir()), NoQuotas())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close(context.Background())
	create := `{"DeliveryStreamName":"h","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::h-bucket","RoleARN":"r","BufferingHints":{"SizeInMBs":128,"IntervalInSeconds":900}}}`
	if rec := callB(b, srv, "CreateDeliveryStream", []byte(create)); rec.code != http.StatusOK {
		b.Fatal(rec.code)
	}
	body := []byte(`{"DeliveryStreamName":"h","Records":[`)
	for i := range 500 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"Data":"`...)
		body = append(body, "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"...)
		body = append(body, `"}`...)
	}
	body = append(body, "]}"...)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if rec := callB(b, srv, "PutRecordBatch", body); rec.code != http.StatusOK {
			b.Fatal(rec.code)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "records/s")
}

type discardResponse struct {
	h    http.Header
	code int
}

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardResponse) WriteHeader(code int)        { d.code = code }

func callB(b *testing.B, srv *Server, op string, body []byte) *discardResponse {
	b.Helper()
	req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "Firehose_20150804."+op)
	rec := &discardResponse{h: http.Header{}}
	srv.ServeHTTP(rec, req)
	return rec
}

// BenchmarkBufferMemory pushes 200 MB of 1,000-byte records through one
// stream with SizeInMBs 128 (so one full object is written and the rest is
// flushed at the end) and reports the peak heap seen by a sampler: the
// buffer should cost about what it holds, with no large copy on growth.
func BenchmarkBufferMemory(b *testing.B) {
	const (
		recordSize = 1000
		perBatch   = 500
		total      = 200 << 20
	)
	payload := bytes.Repeat([]byte("y"), recordSize)
	body := []byte(`{"DeliveryStreamName":"m","Records":[`)
	for i := range perBatch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"Data":"`...)
		body = base64.StdEncoding.AppendEncode(body, payload)
		body = append(body, `"}`...)
	}
	body = append(body, "]}"...)
	batches := total / (recordSize * perBatch)
	var peakInuse, peakSys uint64
	b.ReportAllocs()
	b.SetBytes(int64(batches * recordSize * perBatch))
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		srv, err := New(DataDir(b.TempDir()), NoQuotas())
		if err != nil {
			b.Fatal(err)
		}
		create := `{"DeliveryStreamName":"m","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::m-bucket","RoleARN":"r","BufferingHints":{"SizeInMBs":128,"IntervalInSeconds":900}}}`
		if rec := callB(b, srv, "CreateDeliveryStream", []byte(create)); rec.code != http.StatusOK {
			b.Fatal(rec.code)
		}
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() {
			var ms runtime.MemStats
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				peakInuse = max(peakInuse, ms.HeapInuse)
				peakSys = max(peakSys, ms.Sys)
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		})
		b.StartTimer()
		for range batches {
			if rec := callB(b, srv, "PutRecordBatch", body); rec.code != http.StatusOK {
				b.Fatal(rec.code)
			}
		}
		if err := srv.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		close(stop)
		sampler.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(peakInuse)/(1<<20), "peak-heap-inuse-MiB")
	b.ReportMetric(float64(peakSys)/(1<<20), "peak-sys-MiB")
}
