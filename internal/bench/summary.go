package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/firehose-tools/firehose/internal/ui"
)

// putSummary is what the bench reads back from the summary that
// `firehose --output json put` prints on stdout.
type putSummary struct {
	Read            int64
	Delivered       int64
	DeadLettered    int64
	Throttled       int64
	Elapsed         time.Duration
	RecordsPerSec   float64
	MiBPerSec       float64
	BytesSent       int64
	FirehoseRecords int64
	BilledBytes     int64
}

// parseSummary reads the JSON document `firehose --output json put` prints
// on stdout (internal/ui.SummaryJSON). It fails when there is none: the run
// did not finish normally, and a zero would be mistaken for a measurement.
func parseSummary(out string) (putSummary, error) {
	var doc ui.SummaryJSON
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return putSummary{}, errNoSummary
		}
		return putSummary{}, fmt.Errorf("put summary: %w", err)
	}
	if doc.ElapsedSeconds <= 0 && doc.RecordsRead > 0 {
		return putSummary{}, fmt.Errorf("put summary: no elapsed time: %w", errNoSummary)
	}
	elapsed := time.Duration(doc.ElapsedSeconds * float64(time.Second))
	s := putSummary{
		Read: doc.RecordsRead, Delivered: doc.Delivered, DeadLettered: doc.DeadLettered,
		Throttled: doc.ThrottledRecords, Elapsed: elapsed,
		BytesSent: doc.Bytes, FirehoseRecords: doc.FirehoseRecords, BilledBytes: doc.BilledBytes,
	}
	if secs := elapsed.Seconds(); secs > 0 {
		s.RecordsPerSec = float64(doc.Delivered) / secs
		s.MiBPerSec = float64(doc.Bytes) / mib / secs
	}
	return s, nil
}
