package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// TestMetricsAgainstEmulator: after a PutRecordBatch, `firehose metrics`
// shows the per-minute values and a chart (text) or every datapoint
// (--output json), and says plainly when the stream does not exist.
func TestMetricsAgainstEmulator(t *testing.T) {
	const stream = "metrics-stream"
	endpoint, _ := startEmulatorBackend(t, stream)
	fh := firehose.NewFromConfig(testAWSConfig(endpoint))
	// The datapoint's minute: the put's, read on both sides of it in case
	// a minute boundary falls in between.
	minutes := map[string]bool{time.Now().UTC().Truncate(time.Minute).Format("15:04"): true}
	recs := make([]types.Record, 7)
	for i := range recs {
		recs[i] = types.Record{Data: []byte("{\"n\":1}\n")}
	}
	if _, err := fh.PutRecordBatch(context.Background(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: recs}); err != nil {
		t.Fatal(err)
	}
	minutes[time.Now().UTC().Truncate(time.Minute).Format("15:04")] = true
	base := []string{"--endpoint-url", endpoint, "--region", "us-east-1"}

	t.Run("text", func(t *testing.T) {
		code, out, errOut := runCLI(t, nil, append(base, "metrics", "--stream", stream, "--since", "5m")...)
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		wantRows := map[string][]string{
			"IncomingRecords":     {"Sum", "7", "1"},
			"IncomingBytes":       {"Sum", "56", "1"},
			"IncomingPutRequests": {"Sum", "1", "1"},
		}
		for name, want := range wantRows {
			fields := rowFields(out, name)
			if len(fields) != 4 || strings.Join(fields[:3], " ") != strings.Join(want, " ") {
				t.Errorf("row %s = %q, want %q and a chart\n%s", name, fields, want, out)
				continue
			}
			// One datapoint in the last minutes of the range: the full
			// block, the other minutes empty.
			if chart := fields[3]; strings.Count(chart, "█") != 1 || strings.Trim(chart, "▁█") != "" {
				t.Errorf("chart of %s = %q\n%s", name, chart, out)
			}
		}
		var perMinute []string
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && len(f[0]) == 5 && f[0][2] == '-' {
				f = f[1:] // a range over midnight labels its rows "MM-DD HH:MM"
			}
			if len(f) > 3 && minutes[f[0]] {
				perMinute = f
			}
		}
		if len(perMinute) < 4 || perMinute[1] != "56" || perMinute[2] != "7" || perMinute[3] != "1" {
			t.Errorf("per-minute row for %v = %q\n%s", minutes, perMinute, out)
		}
	})

	t.Run("json", func(t *testing.T) {
		code, out, errOut := runCLI(t, nil, append(base, "--output", "json", "metrics", "--stream", stream, "--since", "5m")...)
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		var doc struct {
			Stream        string `json:"stream"`
			PeriodSeconds int    `json:"period_seconds"`
			Metrics       []struct {
				Name       string   `json:"name"`
				Total      *float64 `json:"total"`
				Datapoints []struct {
					Timestamp time.Time `json:"timestamp"`
					Value     float64   `json:"value"`
				} `json:"datapoints"`
			} `json:"metrics"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
		}
		if doc.Stream != stream || doc.PeriodSeconds != 60 || len(doc.Metrics) != 7 {
			t.Fatalf("document %+v", doc)
		}
		for _, m := range doc.Metrics {
			if m.Name != "IncomingRecords" {
				continue
			}
			if m.Total == nil || *m.Total != 7 || len(m.Datapoints) != 1 || m.Datapoints[0].Value != 7 {
				t.Errorf("IncomingRecords = %+v", m)
			}
		}
	})

	t.Run("no such stream", func(t *testing.T) {
		code, out, errOut := runCLI(t, nil, append(base, "metrics", "--stream", "sss")...)
		want := "firehose: delivery stream \"sss\" does not exist in region us-east-1\n"
		if code != exitFatal || out != "" || errOut != want {
			t.Errorf("exit %d, stdout %q\nstderr %q\nwant   %q", code, out, errOut, want)
		}
	})
}

// rowFields returns the fields after the metric's name in its report row.
func rowFields(out, name string) []string {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name {
			return f[1:]
		}
	}
	return nil
}
