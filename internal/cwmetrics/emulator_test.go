package cwmetrics

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/firehose-tools/firehose/emulator"
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

// TestFetchQuotaAgainstEmulator reads a stream's quota from the limit
// metrics: none before the stream's first request (the metrics come with
// traffic), the emulator's configured quota after it.
func TestFetchQuotaAgainstEmulator(t *testing.T) {
	quota := emulator.QuotaConfig{BytesPerSecond: 3 << 20, RecordsPerSecond: 70_000, RequestsPerSecond: 900}
	for _, protocol := range []string{awsconf.ProtocolCBOR, awsconf.ProtocolJSON} {
		t.Run(protocol, func(t *testing.T) {
			stream := "quota-" + protocol
			cw, put := newStream(t, protocol, stream, emulator.Quotas(quota))
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
			if day := before.UTC().Truncate(quotaPeriod); !got.At.Equal(day) {
				t.Errorf("quota as of %v, want the start of the put's day (%v)", got.At, day)
			}
			if got.Predates(before) || !got.Predates(before.Add(quotaPeriod)) {
				t.Errorf("quota as of %v: Predates(%v) = %v, Predates(a day later) = %v; want false, true",
					got.At, before, got.Predates(before), got.Predates(before.Add(quotaPeriod)))
			}
		})
	}
}

// TestFetchQuotaLooksBackMonths: the limit metrics of a stream's last
// traffic are found as long as CloudWatch keeps them (455 days), not only
// on the day of the traffic: a weekly job's stream tells its quota too.
func TestFetchQuotaLooksBackMonths(t *testing.T) {
	quota := emulator.QuotaConfig{BytesPerSecond: 3 << 20, RecordsPerSecond: 70_000, RequestsPerSecond: 900}
	for _, tc := range []struct {
		name  string
		ago   time.Duration
		known bool
	}{
		{"a day ago", 30 * time.Hour, true},
		{"ten days ago", 10 * 24 * time.Hour, true},
		{"a year ago", 365 * 24 * time.Hour, true},
		{"older than CloudWatch keeps", QuotaWindow + 48*time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The emulator's clock runs tc.ago behind: its traffic, and
			// the limit metrics that come with it, are that old.
			stream := "quota-months"
			cw, put := newStream(t, awsconf.ProtocolCBOR, stream, emulator.Quotas(quota),
				emulator.Clock(func() time.Time { return time.Now().Add(-tc.ago) }))
			put(1, 8)
			got, err := FetchQuota(t.Context(), cw, stream, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got.Known() != tc.known {
				t.Fatalf("traffic %s: quota %+v, known %v, want %v", tc.name, got, got.Known(), tc.known)
			}
			if day := time.Now().Add(-tc.ago).UTC().Truncate(quotaPeriod); tc.known &&
				(got.BytesPerSecond != float64(quota.BytesPerSecond) || !got.At.Equal(day)) {
				t.Errorf("traffic %s: quota %+v, want %d B/s as of %v", tc.name, got, quota.BytesPerSecond, day)
			}
		})
	}
}

// newStream starts an emulator with a stream and returns a CloudWatch
// client speaking protocol to it and a function that sends one
// PutRecordBatch of n records of size bytes to the stream.
func newStream(t *testing.T, protocol, stream string, opts ...emulator.Option) (API, func(n, size int)) {
	t.Helper()
	url, _ := backend.StartEmulator(t, stream, opts...)
	awsOpts := awsconf.Options{EndpointURL: url, Local: true, CloudWatchProtocol: protocol}
	cfg, err := awsconf.Load(t.Context(), awsOpts)
	if err != nil {
		t.Fatal(err)
	}
	fh := awsconf.Firehose(cfg)
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
	return awsconf.CloudWatch(cfg, awsOpts), put
}
