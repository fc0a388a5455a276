package cwmetrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ClientSide holds the counts the sender saw in API responses, shown next to
// the CloudWatch metrics. FailedPutCount exists only as a PutRecordBatch
// response field: there is no CloudWatch metric of that name.
type ClientSide struct {
	// FailedPutCount is the sum of FailedPutCount over PutRecordBatch responses.
	FailedPutCount int64 `json:"failed_put_count"`
	// RecordsSent counts records accepted by Firehose.
	RecordsSent int64 `json:"records_sent"`
	// PutRecordCalls and PutRecordBatchCalls count API calls made.
	PutRecordCalls      int64 `json:"put_record_calls"`
	PutRecordBatchCalls int64 `json:"put_record_batch_calls"`
	// Known says the other fields were filled; when false, Render leaves the
	// client-side section out (e.g. `firehose metrics` on its own).
	Known bool `json:"-"`
}

// NoDataHint returns the note shown when a metric has no datapoints.
func NoDataHint(stream string) string {
	return "no datapoints yet (CloudWatch lags by a few minutes; try `firehose metrics --stream " +
		stream + " --since 15m` later)"
}

// MaxChartWidth is the most columns a sparkline takes: longer ranges put
// several periods in one column (summed, or averaged for Average).
const MaxChartWidth = 60

// sparkBlocks are the sparkline's levels, lowest first: the lowest is
// zero or no datapoint, any value above zero shows at least the second.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// shortNames are the per-minute table's column headers.
var shortNames = map[string]string{
	"IncomingBytes": "IN BYTES", "IncomingRecords": "IN RECORDS", "IncomingPutRequests": "PUT REQUESTS",
	"ThrottledRecords": "THROTTLED", "DeliveryToS3.Records": "S3 RECORDS", "DeliveryToS3.Bytes": "S3 BYTES",
	"DeliveryToS3.Success": "S3 SUCCESS",
}

// Render writes r for people: per metric its statistic, total, number of
// datapoints and a sparkline over the range (one column per period); then
// a row per period that has data, with every metric's value; a note when
// some metrics have no datapoints yet; and, when cs.Known, the client-side
// counts.
func Render(w io.Writer, r Report, cs ClientSide) error {
	var buf bytes.Buffer
	period := r.period()
	fmt.Fprintf(&buf, "CloudWatch metrics for delivery stream %s, %s to %s, per %s\n",
		r.Stream, r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339), periodName(period))
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "METRIC\tSTAT\tTOTAL\tDATAPOINTS\tCHART %s-%s UTC\n", r.Start.UTC().Format("15:04"), r.End.UTC().Format("15:04"))
	missing := 0
	for _, s := range r.Series {
		if !s.HasData {
			missing++
			fmt.Fprintf(tw, "%s\t%s\t-\t0\tno datapoints yet\n", s.Name, s.Stat)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Name, s.Stat, FormatValue(s.Total), len(s.Values), Sparkline(r.slots(s, MaxChartWidth)))
	}
	_ = tw.Flush() // writes to a bytes.Buffer cannot fail
	if missing < len(r.Series) {
		r.renderTable(&buf)
	}
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

