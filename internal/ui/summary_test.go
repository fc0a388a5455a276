package ui

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/producer"
)

// someFailed is a run with everything the table can show.
var someFailed = Summary{
	Title: "put: s",
	Stats: producer.Stats{
		Submitted: 10, Delivered: 7, DeadLettered: 2, Rejected: 1, Retries: 4, ThrottledRecords: 2,
		PutRecordBatchCalls: 3, Bytes: 900, BilledBytes: 7 * 5120, FirehoseRecords: 7,
	},
	Elapsed: 1500 * time.Millisecond, DeadLetterPath: "in.deadletter.ndjson", ConcurrencyLimit: 12,
	LatencyP50: 12345678 * time.Nanosecond, LatencyP99: 40 * time.Millisecond,
}

func TestRenderSummaryExact(t *testing.T) {
	want := `put: s
  records read                        10
  delivered                           7
  dead-lettered                       2
  rejected (bad input)                1
  accounted                           yes: 10 = 7 + 2 + 1
  possible duplicates                 0 (resent after a lost response)
  retries                             4
  FailedPutCount                      0 (sum over the responses)
  throttled records                   2
  API calls                           PutRecord 0, PutRecordBatch 3
  API calls failed whole              0
  elapsed                             1.5s
  throughput                          4.7 records/s, 600 B/s
  latency p50 / p99                   12.346ms / 40ms
  bytes sent                          900 in 7 Firehose records
  billed ingestion (5 KB per record)  35840 bytes (39.8x the bytes sent)
  requests in flight (settled limit)  12
  dead-letter file                    in.deadletter.ndjson
hint: billed 39.8x the bytes sent (every record is billed as at least 5 KB);
      --pack puts many small records in each Firehose record and cuts that
`
	var buf bytes.Buffer
	if err := RenderSummary(&buf, someFailed); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderSummary(t *testing.T) {
	tests := []struct {
		name         string
		s            Summary
		complete     bool
		wantLines    []string
		notWantLines []string
	}{
		{
			name:      "all delivered",
			s:         Summary{Stats: producer.Stats{Submitted: 10, Delivered: 10, Bytes: 900, BilledBytes: 10 * 5120, FirehoseRecords: 10}, Elapsed: time.Second},
			complete:  true,
			wantLines: []string{"Summary", "accounted", "yes: 10 = 10 + 0 + 0", "51200 bytes (56.9x the bytes sent)", "10 records/s", "hint: billed 56.9x", "--pack"},
		},
		{
			name:         "packed: no hint",
			s:            Summary{Stats: producer.Stats{Submitted: 10, Delivered: 10, Bytes: 900, BilledBytes: 5120, FirehoseRecords: 1}, Elapsed: time.Second, Packed: true},
			complete:     true,
			notWantLines: []string{"hint", "settled limit"},
		},
		{
			name:         "under 5x: no hint",
			s:            Summary{Stats: producer.Stats{Submitted: 1, Delivered: 1, Bytes: 1025, BilledBytes: 5120, FirehoseRecords: 1}, Elapsed: time.Second},
			complete:     true,
			wantLines:    []string{"(5.0x the bytes sent)"},
			notWantLines: []string{"hint"},
		},
		{
			name:      "exactly 5x: hint",
			s:         Summary{Stats: producer.Stats{Submitted: 1, Delivered: 1, Bytes: 1024, BilledBytes: 5120, FirehoseRecords: 1}, Elapsed: time.Second},
			complete:  true,
			wantLines: []string{"hint: billed 5.0x"},
		},
		{
			name:      "not accounted",
			s:         Summary{Stats: producer.Stats{Submitted: 10, Delivered: 7}},
			wantLines: []string{"NO: read 10, accounted 7"},
		},
		{
			name:         "long run",
			s:            Summary{Elapsed: 187*time.Second + 300*time.Millisecond},
			complete:     true,
			wantLines:    []string{"elapsed 3m07s", "0 records/s, 0 B/s"},
			notWantLines: []string{"rec/hr"},
		},
		{
			name:         "nothing sent",
			s:            Summary{},
			complete:     true,
			wantLines:    []string{"billed ingestion (5 KB per record)  0 bytes"},
			notWantLines: []string{"dead-letter file", "x the bytes sent", "hint", "stream quota"},
		},
		{
			name: "quota from CloudWatch",
			s: Summary{StreamQuota: producer.Quota{BytesPerSecond: 5 << 20, RecordsPerSecond: 500_000, RequestsPerSecond: 2000,
				AsOf: time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)}},
			complete:  true,
			wantLines: []string{"stream quota (CloudWatch)  5.0 MiB/s, 500,000 rec/s, 2,000 req/s"},
		},
		{
			name:      "lost: one row",
			s:         Summary{Stats: producer.Stats{Submitted: 3, Delivered: 1, Lost: 2}},
			wantLines: []string{"LOST (the dead-letter write failed) 2", "NO: 2 records lost"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderSummary(&buf, tc.s); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range tc.wantLines {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
			if n := strings.Count(out, "LOST"); n > 1 {
				t.Errorf("LOST shown %d times:\n%s", n, out)
			}
			for _, w := range tc.notWantLines {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in:\n%s", w, out)
				}
			}
			if got := tc.s.Complete(); got != tc.complete {
				t.Errorf("Complete() = %v, want %v", got, tc.complete)
			}
		})
	}
}

