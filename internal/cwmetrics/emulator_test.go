package cwmetrics

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// TestFetchAgainstEmulator reads the metrics our emulator records for a
// PutRecordBatch, over both CloudWatch protocols the SDK can speak (moto only
// covers JSON 1.0; real CloudWatch is reached with the CBOR default).
func TestFetchAgainstEmulator(t *testing.T) {
	const records, recordBytes = 10, 8
	for _, protocol := range []string{awsconf.ProtocolCBOR, awsconf.ProtocolJSON} {
		t.Run(protocol, func(t *testing.T) {
			cw, put := newStream(t, protocol, "metrics-"+protocol)
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

// newStream starts an emulator with a stream and returns a CloudWatch
// client speaking protocol to it and a function that sends one
// PutRecordBatch of n records of size bytes to the stream.
func newStream(t *testing.T, protocol, stream string) (API, func(n, size int)) {
	t.Helper()
	fh, cw := backend.EmulatorClients(t, stream, protocol)
	return cw, func(n, size int) {
		t.Helper()
		batch := make([]ftypes.Record, n)
		for i := range batch {
			batch[i] = ftypes.Record{Data: []byte("{\"a\":1}\n")[:size]}
		}
		if _, err := fh.PutRecordBatch(t.Context(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: batch}); err != nil {
			t.Fatal(err)
		}
	}
}
