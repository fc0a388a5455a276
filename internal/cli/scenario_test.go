package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// metricTotal finds the total a metrics report shows for name, or -1 when
// the report has no datapoints for it.
func metricTotal(t *testing.T, out, name string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s+\S+\s+([0-9.]+)`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("metric %s: %v", name, err)
	}
	return v
}

// TestScenarioEndToEnd is the acceptance test on both backends:
// 5,550 records, the first 100 by PutRecord, the rest by PutRecordBatch,
// every record delivered exactly once as one JSON line, and the metrics
// report run against real metric names.
func TestScenarioEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	for _, be := range backends {
		t.Run(be.Name, func(t *testing.T) {
			const stream = "scenario-stream"
			endpoint, objects := be.Start(t, stream)
			proxyURL, calls := countingProxy(t, endpoint)
			input, want := writeInput(t, 5550, 7)

			code, out, errOut := runCLI(t, nil, "--endpoint-url", proxyURL, "--region", "us-east-1", "--log-format", "json",
				"scenario", "--stream", stream, "--data", input, "--metrics-wait", "0s")
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			assertExactlyOnce(t, deliveredLines(t, objects()), want)
			if got := calls.get("PutRecord"); got != 100 {
				t.Errorf("PutRecord calls = %d, want 100", got)
			}
			if got := calls.get("PutRecordBatch"); got != 11 { // ceil(5450/500)
				t.Errorf("PutRecordBatch calls = %d, want 11", got)
			}
			if !strings.Contains(out, "IncomingRecords") || regexp.MustCompile(`(?m)^FailedPutCount\s`).MatchString(out) {
				t.Errorf("metrics report missing or querying a metric that does not exist:\n%s", out)
			}
			if strings.Contains(errOut, `"ip_address"`) {
				t.Errorf("record contents logged at info level")
			}
			switch be.Name {
			case "emulator":
				if got := metricTotal(t, out, "IncomingRecords"); got != 5550 {
					t.Errorf("IncomingRecords reported %v, want 5550\n%s", got, out)
				}
			case "moto":
				// moto emits no Firehose metrics: the report must say so plainly.
				if !strings.Contains(strings.ToLower(out), "no datapoints") {
					t.Errorf("want a plain 'no datapoints' for moto:\n%s", out)
				}
			}
		})
	}
}

// TestScenarioLocal runs the Quick start's first command in process.
func TestScenarioLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	local := filepath.Join(dir, "local")
	code, out, errOut := runCLI(t, nil, "scenario", "--local", "--local-dir", local)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	sample, err := os.ReadFile(filepath.Join(local, "sample_records.json"))
	if err != nil {
		t.Fatalf("generated data: %v", err)
	}
	if !strings.HasPrefix(string(sample), "[\n  {") {
		t.Errorf("sample_records.json is not an indent-2 JSON array: %.40q", sample)
	}
	_, want := writeInput(t, 5550, 1)
	assertExactlyOnce(t, deliveredLines(t, backend.ReadTree(t, filepath.Join(local, localBucket))), want)
	if got := metricTotal(t, out, "IncomingRecords"); got != 5550 {
		t.Errorf("IncomingRecords reported %v, want 5550\n%s", got, out)
	}
	if !strings.Contains(out, filepath.Join(local, localBucket)) {
		t.Errorf("output does not say where the objects are:\n%s", out)
	}
}

// TestScenarioLocalFaults: the embedded scenario with throttling on the
// emulator still delivers every record (retries of only failed records).
func TestPutWithThrottlingDeliversAll(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const stream = "throttled"
	endpoint, objects := startEmulatorBackend(t, stream, emulator.Quotas(emulator.QuotaConfig{
		RecordsPerSecond: 4000, RequestsPerSecond: 100, BytesPerSecond: 1 << 20,
	}))
	input, want := writeInput(t, 12000, 3)
	start := time.Now()
	code, out, errOut := runCLI(t, nil, "--endpoint-url", endpoint, "--region", "us-east-1", "put", "--stream", stream, input)
	if code != 0 {
		t.Fatalf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", code, time.Since(start), out, errOut)
	}
	assertExactlyOnce(t, deliveredLines(t, objects()), want)
}

// TestScenarioLogsEveryCall: the scenario logs each successful API call
// once, at info, with the attributes the producer gives its own debug line,
// also at --log-level debug; and the summary shows the calls' latency.
func TestScenarioLogsEveryCall(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const stream = "call-log"
	endpoint, _ := startEmulatorBackend(t, stream)
	input, _ := writeInput(t, 1100, 5)
	code, out, errOut := runCLI(t, nil, "--endpoint-url", endpoint, "--region", "us-east-1", "--log-format", "json",
		"--log-level", "debug", "--output", "json", "scenario", "--stream", stream, "--data", input, "--metrics-wait", "0s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	wantKeys := map[string][]string{
		"PutRecord":      {"stream", "seq", "bytes", "latency", "attempt"},
		"PutRecordBatch": {"stream", "records", "failed", "bytes", "latency", "attempt"},
	}
	lines := map[string]int{}
	seqs := map[float64]bool{}
	for _, line := range strings.Split(errOut, "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		msg, _ := entry["msg"].(string)
		keys, ok := wantKeys[msg]
		if !ok {
			continue
		}
		lines[msg]++
		if entry["level"] != "INFO" || entry["stream"] != stream {
			t.Errorf("call line at level %v for stream %v, want INFO and %s: %s", entry["level"], entry["stream"], stream, line)
		}
		for _, k := range keys {
			if _, ok := entry[k]; !ok {
				t.Errorf("call line lacks %s: %s", k, line)
			}
		}
		if len(entry) != len(keys)+3 { // time, level, msg
			t.Errorf("call line has %d attributes, want %v: %s", len(entry)-3, keys, line)
		}
		if msg == "PutRecord" {
			seq, _ := entry["seq"].(float64)
			seqs[seq] = true
		}
	}
	if lines["PutRecord"] != 100 || len(seqs) != 100 || lines["PutRecordBatch"] != 2 { // 1000 records in 500s
		t.Errorf("logged %d PutRecord lines (%d records) and %d PutRecordBatch lines, want 100 (100) and 2",
			lines["PutRecord"], len(seqs), lines["PutRecordBatch"])
	}
	var doc struct {
		Summary struct {
			P50 float64 `json:"latency_p50_seconds"`
			P99 float64 `json:"latency_p99_seconds"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if doc.Summary.P50 <= 0 || doc.Summary.P99 < doc.Summary.P50 {
		t.Errorf("summary latency p50 %v p99 %v, want 0 < p50 <= p99", doc.Summary.P50, doc.Summary.P99)
	}
}
