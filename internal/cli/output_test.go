package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/firehose-tools/firehose/internal/cwmetrics"
	"github.com/firehose-tools/firehose/internal/ui"
	"github.com/firehose-tools/firehose/producer"
)

// TestWriteSummary: the summary is shown once, as a table on stderr or,
// with --output json, as one JSON document on stdout.
func TestWriteSummary(t *testing.T) {
	sum := ui.Summary{Title: "put: s", Stats: producer.Stats{Submitted: 3, Delivered: 3, Bytes: 30, BilledBytes: 3 * 5120, FirehoseRecords: 3}, Elapsed: 2 * time.Second}
	var table bytes.Buffer
	if err := ui.RenderSummary(&table, sum); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		output, logFormat string
		wantOut, wantErr  string
		wantJSONDelivered int64
	}{
		{output: outputText, logFormat: "text", wantErr: table.String()},
		{output: outputText, logFormat: "json", wantOut: table.String()}, // stderr stays JSON lines
		{output: outputJSON, logFormat: "text", wantJSONDelivered: 3},
		{output: outputJSON, logFormat: "json", wantJSONDelivered: 3},
	}
	for _, tc := range tests {
		t.Run(tc.output+" with "+tc.logFormat+" logs", func(t *testing.T) {
			var out, errOut bytes.Buffer
			g := &globalOptions{Output: tc.output, LogFormat: tc.logFormat, stdio: Stdio{Out: &out, Err: &errOut}, console: ui.NewConsole(&errOut)}
			if err := g.writeSummary(sum); err != nil {
				t.Fatal(err)
			}
			if tc.output == outputJSON {
				doc := summaryJSON(t, out.String())
				if doc.Delivered != tc.wantJSONDelivered || doc.ElapsedSeconds != 2 || !doc.PackSuggested {
					t.Errorf("document %+v", doc)
				}
				if errOut.Len() != 0 || strings.Count(out.String(), "\n}") != 1 {
					t.Errorf("stderr %q, stdout %q", errOut.String(), out.String())
				}
				return
			}
			if out.String() != tc.wantOut || errOut.String() != tc.wantErr {
				t.Errorf("stdout %q\nstderr %q\nwant %q and %q", out.String(), errOut.String(), tc.wantOut, tc.wantErr)
			}
		})
	}
}

func TestProgressInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.log")
	if err := os.WriteFile(file, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		label string
		size  int64
	}{
		{"", "stdin", 0},
		{"-", "stdin", 0},
		{file, "app.log", 10},
		{dir, filepath.Base(dir), 0},
		{filepath.Join(dir, "missing.ndjson"), "missing.ndjson", 0},
	}
	for _, tc := range tests {
		label, size := progressInput(tc.path)
		if label != tc.label || size != tc.size {
			t.Errorf("progressInput(%q) = %q, %d; want %q, %d", tc.path, label, size, tc.label, tc.size)
		}
	}
}

// TestSendProgressOptions: a phase counts from its start, in records and
// in bytes of the input read.
func TestSendProgressOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.ndjson")
	if err := os.WriteFile(file, make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	st := producer.Stats{Delivered: 100, DeadLettered: 2, Rejected: 1, Bytes: 900, ThrottledRecords: 5, Retries: 6}
	offset := int64(200)
	o := sendProgressOptions(func() producer.Stats { return st }, file, 0, func() int64 { return offset })
	if o.Label != "big.ndjson" || o.Total != 0 || o.TotalBytes != 800 {
		t.Fatalf("options %+v", o)
	}
	st = producer.Stats{Delivered: 150, DeadLettered: 3, Rejected: 1, Bytes: 1400, ThrottledRecords: 5, Retries: 9}
	offset = 600
	want := ui.Counts{Delivered: 50, Failed: 1, Bytes: 500, InputBytes: 400, Throttled: 0, Retries: 3}
	if got := o.Poll(); got != want {
		t.Errorf("Poll = %+v, want %+v", got, want)
	}
	if o := sendProgressOptions(func() producer.Stats { return st }, file, 100, nil); o.TotalBytes != 0 || o.Total != 100 || o.Poll().InputBytes != 0 {
		t.Errorf("without an offset: %+v", o)
	}
}

