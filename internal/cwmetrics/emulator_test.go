package cwmetrics

import (
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
	srv, err := emulator.New(emulator.DataDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(t.Context()) })

	const records, recordBytes = 10, 8
	for _, protocol := range []string{awsconf.ProtocolCBOR, awsconf.ProtocolJSON} {
		t.Run(protocol, func(t *testing.T) {
			opts := awsconf.Options{EndpointURL: url, Local: true, CloudWatchProtocol: protocol}
			cfg, err := awsconf.Load(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			fh := awsconf.Firehose(cfg)
			stream := "metrics-" + protocol
			if _, err := fh.CreateDeliveryStream(t.Context(), &firehose.CreateDeliveryStreamInput{
				DeliveryStreamName: aws.String(stream),
				ExtendedS3DestinationConfiguration: &ftypes.ExtendedS3DestinationConfiguration{
					BucketARN: aws.String("arn:aws:s3:::metrics-bucket"), RoleARN: aws.String("arn:aws:iam::000000000000:role/firehose"),
				},
			}); err != nil {
				t.Fatal(err)
			}
			batch := make([]ftypes.Record, records)
			for i := range batch {
				batch[i] = ftypes.Record{Data: []byte("{\"a\":1}\n")[:recordBytes]}
			}
			if _, err := fh.PutRecordBatch(t.Context(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: batch}); err != nil {
				t.Fatal(err)
			}
			report, err := Wait(t.Context(), awsconf.CloudWatch(cfg, opts), Query{Stream: stream, End: time.Now().Add(time.Minute)},
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
