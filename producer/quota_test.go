package producer

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	ftypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// quotaStream starts an emulator with a stream and returns a CloudWatch
// client speaking protocol to it and a function that sends one record to
// the stream.
func quotaStream(t *testing.T, protocol, stream string, opts ...emulator.Option) (CloudWatchAPI, func()) {
	t.Helper()
	fh, cw := backend.EmulatorClients(t, stream, protocol, opts...)
	return cw, func() {
		t.Helper()
		_, err := fh.PutRecordBatch(t.Context(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream),
			Records: []ftypes.Record{{Data: []byte("{\"a\":1}\n")}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadQuotaAgainstEmulator reads a stream's quota from the limit
// metrics, over both CloudWatch protocols the SDK speaks: none before the
// stream's first request (the metrics come with traffic), the emulator's
// configured quota after it, as of the day of the traffic.
func TestReadQuotaAgainstEmulator(t *testing.T) {
	quota := emulator.QuotaConfig{BytesPerSecond: 3 << 20, RecordsPerSecond: 70_000, RequestsPerSecond: 900}
	for _, protocol := range []string{awsconf.ProtocolCBOR, awsconf.ProtocolJSON} {
		t.Run(protocol, func(t *testing.T) {
			stream := "quota-" + protocol
			cw, put := quotaStream(t, protocol, stream, emulator.Quotas(quota))
			got, err := ReadQuota(t.Context(), cw, stream)
			if err != nil {
				t.Fatal(err)
			}
			if got.Known() {
				t.Fatalf("quota of a stream without traffic = %+v, want none", got)
			}
			before := time.Now().UTC().Truncate(24 * time.Hour)
			put()
			got, err = ReadQuota(t.Context(), cw, stream)
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now().UTC().Truncate(24 * time.Hour) // the put may cross midnight
			dayOfPut := got.AsOf.Equal(before) || got.AsOf.Equal(after)
			if got.BytesPerSecond != float64(quota.BytesPerSecond) || got.RecordsPerSecond != float64(quota.RecordsPerSecond) ||
				got.RequestsPerSecond != float64(quota.RequestsPerSecond) || !dayOfPut {
				t.Errorf("quota = %+v, want %+v as of %v", got, quota, before)
			}
		})
	}
}

// TestReadQuotaLooksBackMonths: the limit metrics of a stream's last
// traffic are found as long as CloudWatch keeps them (455 days), not only
// on the day of the traffic: a weekly job's stream tells its quota too.
func TestReadQuotaLooksBackMonths(t *testing.T) {
	quota := emulator.QuotaConfig{BytesPerSecond: 3 << 20, RecordsPerSecond: 70_000, RequestsPerSecond: 900}
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name  string
		ago   time.Duration
		known bool
	}{
		{"a day ago", 30 * time.Hour, true},
		{"ten days ago", 10 * day, true},
		{"a year ago", 365 * day, true},
		{"older than CloudWatch keeps", 457 * day, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The emulator's clock runs tc.ago behind: its traffic, and
			// the limit metrics that come with it, are that old.
			stream := "quota-months"
			cw, put := quotaStream(t, awsconf.ProtocolCBOR, stream, emulator.Quotas(quota),
				emulator.Clock(func() time.Time { return time.Now().Add(-tc.ago) }))
			before := time.Now().Add(-tc.ago).UTC().Truncate(day)
			put()
			got, err := ReadQuota(t.Context(), cw, stream)
			if err != nil {
				t.Fatal(err)
			}
			if got.Known() != tc.known {
				t.Fatalf("traffic %s: quota %+v, known %v, want %v", tc.name, got, got.Known(), tc.known)
			}
			after := time.Now().Add(-tc.ago).UTC().Truncate(day) // the put may cross midnight
			dayOfPut := got.AsOf.Equal(before) || got.AsOf.Equal(after)
			if tc.known && (got.BytesPerSecond != float64(quota.BytesPerSecond) || !dayOfPut) {
				t.Errorf("traffic %s: quota %+v, want %d B/s as of %v", tc.name, got, quota.BytesPerSecond, before)
			}
		})
	}
}

func TestQuotaPredates(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	known := Quota{BytesPerSecond: 5 << 20, AsOf: day}
	tests := []struct {
		name    string
		q       Quota
		created time.Time
		want    bool
	}{
		{"created days after the last traffic", known, day.Add(72 * time.Hour), true},
		{"created the next midnight", known, day.Add(24 * time.Hour), true},
		{"created the same day: not told apart", known, day.Add(20 * time.Hour), false},
		{"created before the traffic", known, day.Add(-time.Hour), false},
		{"creation not known", known, time.Time{}, false},
		{"no quota", Quota{}, day.Add(72 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Predates(tt.created); got != tt.want {
				t.Errorf("Predates(%v) = %v, want %v", tt.created, got, tt.want)
			}
		})
	}
}

// TestKnownQuota: a known quota becomes the static limits whatever the
// order of the options, a lower Max* option wins, and what New would
// refuse as a limit is left to the rate control.
func TestKnownQuota(t *testing.T) {
	std := Quota{BytesPerSecond: 5 << 20, RecordsPerSecond: 500_000, RequestsPerSecond: 2000}
	tests := []struct {
		name                                 string
		opts                                 []Option
		wantBytes, wantRecords, wantRequests float64
	}{
		{"not known: the options", []Option{MaxBytesPerSecond(1 << 20), KnownQuota(Quota{})}, 1 << 20, 0, 0},
		{"known, no options: the quota", []Option{KnownQuota(std)}, 5 << 20, 500_000, 2000},
		{"a lower option wins", []Option{MaxBytesPerSecond(1 << 20), KnownQuota(std), MaxRequestsPerSecond(100)},
			1 << 20, 500_000, 100},
		{"a higher option gives way", []Option{KnownQuota(std), MaxRecordsPerSecond(900_000)}, 5 << 20, 500_000, 2000},
		{"one limit known", []Option{KnownQuota(Quota{RecordsPerSecond: 200})}, 0, 200, 0},
		{"bytes/s under 1 KiB/s: left to the rate control",
			[]Option{KnownQuota(Quota{BytesPerSecond: 512, RecordsPerSecond: 10})}, 0, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(&fakeClient{}, "s", tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			c := p.cfg
			if c.maxBytesPerSecond != tt.wantBytes || c.maxRecordsPerSecond != tt.wantRecords || c.maxRequestsPerSecond != tt.wantRequests {
				t.Errorf("limits %.0f B/s, %.0f records/s, %.0f requests/s; want %.0f, %.0f, %.0f", c.maxBytesPerSecond,
					c.maxRecordsPerSecond, c.maxRequestsPerSecond, tt.wantBytes, tt.wantRecords, tt.wantRequests)
			}
		})
	}
}
