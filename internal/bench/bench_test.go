package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/internal/ui"
	"github.com/firehose-tools/firehose/producer"
)

func TestParseSummaryReadsWhatRenderSummaryWrites(t *testing.T) {
	tests := []struct {
		name string
		in   ui.Summary
	}{
		{"all delivered", ui.Summary{Title: "put: bench", Stats: producer.Stats{Submitted: 1_000_000, Delivered: 1_000_000, Bytes: 86_123_456,
			FirehoseRecords: 1_000_000, BilledBytes: 5_120_000_000}, Elapsed: 3210 * time.Millisecond}},
		{"throttled and dead-lettered", ui.Summary{Title: "put: q", Stats: producer.Stats{Submitted: 250_000, Delivered: 249_990, DeadLettered: 10,
			ThrottledRecords: 4321, Bytes: 21_000_000, FirehoseRecords: 250_000, BilledBytes: 1_280_000_000},
			Elapsed: 10*time.Second + 512*time.Millisecond, DeadLetterPath: "/tmp/x.deadletter.ndjson"}},
		{"packed", ui.Summary{Stats: producer.Stats{Submitted: 1_000_000, Delivered: 1_000_000, Bytes: 86_000_000, FirehoseRecords: 85,
			BilledBytes: 86_016_000}, Elapsed: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ui.RenderSummaryJSON(&buf, tt.in); err != nil {
				t.Fatal(err)
			}
			got, err := parseSummary(buf.String())
			if err != nil {
				t.Fatalf("parseSummary: %v\n%s", err, buf.String())
			}
			wantRate := float64(tt.in.Delivered) / tt.in.Elapsed.Seconds()
			want := putSummary{Read: tt.in.Submitted, Delivered: tt.in.Delivered, DeadLettered: tt.in.DeadLettered,
				Throttled: tt.in.ThrottledRecords, Elapsed: tt.in.Elapsed, BytesSent: tt.in.Bytes,
				FirehoseRecords: tt.in.FirehoseRecords, BilledBytes: tt.in.BilledBytes}
			rate, mibs := got.RecordsPerSec, got.MiBPerSec
			got.RecordsPerSec, got.MiBPerSec = 0, 0
			if got != want {
				t.Errorf("parsed\n %+v\nwant\n %+v\nfrom\n%s", got, want, buf.String())
			}
			if d := rate - wantRate; d > 1 || d < -1 {
				t.Errorf("records/s = %v, want %v", rate, wantRate)
			}
			wantMiB := float64(tt.in.Bytes) / mib / tt.in.Elapsed.Seconds()
			if d := mibs - wantMiB; d > 0.01 || d < -0.01 {
				t.Errorf("MiB/s = %v, want %v", mibs, wantMiB)
			}
		})
	}
}

func TestParseSummaryErrors(t *testing.T) {
	tests := []struct {
		name, out string
		want      error
	}{
		{"empty", "", errNoSummary},
		{"a table, not JSON", "put: s\n  records read  3\n  delivered  3\n", nil},
		{"bad number", `{"records_read":"lots"}`, nil},
		{"no elapsed time", `{"records_read":3,"delivered":3}`, errNoSummary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseSummary(tt.out)
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRecordsFor(t *testing.T) {
	tests := []struct {
		name          string
		target, bytes int64
		sample        int
		want          int
	}{
		{"exact", 1000, 100, 10, 100},
		{"rounds up", 1001, 100, 10, 101},
		{"1 GiB of 85-byte lines", 1 << 30, 85 * 1000, 1000, 12_632_257},
		{"nothing sampled", 100, 0, 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recordsFor(tt.target, tt.bytes, tt.sample); got != tt.want {
				t.Errorf("recordsFor(%d, %d, %d) = %d, want %d", tt.target, tt.bytes, tt.sample, got, tt.want)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"at least: equal passes", atLeast(250_000, 250_000), statusPass},
		{"at least: below misses", atLeast(249_999, 250_000), statusMiss},
		{"at most: above misses", atMost(65*mib, 64*mib), statusMiss},
		{"at most: below passes", atMost(40*mib, 64*mib), statusPass},
		{"below: equal misses", below(2, 2), statusMiss},
		{"within: 14% slow passes", within(1.14, 1, 0.15), statusPass},
		{"within: 16% slow misses", within(1.16, 1, 0.15), statusMiss},
		{"within: 16% fast misses", within(0.84, 1, 0.15), statusMiss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

func TestParseBoto3(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    float64
		wantErr bool
	}{
		{"json after other lines", "warning\n{\"records\": 200000, \"failed\": 0, \"seconds\": 8.1, \"records_per_second\": 24691.4}\n", 24691.4, false},
		{"not json", "Traceback ...\n", 0, true},
		{"zero rate", `{"records": 0, "failed": 0, "seconds": 0, "records_per_second": 0}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBoto3([]byte(tt.out))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got.RecordsPerSecond != tt.want {
				t.Errorf("records/s = %v, want %v", got.RecordsPerSecond, tt.want)
			}
		})
	}
}

func TestParseFlagsScenarios(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr error
	}{
		{"default runs all", nil, strings.Join(allScenarios, ","), nil},
		{"subset keeps order given", []string{"-scenarios", "quota, throughput"}, "quota,throughput", nil},
		{"the new scenarios alone", []string{"-scenarios", "cpu,latency"}, "cpu,latency", nil},
		{"unknown", []string{"-scenarios", "throughput,speed"}, "", errUnknownScenario},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && strings.Join(c.scenarios, ",") != tt.want {
				t.Errorf("scenarios = %v, want %s", c.scenarios, tt.want)
			}
		})
	}
}

func TestInputsWritesOnceAndCounts(t *testing.T) {
	in := &inputs{dir: t.TempDir(), files: map[int]inputFile{}}
	f1, err := in.ndjson(1000)
	if err != nil {
		t.Fatal(err)
	}
	if f1.bytes < 1000*50 || f1.bytes > 1000*120 {
		t.Errorf("1000 records = %d bytes, want ~80-90 per record", f1.bytes)
	}
	f2, err := in.ndjson(1000)
	if err != nil {
		t.Fatal(err)
	}
	if f2 != f1 {
		t.Errorf("second call = %+v, want the cached %+v", f2, f1)
	}
}

func TestListeningURL(t *testing.T) {
	tests := []struct {
		name, line, want string
		ok               bool
	}{
		{"bare", "emulator listening on http://127.0.0.1:4566", "http://127.0.0.1:4566", true},
		{"with data dir", "emulator listening on http://127.0.0.1:41519, data in /tmp/x", "http://127.0.0.1:41519", true},
		{"other line", "starting", "", false},
		{"no url", "emulator listening on ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := listeningURL(tt.line)
			if got != tt.want || ok != tt.ok {
				t.Errorf("listeningURL(%q) = %q, %v; want %q, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}