// TestStartSendProgress: off a terminal, a send phase logs progress lines
// counting what the producer delivered since the phase began, named after
// the input, with the percentage from the bytes read (99.9 at most until
// the phase ends: the whole file is read before the last record settles).
func TestStartSendProgress(t *testing.T) {
	const stream = "progress-stream"
	endpoint, _ := startEmulatorBackend(t, stream)
	p, err := producer.New(firehose.NewFromConfig(testAWSConfig(endpoint)), stream, producer.Linger(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	ctx := context.Background()
	if err := p.Send(ctx, producer.SliceSource([]producer.Record{{Seq: 1, Data: []byte(`{"before":1}`)}})); err != nil {
		t.Fatal(err)
	}

	input := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(input, make([]byte, 400), 0o600); err != nil {
		t.Fatal(err)
	}
	var errOut syncBuffer
	logger := slog.New(slog.NewJSONHandler(&errOut, nil))
	g := &globalOptions{console: ui.NewConsole(&errOut), logger: logger, progressInterval: 10 * time.Millisecond}
	var offset atomic.Int64 // the reader's InputOffset, set as if it read the file
	progress := g.startSendProgress(ctx, p, input, 0, offset.Load)
	recs := make([]producer.Record, 20)
	for i := range recs {
		recs[i] = producer.Record{Seq: int64(i + 2), Data: []byte(`{"n":1}`)}
	}
	offset.Store(400)
	if err := p.Send(ctx, producer.SliceSource(recs)); err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) for a line that has seen the whole phase.
	var last map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (last == nil || last["delivered"] != float64(20)) {
		lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
		last = nil
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
			last = nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	progress.Stop()
	if last == nil || last["msg"] != "progress" || last["input"] != "events.ndjson" || last["delivered"] != float64(20) ||
		last["failed"] != float64(0) || last["percent"] != 99.9 || last["bytes"] != float64(20*8) {
		t.Errorf("last progress line %v\nall:\n%s", last, errOut.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWriteScenarioJSON(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	sum := ui.Summary{Title: "Summary: s", Stats: producer.Stats{Submitted: 2, Delivered: 2}, Elapsed: time.Second}
	report := &cwmetrics.Report{Stream: "s", Start: t0, End: t0.Add(time.Minute), Period: time.Minute,
		Series: []cwmetrics.Series{{Name: "IncomingRecords", Stat: "Sum", Timestamps: []time.Time{t0}, Values: []float64{2}, Total: 2, HasData: true}}}
	tests := []struct {
		name   string
		report *cwmetrics.Report
		want   string
	}{
		{"with metrics", report, `"metrics":{"stream":"s","start":"2025-03-04T10:00:00Z","end":"2025-03-04T10:01:00Z","period_seconds":60,` +
			`"metrics":[{"name":"IncomingRecords","stat":"Sum","total":2,"datapoints":[{"timestamp":"2025-03-04T10:00:00Z","value":2}]}],` +
			`"client_side":{"failed_put_count":0,"records_sent":2,"put_record_calls":0,"put_record_batch_calls":1}}}`},
		{"without metrics", nil, `"pack_suggested":false}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			g := &globalOptions{Output: outputJSON, stdio: Stdio{Out: &out}}
			if err := g.writeScenarioJSON(sum, tc.report, cwmetrics.ClientSide{Known: true, RecordsSent: 2, PutRecordBatchCalls: 1}); err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, out.Bytes()); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out.String())
			}
			got := compact.String()
			if !strings.HasPrefix(got, `{"summary":{"title":"Summary: s","records_read":2,"delivered":2,`) || !strings.HasSuffix(got, tc.want) {
				t.Errorf("got %s\nwant it to end with %s", got, tc.want)
			}
		})
	}
}
