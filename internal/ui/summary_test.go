package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/producer"
)

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
			wantLines: []string{"accounted", "yes: 10 = 10 + 0 + 0", "51200 bytes (56.9x the bytes sent)", "10 records/s"},
		},
		{
			name:         "some dead-lettered and rejected",
			s:            Summary{Stats: producer.Stats{Submitted: 10, Delivered: 7, DeadLettered: 2, Rejected: 1}, DeadLetterPath: "in.deadletter.ndjson", Elapsed: time.Second},
			wantLines:    []string{"yes: 10 = 7 + 2 + 1", "dead-letter file", "in.deadletter.ndjson"},
			notWantLines: []string{"NO:"},
		},
		{
			name:      "not accounted",
			s:         Summary{Stats: producer.Stats{Submitted: 10, Delivered: 7}},
			wantLines: []string{"NO: read 10, accounted 7"},
		},
		{
			name:         "nothing sent",
			s:            Summary{},
			complete:     true,
			wantLines:    []string{"billed ingestion (5 KB per record)  0 bytes"},
			notWantLines: []string{"dead-letter file", "x the bytes sent"},
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

func TestIsTerminalOnBuffer(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
}
