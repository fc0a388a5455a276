package main

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// putSummary is what the bench reads back from the summary table that
// `firehose put` prints on stdout (internal/ui.RenderSummary).
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

// summaryRow splits "  key  value" (tabwriter output: two or more spaces
// between the columns; keys contain single spaces only).
var summaryRow = regexp.MustCompile(`^\s+(\S+(?: \S+)*)\s{2,}(.*\S)\s*$`)

// parseSummary reads the rows it knows from a put summary and ignores the
// others. It fails when no throughput row is found: without it the run did
// not finish normally, and a zero would be mistaken for a measurement.
func parseSummary(out string) (putSummary, error) {
	var s putSummary
	var sawThroughput bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := summaryRow.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		key, val := m[1], m[2]
		var err error
		switch key {
		case "records read":
			s.Read, err = firstInt(val)
		case "delivered":
			s.Delivered, err = firstInt(val)
		case "dead-lettered":
			s.DeadLettered, err = firstInt(val)
		case "throttled records":
			s.Throttled, err = firstInt(val)
		case "elapsed":
			s.Elapsed, err = time.ParseDuration(val)
		case "throughput":
			_, err = fmt.Sscanf(val, "%g records/s, %g MiB/s", &s.RecordsPerSec, &s.MiBPerSec)
			sawThroughput = err == nil
		case "bytes sent":
			_, err = fmt.Sscanf(val, "%d in %d Firehose records", &s.BytesSent, &s.FirehoseRecords)
		case "billed ingestion (5 KB per record)":
			s.BilledBytes, err = firstInt(val)
		}
		if err != nil {
			return s, fmt.Errorf("summary row %q: %w", key, err)
		}
	}
	if !sawThroughput {
		return s, errNoSummary
	}
	return s, nil
}

// firstInt parses the leading integer of val ("123 bytes (1.0x ...)").
func firstInt(val string) (int64, error) {
	field, _, _ := strings.Cut(val, " ")
	n, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", field, err)
	}
	return n, nil
}