// renderTable writes one row per period with a datapoint in any metric.
func (r Report) renderTable(buf *bytes.Buffer) {
	values := map[time.Time][]string{}
	for i, s := range r.Series {
		for j, ts := range s.Timestamps {
			ts = ts.UTC()
			row, ok := values[ts]
			if !ok {
				row = make([]string, len(r.Series))
				for k := range row {
					row[k] = "-"
				}
				values[ts] = row
			}
			row[i] = FormatValue(s.Values[j])
		}
	}
	times := make([]time.Time, 0, len(values))
	for ts := range values {
		times = append(times, ts)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	layout := "15:04"
	if r.Start.UTC().YearDay() != r.End.UTC().YearDay() || r.Start.Year() != r.End.Year() {
		layout = "01-02 15:04"
	}
	buf.WriteString("\nPer " + periodName(r.period()) + " (UTC; periods without datapoints left out)\n")
	tw := tabwriter.NewWriter(buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := []string{"TIME"}
	for _, s := range r.Series {
		name := shortNames[s.Name]
		if name == "" {
			name = s.Name
		}
		header = append(header, name)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, ts := range times {
		fmt.Fprintln(tw, ts.Format(layout)+"\t"+strings.Join(values[ts], "\t")+"\t")
	}
	_ = tw.Flush()
}

// period is the report's period, DefaultPeriod when unset.
func (r Report) period() time.Duration {
	if r.Period > 0 {
		return r.Period
	}
	return DefaultPeriod
}

func periodName(d time.Duration) string {
	if d == time.Minute {
		return "minute"
	}
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " minutes"
	}
	return d.String()
}

// slots places s's datapoints on the range's periods, at most maxWidth
// columns (several periods per column on long ranges: summed, or averaged
// for the Average statistic). A period without datapoint is NaN.
func (r Report) slots(s Series, maxWidth int) []float64 {
	period := r.period()
	n := int(r.End.Sub(r.Start) / period)
	if n <= 0 {
		n = 1
	}
	per := (n + maxWidth - 1) / maxWidth
	cols := (n + per - 1) / per
	sum := make([]float64, cols)
	count := make([]int, cols)
	for i, ts := range s.Timestamps {
		k := int(ts.Sub(r.Start) / period)
		if k < 0 || k >= n {
			continue
		}
		sum[k/per] += s.Values[i]
		count[k/per]++
	}
	out := make([]float64, cols)
	for i := range out {
		switch {
		case count[i] == 0:
			out[i] = math.NaN()
		case s.Stat == "Average":
			out[i] = sum[i] / float64(count[i])
		default:
			out[i] = sum[i]
		}
	}
	return out
}

// Sparkline draws values as one block character each, scaled to the
// largest: "▁" for zero, a missing value (NaN) or a negative one, "█" for
// the largest, and at least "▂" for any value above zero.
func Sparkline(values []float64) string {
	peak := 0.0
	for _, v := range values {
		if v > peak {
			peak = v
		}
	}
	var b strings.Builder
	top := len(sparkBlocks) - 1
	for _, v := range values {
		level := 0
		if v > 0 && peak > 0 {
			level = max(1, int(math.Ceil(v/peak*float64(top))))
		}
		b.WriteRune(sparkBlocks[min(level, top)])
	}
	return b.String()
}

// FormatValue prints a metric value: integers without decimals, other values
// rounded to three decimals.
func FormatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// ReportJSON is the document RenderJSON writes; a command that prints
// more than the report (the scenario) embeds it in its own document.
type ReportJSON struct {
	Stream        string       `json:"stream"`
	Start         time.Time    `json:"start"`
	End           time.Time    `json:"end"`
	PeriodSeconds int64        `json:"period_seconds"`
	Metrics       []SeriesJSON `json:"metrics"`
	ClientSide    *ClientSide  `json:"client_side,omitempty"`
}

// SeriesJSON is one metric of a ReportJSON.
type SeriesJSON struct {
	Name string `json:"name"`
	Stat string `json:"stat"`
	// Total is null without datapoints.
	Total      *float64    `json:"total"`
	Datapoints []PointJSON `json:"datapoints"`
}

// PointJSON is one datapoint of a SeriesJSON.
type PointJSON struct {
	Timestamp time.Time `json:"timestamp"`
	Value     float64   `json:"value"`
}

// JSON returns r as a ReportJSON: the stream, the range (UTC), the period
// in seconds, and per metric its statistic, total (nil without datapoints)
// and every datapoint, oldest first; with cs.Known, the client-side counts.
func (r Report) JSON(cs ClientSide) ReportJSON {
	doc := ReportJSON{
		Stream: r.Stream, Start: r.Start.UTC(), End: r.End.UTC(),
		PeriodSeconds: int64(r.period() / time.Second),
		Metrics:       make([]SeriesJSON, 0, len(r.Series)),
	}
	for _, s := range r.Series {
		js := SeriesJSON{Name: s.Name, Stat: s.Stat, Datapoints: make([]PointJSON, 0, len(s.Values))}
		if s.HasData {
			total := math.Round(s.Total*1000) / 1000
			js.Total = &total
		}
		for i, v := range s.Values {
			js.Datapoints = append(js.Datapoints, PointJSON{Timestamp: s.Timestamps[i].UTC(), Value: v})
		}
		doc.Metrics = append(doc.Metrics, js)
	}
	if cs.Known {
		doc.ClientSide = &cs
	}
	return doc
}

// RenderJSON writes r.JSON(cs) as one indented JSON document, for scripts.
func RenderJSON(w io.Writer, r Report, cs ClientSide) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r.JSON(cs)); err != nil {
		return fmt.Errorf("write metrics report: %w", err)
	}
	return nil
}
