package cwmetrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rows parses the table rows of a rendered report into metric -> fields.
func rows(t *testing.T, out string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	space := regexp.MustCompile(`\s{2,}`)
	for _, line := range strings.Split(out, "\n") {
		fields := space.Split(strings.TrimSpace(line), -1)
		for _, name := range Metrics {
			if len(fields) > 0 && fields[0] == name {
				got[name] = fields[1:]
			}
		}
	}
	return got
}

func TestRender(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	full := Report{Stream: "alerts", Start: t0, End: t0.Add(15 * time.Minute)}
	for i, name := range Metrics {
		values := []float64{float64(i + 1), float64(10 * (i + 1))}
		s := Series{Name: name, Stat: StatFor(name), Timestamps: []time.Time{t0, t0.Add(time.Minute)}, Values: values}
		s.finish()
		full.Series = append(full.Series, s)
	}
	partial := full
	partial.Series = append([]Series(nil), full.Series...)
	partial.Series[3] = Series{Name: Metrics[3], Stat: StatFor(Metrics[3])}
	partial.Series[6] = Series{Name: Metrics[6], Stat: StatFor(Metrics[6])}
	empty := Report{Stream: "alerts", Start: t0, End: t0.Add(15 * time.Minute)}
	for _, name := range Metrics {
		empty.Series = append(empty.Series, Series{Name: name, Stat: StatFor(name)})
	}
	client := ClientSide{FailedPutCount: 3, RecordsSent: 5550, PutRecordCalls: 100, PutRecordBatchCalls: 11, Known: true}

	tests := []struct {
		name        string
		report      Report
		client      ClientSide
		wantMissing int
	}{
		{name: "all data", report: full},
		{name: "some metrics missing", report: partial, wantMissing: 2},
		{name: "no data at all, with client side", report: empty, client: client, wantMissing: len(Metrics)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Render(&buf, tc.report, tc.client); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if !strings.Contains(out, "delivery stream alerts, 2025-03-04T10:00:00Z to 2025-03-04T10:15:00Z") {
				t.Errorf("header does not name the stream and range:\n%s", out)
			}
			got := rows(t, out)
			for _, s := range tc.report.Series {
				// The first value is a tenth of the second: the lowest
				// non-zero block, then the full one, then empty minutes.
				want := []string{s.Stat, FormatValue(s.Total), fmt.Sprint(len(s.Values)), "▂█" + strings.Repeat("▁", 13)}
				if !s.HasData {
					want = []string{s.Stat, "-", "0", "no datapoints yet"}
				}
				if fmt.Sprint(got[s.Name]) != fmt.Sprint(want) {
					t.Errorf("row %s = %q, want %q\n%s", s.Name, got[s.Name], want, out)
				}
			}
			hint := NoDataHint("alerts")
			if !strings.Contains(hint, "firehose metrics --stream alerts --since 15m") {
				t.Errorf("hint %q does not say how to look again", hint)
			}
			if has := strings.Contains(out, hint); has != (tc.wantMissing > 0) {
				t.Errorf("hint shown = %v, want %v:\n%s", has, tc.wantMissing > 0, out)
			}
			if tc.wantMissing > 0 && !strings.Contains(out, fmt.Sprintf("%d of %d metrics", tc.wantMissing, len(Metrics))) {
				t.Errorf("output does not count %d missing metrics:\n%s", tc.wantMissing, out)
			}
			clientLines := map[string]int64{
				"Records sent": tc.client.RecordsSent, "PutRecord calls": tc.client.PutRecordCalls,
				"PutRecordBatch calls": tc.client.PutRecordBatchCalls, "FailedPutCount": tc.client.FailedPutCount,
			}
			if has := strings.Contains(out, "Client-side"); has != tc.client.Known {
				t.Errorf("client-side section shown = %v, want %v", has, tc.client.Known)
			}
			for label, v := range clientLines {
				re := regexp.MustCompile(`(?m)^\s+` + label + `\s+` + fmt.Sprint(v) + `\b`)
				if tc.client.Known && !re.MatchString(out) {
					t.Errorf("client-side line %q = %d missing:\n%s", label, v, out)
				}
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed pipe") }

func TestRenderWriteError(t *testing.T) {
	t.Parallel()
	if err := Render(failingWriter{}, Report{Stream: "s"}, ClientSide{}); err == nil || !strings.Contains(err.Error(), "closed pipe") {
		t.Errorf("Render to a failing writer = %v, want the write error", err)
	}
}

func TestSparkline(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		name   string
		values []float64
		want   string
	}{
		{"empty", nil, ""},
		{"all zero or missing", []float64{0, nan, 0}, "▁▁▁"},
		{"ramp", []float64{0, 1, 2, 3, 4, 5, 6, 7}, "▁▂▃▄▅▆▇█"},
		{"tiny value still shows", []float64{1, 1000}, "▂█"},
		{"negative as zero", []float64{-5, 5}, "▁█"},
	}
	for _, tc := range tests {
		if got := Sparkline(tc.values); got != tc.want {
			t.Errorf("%s: Sparkline(%v) = %q, want %q", tc.name, tc.values, got, tc.want)
		}
	}
}

// TestSlots: datapoints land on their period; long ranges fold several
// periods into a column, summed for Sum and averaged for Average.
func TestSlots(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name     string
		minutes  int
		stat     string
		ts       []time.Time
		values   []float64
		maxWidth int
		want     string
	}{
		{"one per minute", 4, "Sum", []time.Time{at(0), at(2)}, []float64{1, 2}, 60, "[1 NaN 2 NaN]"},
		{"folded, summed", 6, "Sum", []time.Time{at(0), at(1), at(5)}, []float64{1, 2, 4}, 3, "[3 NaN 4]"},
		{"folded, averaged", 4, "Average", []time.Time{at(0), at(1), at(3)}, []float64{1, 0, 1}, 2, "[0.5 1]"},
		{"outside the range ignored", 2, "Sum", []time.Time{at(-1), at(1), at(2)}, []float64{9, 1, 9}, 60, "[NaN 1]"},
	}
	for _, tc := range tests {
		r := Report{Start: t0, End: at(tc.minutes), Period: time.Minute}
		got := fmt.Sprint(r.slots(Series{Stat: tc.stat, Timestamps: tc.ts, Values: tc.values}, tc.maxWidth))
		if got != tc.want {
			t.Errorf("%s: slots = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRenderJSON(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	r := Report{Stream: "alerts", Start: t0, End: t0.Add(2 * time.Minute), Period: time.Minute, Series: []Series{
		{Name: "IncomingRecords", Stat: "Sum", Timestamps: []time.Time{t0, t0.Add(time.Minute)}, Values: []float64{100, 5450}},
		{Name: "ThrottledRecords", Stat: "Sum"},
	}}
	for i := range r.Series {
		r.Series[i].finish()
	}
	var buf bytes.Buffer
	if err := RenderJSON(&buf, r, ClientSide{Known: true, RecordsSent: 5550, FailedPutCount: 2}); err != nil {
		t.Fatal(err)
	}
	want := `{"stream":"alerts","start":"2025-03-04T10:00:00Z","end":"2025-03-04T10:02:00Z","period_seconds":60,"metrics":[` +
		`{"name":"IncomingRecords","stat":"Sum","total":5550,"datapoints":[{"timestamp":"2025-03-04T10:00:00Z","value":100},{"timestamp":"2025-03-04T10:01:00Z","value":5450}]},` +
		`{"name":"ThrottledRecords","stat":"Sum","total":null,"datapoints":[]}],` +
		`"client_side":{"failed_put_count":2,"records_sent":5550,"put_record_calls":0,"put_record_batch_calls":0}}`
	var compact bytes.Buffer
	if err := json.Compact(&compact, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if compact.String() != want {
		t.Errorf("got  %s\nwant %s", compact.String(), want)
	}
}
