package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

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
				var doc ui.SummaryJSON
				if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
					t.Fatalf("stdout is not one JSON document: %v\n%s", err, out.String())
				}
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
