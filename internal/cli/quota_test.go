package cli

import (
	"testing"

	"github.com/firehose-tools/firehose/internal/cwmetrics"
)

// TestWithQuota: a known quota becomes the static limits, a lower flag
// wins, and what the producer would refuse as a limit is left alone.
func TestWithQuota(t *testing.T) {
	std := cwmetrics.Quota{BytesPerSecond: 5 << 20, RecordsPerSecond: 500_000, RequestsPerSecond: 2000}
	tests := []struct {
		name                      string
		flags                     sendOptions
		quota                     cwmetrics.Quota
		wantBytes                 int64
		wantRecords, wantRequests int
	}{
		{name: "not known: the flags", flags: sendOptions{MaxBytesPerSecond: 1 << 20}, wantBytes: 1 << 20},
		{name: "known, no flags: the quota", quota: std, wantBytes: 5 << 20, wantRecords: 500_000, wantRequests: 2000},
		{name: "a lower flag wins", flags: sendOptions{MaxBytesPerSecond: 1 << 20, MaxRequestsPerSecond: 100}, quota: std,
			wantBytes: 1 << 20, wantRecords: 500_000, wantRequests: 100},
		{name: "a higher flag gives way", flags: sendOptions{MaxRecordsPerSecond: 900_000}, quota: std,
			wantBytes: 5 << 20, wantRecords: 500_000, wantRequests: 2000},
		{name: "one limit known", quota: cwmetrics.Quota{RecordsPerSecond: 200}, wantRecords: 200},
		{name: "bytes/s under 1 KiB/s: left to the rate control", quota: cwmetrics.Quota{BytesPerSecond: 512, RecordsPerSecond: 10},
			wantRecords: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.flags.withQuota(tt.quota)
			if got.MaxBytesPerSecond != tt.wantBytes || got.MaxRecordsPerSecond != tt.wantRecords || got.MaxRequestsPerSecond != tt.wantRequests {
				t.Errorf("limits %d B/s, %d records/s, %d requests/s; want %d, %d, %d", got.MaxBytesPerSecond, got.MaxRecordsPerSecond,
					got.MaxRequestsPerSecond, tt.wantBytes, tt.wantRecords, tt.wantRequests)
			}
		})
	}
}
