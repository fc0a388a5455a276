package cwmetrics

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/awsconf"
)

// TestFetchAgainstEmulator reads the metrics our emulator records for a
// PutRecordBatch, over both CloudWatch protocols the SDK can speak (moto only
// covers JSON 1.0; real CloudWatch is reached with the CBOR default).
func TestFetchAgainstEmulator(t *testing.T) {
	url := startEmulator(t)
	const records, recordBytes = 10, 8
	for _, protocol := range []string{awsconf.ProtocolCBOR, awsconf.ProtocolJSON} {
		t.Run(protocol, func(t *testing.T) {
			cw, put := newStream(t, url, protocol, "metrics-"+protocol)
			put(records, recordBytes)
			report, err := Wait(t.Context(), cw, Query{Stream: "metrics-" + protocol, End: time.Now().Add(time.Minute)},
				records, 5*time.Second, 100*time.Millisecond, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{"IncomingRecords": records, "IncomingBytes": records * recordBytes, "IncomingPutRequests": 1}
			for name, total := range want {
				if s, _ := report.Get(name); !s.HasData || s.Total != total {
					t.Errorf("%s = %+v, want total %v", name, s, total)
				}
			}
		})
	}
}

// TestFetchQuotaAgainstEmulator reads a stream's quota from the limit
// metrics: none before the stream's first request (the metrics come with
// traffic), the emulator's configured quota after it.
func TestFetchQuotaAgainstEmulator(t *testing.T) {
	quota := emulator.QuotaConfig{BytesPerSecond: 3 << 20, RecordsPerSecond: 70_000, RequestsPerSecond: 900}
	url := startEmulator(t, emulator.Quotas(quota))
	for _, protocol := range []string{awsconf.ProtocolCBOR, awsconf.ProtocolJSON} {
		t.Run(protocol, func(t *testing.T) {
			stream := "quota-" + protocol
			cw, put := newStream(t, url, protocol, stream)
			got, err := FetchQuota(t.Context(), cw, stream, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got.Known() {
				t.Fatalf("quota of a stream without traffic = %+v, want none", got)
			}
			before := time.Now().Truncate(time.Minute)
			put(1, 8)
			got, err = FetchQuota(t.Context(), cw, stream, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			want := Quota{BytesPerSecond: float64(quota.BytesPerSecond), RecordsPerSecond: float64(quota.RecordsPerSecond),
				RequestsPerSecond: float64(quota.RequestsPerSecond)}
			if got.BytesPerSecond != want.BytesPerSecond || got.RecordsPerSecond != want.RecordsPerSecond ||
				got.RequestsPerSecond != want.RequestsPerSecond || !got.Known() {
				t.Errorf("quota = %+v, want %+v", got, want)
			}
			if got.At.Before(before.Add(-quotaPeriod)) || got.At.After(time.Now()) {
				t.Errorf("quota as of %v, want the period of the put (%v)", got.At, before)
			}
		})
	}
}

// startEmulator starts an emulator on loopback for the test and returns
// its URL.
func startEmulator(t *testing.T, opts ...emulator.Option) string {
	t.Helper()
	srv, err := emulator.New(append([]emulator.Option{emulator.DataDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return url
}

// newStream creates a stream on the emulator at url and returns a
// CloudWatch client speaking protocol and a function that sends one
// PutRecordBatch of n records of size bytes to the stream.
func newStream(t *testing.T, url, protocol, stream string) (API, func(n, size int)) {
	t.Helper()
	opts := awsconf.Options{EndpointURL: url, Local: true, CloudWatchProtocol: protocol}
	cfg, err := awsconf.Load(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	fh := awsconf.Firehose(cfg)
	if _, err := fh.CreateDeliveryStream(t.Context(), &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(stream),
		ExtendedS3DestinationConfiguration: &ftypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::metrics-bucket"), RoleARN: aws.String("arn:aws:iam::000000000000:role/firehose"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	put := func(n, size int) {
		t.Helper()
		batch := make([]ftypes.Record, n)
		for i := range batch {
			batch[i] = ftypes.Record{Data: []byte("{\"a\":1}\n")[:size]}
		}
		if _, err := fh.PutRecordBatch(t.Context(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: batch}); err != nil {
			t.Fatal(err)
		}
	}
	return awsconf.CloudWatch(cfg, opts), put
}
