package cwmetrics

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"
)

// ClientSide holds the counts the sender saw in API responses, shown next to
// the CloudWatch metrics. FailedPutCount exists only as a PutRecordBatch
// response field: there is no CloudWatch metric of that name.
type ClientSide struct {
	// FailedPutCount is the sum of FailedPutCount over PutRecordBatch responses.
	FailedPutCount int64
	// RecordsSent counts records accepted by Firehose.
	RecordsSent int64
	// PutRecordCalls and PutRecordBatchCalls count API calls made.
	PutRecordCalls, PutRecordBatchCalls int64
	// Known says the other fields were filled; when false, Render leaves the
	// client-side section out (e.g. `firehose metrics` on its own).
	Known bool
}

// NoDataHint returns the note shown when a metric has no datapoints.
func NoDataHint(stream string) string {
	return "no datapoints yet (CloudWatch lags by a few minutes; try `firehose metrics --stream " +
		stream + " --since 15m` later)"
}

// Render writes r as a table (metric, statistic, total, number of datapoints),
// a note when some metrics have no datapoints yet, and, when cs.Known, the
// client-side counts.
func Render(w io.Writer, r Report, cs ClientSide) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "CloudWatch metrics for delivery stream %s, %s to %s\n",
		r.Stream, r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tSTAT\tTOTAL\tDATAPOINTS")
	missing := 0
	for _, s := range r.Series {
		if !s.HasData {
			missing++
			fmt.Fprintf(tw, "%s\t%s\t-\tno datapoints yet\n", s.Name, s.Stat)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", s.Name, s.Stat, FormatValue(s.Total), len(s.Values))
	}
	_ = tw.Flush() // writes to a bytes.Buffer cannot fail
	if missing > 0 {
		fmt.Fprintf(&buf, "\n%d of %d metrics: %s\n", missing, len(r.Series), NoDataHint(r.Stream))
	}
	if cs.Known {
		buf.WriteString("\nClient-side (from API responses)\n")
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  Records sent\t%d\n", cs.RecordsSent)
		fmt.Fprintf(tw, "  PutRecord calls\t%d\n", cs.PutRecordCalls)
		fmt.Fprintf(tw, "  PutRecordBatch calls\t%d\n", cs.PutRecordBatchCalls)
		fmt.Fprintf(tw, "  FailedPutCount\t%d\t(sum over PutRecordBatch responses; not a CloudWatch metric)\n", cs.FailedPutCount)
		_ = tw.Flush()
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write metrics report: %w", err)
	}
	return nil
}

// FormatValue prints a metric value: integers without decimals, other values
// rounded to three decimals.
func FormatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}
