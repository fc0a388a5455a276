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
	// Title heads the table, e.g. "put: my-stream" (default "Summary").
	Title string
	producer.Stats
	// Elapsed is the run's wall time.
	Elapsed time.Duration
	// DeadLetterPath is the dead-letter file, shown when something went there.
	DeadLetterPath string
	// CheckpointPath is the checkpoint left for a resume when the run
	// stopped before the end of a file input; "" otherwise.
	CheckpointPath string
	// Resumed counts the records settled by earlier runs of a resumed input.
	Resumed int64
	// ConcurrencyLimit is the in-flight request limit the adaptive
	// controller settled on (0: not known, not shown).
	ConcurrencyLimit int
	// StreamQuota is the stream's quota as CloudWatch's limit metrics
	// reported it before the run (not Known: not shown).
	StreamQuota producer.Quota
	// Packed says records were packed (--pack): no hint to pack then.
	Packed bool
	// LatencyP50 and LatencyP99 are percentiles of the successful API
	// calls' latency, from a LatencyHistogram (0: none measured).
	LatencyP50, LatencyP99 time.Duration
}

// PackHintRatio is the billed-to-sent ratio from which the summary
// suggests --pack: each Firehose record is billed as at least 5 KB.
const PackHintRatio = 5

// Complete reports whether every record read was delivered.
func (s Summary) Complete() bool {
	return s.Undelivered() == 0 && s.Delivered == s.Submitted
}

// RenderSummary writes s as an aligned two-column table, for people (on
// stderr), followed by a hint to use --pack when the billed bytes are at
// least PackHintRatio times the bytes sent.
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
	rows := [][2]string{
		{"records read", fmt.Sprint(s.Submitted)},
		{"delivered", fmt.Sprint(s.Delivered)},
		{"dead-lettered", fmt.Sprint(s.DeadLettered)},
		{"rejected (bad input)", fmt.Sprint(s.Rejected)},
		{"accounted", accounted(s)},
		{"possible duplicates", fmt.Sprintf("%d (resent after a lost response)", s.PossibleDuplicates)},
		{"retries", fmt.Sprint(s.Retries)},
		{"FailedPutCount", fmt.Sprintf("%d (sum over the responses)", s.FailedPutCount)},
		{"throttled records", fmt.Sprint(s.ThrottledRecords)},
		{"API calls", fmt.Sprintf("PutRecord %d, PutRecordBatch %d", s.PutRecordCalls, s.PutRecordBatchCalls)},
		{"API calls failed whole", fmt.Sprint(s.RequestErrors)},
		{"elapsed", elapsedText(s.Elapsed)},
		{"throughput", FormatRate(perSec(float64(s.Delivered)), "records") + ", " + FormatByteRate(perSec(float64(s.Bytes)))},
		{"latency p50 / p99", fmt.Sprintf("%s / %s", s.LatencyP50.Round(time.Microsecond), s.LatencyP99.Round(time.Microsecond))},
		{"bytes sent", fmt.Sprintf("%d in %d Firehose records", s.Bytes, s.FirehoseRecords)},
		{"billed ingestion (5 KB per record)", billed(s.BilledBytes, s.Bytes)},
	}
	if s.Lost > 0 {
		rows = append(rows[:4:4], append([][2]string{{"LOST (the dead-letter write failed)", fmt.Sprint(s.Lost)}}, rows[4:]...)...)
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
	if s.ConcurrencyLimit > 0 {
		rows = append(rows, [2]string{"requests in flight (settled limit)", fmt.Sprint(s.ConcurrencyLimit)})
	}
	if q := s.StreamQuota; q.Known() {
		rows = append(rows, [2]string{"stream quota (CloudWatch)", fmt.Sprintf("%s, %s, %s", FormatByteRate(q.BytesPerSecond),
			FormatRate(q.RecordsPerSecond, "rec"), FormatRate(q.RequestsPerSecond, "req"))})
	}
	if s.deadLetterShown() {
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
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.packHint() {
		_, err := fmt.Fprintf(w, "hint: billed %.1fx the bytes sent (every record is billed as at least 5 KB);\n"+
			"      --pack puts many small records in each Firehose record and cuts that\n", s.billedRatio())
		return err
	}
	return nil
}

func (s Summary) deadLetterShown() bool {
	return s.DeadLetterPath != "" && (s.DeadLettered > 0 || s.Rejected > 0)
}

func (s Summary) billedRatio() float64 {
	if s.Bytes == 0 {
		return 0
	}
	return float64(s.BilledBytes) / float64(s.Bytes)
}

func (s Summary) packHint() bool {
	return !s.Packed && s.Bytes > 0 && s.BilledBytes >= PackHintRatio*s.Bytes
}

func accounted(s Summary) string {
	sum := s.Delivered + s.Undelivered()
	if s.Lost > 0 {
		return fmt.Sprintf("NO: %d records lost: the dead-letter file could not store them", s.Lost)
	}
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

// elapsedText is d to the millisecond under a minute ("1.5s", "23ms"), to
// the second above ("3m07s").
func elapsedText(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Millisecond).String()
	}
	return FormatDuration(d)
}