func TestRenderSummaryJSON(t *testing.T) {
	tests := []struct {
		name string
		s    Summary
		want string
	}{
		{
			name: "some failed",
			s:    someFailed,
			want: `{"title":"put: s","records_read":10,"delivered":7,"dead_lettered":2,"rejected":1,"unsent":0,"lost":0,"complete":false,` +
				`"possible_duplicates":0,"retries":4,"failed_put_count":0,"throttled_records":2,"put_record_calls":0,` +
				`"put_record_batch_calls":3,"request_errors":0,"firehose_records":7,"bytes":900,"billed_bytes":35840,` +
				`"billed_ratio":39.8,"elapsed_seconds":1.5,"records_per_second":5,"bytes_per_second":600,` +
				`"latency_p50_seconds":0.012346,"latency_p99_seconds":0.04,"concurrency_limit":12,` +
				`"dead_letter_path":"in.deadletter.ndjson","pack_suggested":true}`,
		},
		{
			name: "nothing sent",
			s:    Summary{Elapsed: 23578973 * time.Nanosecond},
			want: `{"records_read":0,"delivered":0,"dead_lettered":0,"rejected":0,"unsent":0,"lost":0,"complete":true,` +
				`"possible_duplicates":0,"retries":0,"failed_put_count":0,"throttled_records":0,"put_record_calls":0,` +
				`"put_record_batch_calls":0,"request_errors":0,"firehose_records":0,"bytes":0,"billed_bytes":0,` +
				`"billed_ratio":0,"elapsed_seconds":0.024,"records_per_second":0,"bytes_per_second":0,` +
				`"latency_p50_seconds":0,"latency_p99_seconds":0,"pack_suggested":false}`,
		},
		{
			name: "quota from CloudWatch",
			s: Summary{StreamQuota: producer.Quota{BytesPerSecond: 5 << 20, RecordsPerSecond: 500_000, RequestsPerSecond: 2000,
				AsOf: time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)}},
			want: `{"records_read":0,"delivered":0,"dead_lettered":0,"rejected":0,"unsent":0,"lost":0,"complete":true,` +
				`"possible_duplicates":0,"retries":0,"failed_put_count":0,"throttled_records":0,"put_record_calls":0,` +
				`"put_record_batch_calls":0,"request_errors":0,"firehose_records":0,"bytes":0,"billed_bytes":0,` +
				`"billed_ratio":0,"elapsed_seconds":0,"records_per_second":0,"bytes_per_second":0,` +
				`"latency_p50_seconds":0,"latency_p99_seconds":0,"stream_quota":{"bytes_per_second":5242880,` +
				`"records_per_second":500000,"requests_per_second":2000,"as_of":"2026-12-01T04:00:00Z"},"pack_suggested":false}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderSummaryJSON(&buf, tc.s); err != nil {
				t.Fatal(err)
			}
			if strings.Count(buf.String(), "\n{") != 0 || !strings.HasSuffix(buf.String(), "}\n") {
				t.Errorf("not one document: %q", buf.String())
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			if compact.String() != tc.want {
				t.Errorf("got  %s\nwant %s", compact.String(), tc.want)
			}
		})
	}
}

// TestRenderSummaryFits80Columns: a big run's table reads in an 80-column
// terminal without wrapping.
func TestRenderSummaryFits80Columns(t *testing.T) {
	big := Summary{
		Title: "Summary: firehose-common-actions",
		Stats: producer.Stats{
			Submitted: 20_000_000, Delivered: 19_999_000, DeadLettered: 900, Rejected: 100, PossibleDuplicates: 12_345,
			Retries: 1_234_567, FailedPutCount: 1_234_567, ThrottledRecords: 1_234_567, PutRecordCalls: 100,
			PutRecordBatchCalls: 40_000_000, RequestErrors: 12, FirehoseRecords: 19_999_000, Bytes: 1_770_610_000,
			BilledBytes: 102_394_880_000,
		},
		Elapsed: 3*time.Hour + 25*time.Minute, DeadLetterPath: "/tmp/sample_records.deadletter.ndjson", ConcurrencyLimit: 24,
		StreamQuota: producer.Quota{BytesPerSecond: 50 << 20, RecordsPerSecond: 5_000_000, RequestsPerSecond: 10_000},
		LatencyP50:  1280 * time.Microsecond, LatencyP99: 458752 * time.Microsecond,
	}
	var buf bytes.Buffer
	if err := RenderSummary(&buf, big); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("%d columns: %q", n, line)
		}
	}
}
