package ui

import (
	"encoding/json"
	"io"
	"math"
	"time"
)

// SummaryJSON is the document RenderSummaryJSON writes: everything the
// table shows, as numbers (times in seconds).
type SummaryJSON struct {
	Title               string `json:"title,omitempty"`
	RecordsRead         int64  `json:"records_read"`
	Delivered           int64  `json:"delivered"`
	DeadLettered        int64  `json:"dead_lettered"`
	Rejected            int64  `json:"rejected"`
	Unsent              int64  `json:"unsent"`
	Lost                int64  `json:"lost"`
	Complete            bool   `json:"complete"`
	PossibleDuplicates  int64  `json:"possible_duplicates"`
	Retries             int64  `json:"retries"`
	FailedPutCount      int64  `json:"failed_put_count"`
	ThrottledRecords    int64  `json:"throttled_records"`
	PutRecordCalls      int64  `json:"put_record_calls"`
	PutRecordBatchCalls int64  `json:"put_record_batch_calls"`
	RequestErrors       int64  `json:"request_errors"`
	FirehoseRecords     int64  `json:"firehose_records"`
	Bytes               int64  `json:"bytes"`
	BilledBytes         int64  `json:"billed_bytes"`
	// BilledRatio is BilledBytes / Bytes to one decimal (0 when nothing was sent).
	BilledRatio       float64 `json:"billed_ratio"`
	ElapsedSeconds    float64 `json:"elapsed_seconds"`
	RecordsPerSecond  int64   `json:"records_per_second"`
	BytesPerSecond    int64   `json:"bytes_per_second"`
	LatencyP50Seconds float64 `json:"latency_p50_seconds"`
	LatencyP99Seconds float64 `json:"latency_p99_seconds"`
	// ConcurrencyLimit is omitted when not known.
	ConcurrencyLimit int `json:"concurrency_limit,omitempty"`
	// StreamQuota is the quota read from CloudWatch, omitted when not known.
	StreamQuota *StreamQuotaJSON `json:"stream_quota,omitempty"`
	// DeadLetterPath is set when records went to the dead-letter file.
	DeadLetterPath string `json:"dead_letter_path,omitempty"`
	// CheckpointPath is set when the run stopped early: the same command
	// resumes from it.
	CheckpointPath string `json:"checkpoint_path,omitempty"`
	// Resumed counts the records settled by earlier runs.
	Resumed int64 `json:"resumed,omitempty"`
	// PackSuggested says the bill would shrink with --pack.
	PackSuggested bool `json:"pack_suggested"`
}

// StreamQuotaJSON is the stream's quota as CloudWatch's limit metrics
// reported it, as of the stream's last UTC day with traffic (AsOf is that
// day's start).
type StreamQuotaJSON struct {
	BytesPerSecond    float64   `json:"bytes_per_second"`
	RecordsPerSecond  float64   `json:"records_per_second"`
	RequestsPerSecond float64   `json:"requests_per_second"`
	AsOf              time.Time `json:"as_of"`
}

// JSON returns s as the document RenderSummaryJSON writes.
func (s Summary) JSON() SummaryJSON {
	perSecond := func(n int64) int64 {
		if secs := s.Elapsed.Seconds(); secs > 0 {
			return int64(math.Round(float64(n) / secs))
		}
		return 0
	}
	doc := SummaryJSON{
		Title:               s.Title,
		RecordsRead:         s.Submitted,
		Delivered:           s.Delivered,
		DeadLettered:        s.DeadLettered,
		Rejected:            s.Rejected,
		Unsent:              s.Unsent,
		Lost:                s.Lost,
		Complete:            s.Complete(),
		PossibleDuplicates:  s.PossibleDuplicates,
		Retries:             s.Retries,
		FailedPutCount:      s.FailedPutCount,
		ThrottledRecords:    s.ThrottledRecords,
		PutRecordCalls:      s.PutRecordCalls,
		PutRecordBatchCalls: s.PutRecordBatchCalls,
		RequestErrors:       s.RequestErrors,
		FirehoseRecords:     s.FirehoseRecords,
		Bytes:               s.Bytes,
		BilledBytes:         s.BilledBytes,
		BilledRatio:         round1(s.billedRatio()),
		ElapsedSeconds:      Seconds(s.Elapsed),
		RecordsPerSecond:    perSecond(s.Delivered),
		BytesPerSecond:      perSecond(s.Bytes),
		LatencyP50Seconds:   microSeconds(s.LatencyP50),
		LatencyP99Seconds:   microSeconds(s.LatencyP99),
		ConcurrencyLimit:    s.ConcurrencyLimit,
		CheckpointPath:      s.CheckpointPath,
		Resumed:             s.Resumed,
		PackSuggested:       s.packHint(),
	}
	if s.deadLetterShown() {
		doc.DeadLetterPath = s.DeadLetterPath
	}
	if q := s.StreamQuota; q.Known() {
		doc.StreamQuota = &StreamQuotaJSON{BytesPerSecond: q.BytesPerSecond, RecordsPerSecond: q.RecordsPerSecond,
			RequestsPerSecond: q.RequestsPerSecond, AsOf: q.AsOf}
	}
	return doc
}

// RenderSummaryJSON writes s as one indented JSON document (SummaryJSON)
// and a newline, for scripts (on stdout with --output json).
func RenderSummaryJSON(w io.Writer, s Summary) error {
	return WriteJSON(w, s.JSON())
}

// WriteJSON writes v as one indented JSON document and a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// microSeconds is d in seconds rounded to the microsecond.
func microSeconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1e6) / 1e6
}
