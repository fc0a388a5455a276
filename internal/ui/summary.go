package ui

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/firehose-tools/firehose/producer"
)

// Summary is the end-of-run accounting shown to the user: the producer's
// counters, plus what the command knows. Submitted (the records read) =
// Delivered + DeadLettered + Rejected once a run has finished.
type Summary struct {
	Title string
	producer.Stats
	Elapsed        time.Duration
	DeadLetterPath string
	// CheckpointPath is the checkpoint left for a resume when the run
	// stopped before the end of a file input; "" otherwise.
	CheckpointPath string
	// Resumed counts the records settled by earlier runs of a resumed input.
	Resumed int64
}

// Complete reports whether every record read was delivered.
func (s Summary) Complete() bool {
	return s.Undelivered() == 0 && s.Delivered == s.Submitted
}

// RenderSummary writes s as an aligned two-column table.
func RenderSummary(w io.Writer, s Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	title := s.Title
	if title == "" {
		title = "Summary"
	}
	secs := s.Elapsed.Seconds()
	perSec := func(n float64) float64 {
		if secs <= 0 {
			return 0
		}
		return n / secs
	}
	const mib = 1 << 20
	rows := [][2]string{
		{"records read", fmt.Sprint(s.Submitted)},
		{"delivered", fmt.Sprint(s.Delivered)},
		{"dead-lettered", fmt.Sprint(s.DeadLettered)},
		{"rejected (bad input)", fmt.Sprint(s.Rejected)},
		{"accounted", accounted(s)},
		{"possible duplicates", fmt.Sprintf("%d (sent again after a lost response; AWS may have stored them twice)", s.PossibleDuplicates)},
		{"retries", fmt.Sprint(s.Retries)},
		{"FailedPutCount (sum of PutRecordBatch responses)", fmt.Sprint(s.FailedPutCount)},
		{"throttled records", fmt.Sprint(s.ThrottledRecords)},
		{"API calls", fmt.Sprintf("PutRecord %d, PutRecordBatch %d", s.PutRecordCalls, s.PutRecordBatchCalls)},
		{"elapsed", s.Elapsed.Round(time.Millisecond).String()},
		{"throughput", fmt.Sprintf("%.0f records/s, %.2f MiB/s", perSec(float64(s.Delivered)), perSec(float64(s.Bytes))/mib)},
		{"latency p50 / p99", fmt.Sprintf("%s / %s", s.LatencyP50.Round(time.Microsecond), s.LatencyP99.Round(time.Microsecond))},
		{"bytes sent", fmt.Sprintf("%d in %d Firehose records", s.Bytes, s.FirehoseRecords)},
		{"billed ingestion (5 KB per record)", billed(s.BilledBytes, s.Bytes)},
	}
	if s.Unsent > 0 {
		rows = append(rows[:4:4], append([][2]string{{"not sent (left for the resume)", fmt.Sprint(s.Unsent)}}, rows[4:]...)...)
	}
	if s.Resumed > 0 {
		rows = append(rows, [2]string{"settled by earlier runs", fmt.Sprint(s.Resumed)})
	}
	if s.CheckpointPath != "" {
		rows = append(rows, [2]string{"checkpoint", s.CheckpointPath + " (run the same command again to resume)"})
	}
	if s.DeadLetterPath != "" && (s.DeadLettered > 0 || s.Rejected > 0) {
		rows = append(rows, [2]string{"dead-letter file", s.DeadLetterPath})
	}
	if _, err := fmt.Fprintf(tw, "%s\n", title); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1]); err != nil {
			return err
		}
	}
	return tw.Flush()
}

func accounted(s Summary) string {
	sum := s.Delivered + s.Undelivered()
	if sum == s.Submitted {
		if s.Unsent > 0 {
			return fmt.Sprintf("yes: %d = %d + %d + %d + %d", s.Submitted, s.Delivered, s.DeadLettered, s.Rejected, s.Unsent)
		}
		return fmt.Sprintf("yes: %d = %d + %d + %d", s.Submitted, s.Delivered, s.DeadLettered, s.Rejected)
	}
	return fmt.Sprintf("NO: read %d, accounted %d", s.Submitted, sum)
}

func billed(billed, raw int64) string {
	if raw == 0 {
		return fmt.Sprintf("%d bytes", billed)
	}
	return fmt.Sprintf("%d bytes (%.1fx the bytes sent)", billed, float64(billed)/float64(raw))
}
