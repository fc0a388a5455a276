package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/firehose-tools/firehose/producer"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{FormatCount(0), "0"},
		{FormatCount(999), "999"},
		{FormatCount(1000), "1,000"},
		{FormatCount(1234567), "1,234,567"},
		{FormatCount(-1234), "-1,234"},
		{FormatBytes(512), "512 B"},
		{FormatBytes(1536), "1.5 KiB"},
		{FormatBytes(120 << 20), "120.0 MiB"},
		{FormatRate(0, "rec"), "0 rec/s"},
		{FormatRate(0.004, "rec"), "0.00 rec/s"},
		{FormatRate(0.25, "rec"), "0.25 rec/s"},
		{FormatRate(2.46, "rec"), "2.5 rec/s"},
		{FormatRate(55997.899999999994, "rec"), "55,998 rec/s"},
		{FormatByteRate(5 << 20), "5.0 MiB/s"},
		{FormatByteRate(0), "0 B/s"},
		{FormatDuration(0), "0s"},
		{FormatDuration(42*time.Second + 400*time.Millisecond), "42s"},
		{FormatDuration(187 * time.Second), "3m07s"},
		{FormatDuration(2*time.Hour + 5*time.Minute + 9*time.Second), "2h05m"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := Seconds(23578973 * time.Nanosecond); got != 0.024 {
		t.Errorf("Seconds = %v, want 0.024", got)
	}
}

// TestMeter: the rate is measured over the last rateWindow, the percentage
// comes from the record total or else the byte total, and the ETA from the
// pace of the fraction.
func TestMeter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	type step struct {
		at      float64
		c       Counts
		rate    float64
		percent float64
		eta     time.Duration
	}
	tests := []struct {
		name                     string
		totalRecords, totalBytes int64
		steps                    []step
	}{
		{
			name: "record total", totalRecords: 1000,
			steps: []step{
				{at: 1, c: Counts{Delivered: 100}, rate: 100, percent: 10, eta: 9 * time.Second},
				{at: 2, c: Counts{Delivered: 150, Failed: 50}, rate: 75, percent: 20, eta: 8 * time.Second},
				{at: 10, c: Counts{Delivered: 1000}, rate: 850.0 / 8, percent: 100, eta: 0},
			},
		},
		{
			name: "byte total from the input offset", totalBytes: 10_000,
			steps: []step{
				{at: 2, c: Counts{Delivered: 10, InputBytes: 2_500, Bytes: 900}, rate: 5, percent: 25, eta: 6 * time.Second},
			},
		},
		{
			name: "byte total without the input offset: 0%", totalBytes: 10_000,
			steps: []step{
				{at: 1, c: Counts{Delivered: 10, Bytes: 1_000}, rate: 10, percent: 0, eta: -1},
			},
		},
		{
			name: "nothing known",
			steps: []step{
				{at: 1, c: Counts{Delivered: 10}, rate: 10, percent: -1, eta: -1},
			},
		},
		{
			name: "nothing delivered: rate 0, no ETA", totalRecords: 100,
			steps: []step{
				{at: 1, c: Counts{Failed: 0}, rate: 0, percent: 0, eta: -1},
			},
		},
		{
			name: "rate over the window only", totalRecords: 1_000_000,
			steps: []step{
				{at: 1, c: Counts{Delivered: 1000}, rate: 1000, percent: 0.1, eta: 999 * time.Second},
				{at: 6, c: Counts{Delivered: 1000}, rate: 0, percent: 0.1, eta: -1},
				{at: 12, c: Counts{Delivered: 7000}, rate: 1000, percent: 0.7, eta: 993 * time.Second},
			},
		},
		{
			name: "deprecated Done", totalRecords: 10,
			steps: []step{
				{at: 1, c: Counts{Done: 5}, rate: 5, percent: 50, eta: time.Second},
			},
		},
		{
			name: "99.96% shows as 99.9", totalRecords: 10_000,
			steps: []step{
				{at: 1, c: Counts{Delivered: 9996}, rate: 9996, percent: 99.9, eta: 0},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMeter(start, tc.totalRecords, tc.totalBytes)
			for i, st := range tc.steps {
				s := m.update(at(st.at), st.c)
				if s.Rate != st.rate || s.Percent != st.percent {
					t.Errorf("step %d: rate %v percent %v, want %v %v", i, s.Rate, s.Percent, st.rate, st.percent)
				}
				if s.ETA != st.eta {
					t.Errorf("step %d: ETA %v, want %v", i, s.ETA, st.eta)
				}
			}
		})
	}
}

// TestProgressLogLines: off a terminal, one "progress" line per interval,
// delivered and failed apart, the rate over the interval (0 when nothing
// was delivered), integers and seconds as numbers.
func TestProgressLogLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}))
		var delivered, failed atomic.Int64
		p := StartProgress(t.Context(), &buf, logger, ProgressOptions{
			Label: "app.log", Total: 10_000, LogInterval: 2 * time.Second,
			Poll: func() Counts {
				st := producer.Stats{Delivered: delivered.Load(), DeadLettered: failed.Load(), Bytes: delivered.Load() * 90}
				return CountsFromStats(st)
			},
		})
		delivered.Store(1000)
		time.Sleep(2*time.Second + time.Millisecond) // first line
		failed.Store(500)
		time.Sleep(2 * time.Second) // second: nothing more delivered
		delivered.Store(4000)
		time.Sleep(2 * time.Second) // third
		p.Stop()
		time.Sleep(10 * time.Second)

		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		want := []string{
			`{"level":"INFO","msg":"progress","input":"app.log","delivered":1000,"failed":0,"total":10000,"bytes":90000,"records_per_second":500,"bytes_per_second":45000,"throttled":0,"retries":0,"elapsed_seconds":2,"percent":10,"eta_seconds":18}`,
			`{"level":"INFO","msg":"progress","input":"app.log","delivered":1000,"failed":500,"total":10000,"bytes":90000,"records_per_second":0,"bytes_per_second":0,"throttled":0,"retries":0,"elapsed_seconds":4,"percent":15,"eta_seconds":23}`,
			`{"level":"INFO","msg":"progress","input":"app.log","delivered":4000,"failed":500,"total":10000,"bytes":360000,"records_per_second":1500,"bytes_per_second":135000,"throttled":0,"retries":0,"elapsed_seconds":6,"percent":45,"eta_seconds":6}`,
		}
		if len(lines) != len(want) {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
		}
		for i := range want {
			if lines[i] != want[i] {
				t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], want[i])
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
				t.Errorf("line %d is not JSON: %v", i, err)
			}
		}
	})
}

func TestProgressWithoutPoll(t *testing.T) {
	p := StartProgress(context.Background(), &bytes.Buffer{}, slog.New(slog.DiscardHandler), ProgressOptions{})
	p.Stop()
	p.Stop()
}

// TestConsoleWithoutArea: with no progress running, writes go straight to
// the stream, and a buffer is not a terminal.
func TestConsoleWithoutArea(t *testing.T) {
	var buf bytes.Buffer
	c := NewConsole(&buf)
	if c.IsTerminal() || IsTerminal(c) || IsTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
	if _, err := c.Write([]byte("line\n")); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "line\n" {
		t.Errorf("got %q", buf.String())
	}
}

// TestLiveText: the rows of the live area, exactly.
func TestLiveText(t *testing.T) {
	tests := []struct {
		name                   string
		s                      snapshot
		total                  int64
		head, stats, compacted string
	}{
		{
			name:      "records total, running",
			s:         snapshot{Counts: Counts{Delivered: 333224, Bytes: 28 << 20, Throttled: 628, Retries: 629, Failed: 2}, Rate: 46737.4, ByteRate: 3.9 * (1 << 20), Percent: 16.6, ETA: 36 * time.Second, Elapsed: 7 * time.Second},
			total:     2_000_000,
			head:      " 16.6%  ETA 36s",
			stats:     "  333,224 of 2,000,000 records delivered, 28.0 MiB  46,737 rec/s, 3.9 MiB/s  throttled 628  retries 629  failed 2",
			compacted: "  333,224 rec  28.0 MiB  46,737 rec/s  throttled 628  retries 629  failed 2",
		},
		{
			name:      "done",
			s:         snapshot{Counts: Counts{Delivered: 10}, Percent: 100, ETA: 0, Elapsed: 187 * time.Second},
			total:     10,
			head:      "100.0%  in 3m07s",
			stats:     "  10 of 10 records delivered, 0 B  0 rec/s, 0 B/s  throttled 0  retries 0  failed 0",
			compacted: "  10 rec  0 B  0 rec/s",
		},
		{
			name:      "no total: elapsed only",
			s:         snapshot{Counts: Counts{Delivered: 5}, Rate: 0.5, Percent: -1, ETA: -1, Elapsed: 42 * time.Second},
			head:      "42s",
			stats:     "  5 records delivered, 0 B  0.50 rec/s, 0 B/s  throttled 0  retries 0  failed 0",
			compacted: "  5 rec  0 B  0.50 rec/s",
		},
		{
			name: "pace unknown",
			s:    snapshot{Percent: 0, ETA: -1}, total: 10,
			head:      "  0.0%  ETA -",
			stats:     "  0 of 10 records delivered, 0 B  0 rec/s, 0 B/s  throttled 0  retries 0  failed 0",
			compacted: "  0 rec  0 B  0 rec/s",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lt := newLiveText(tc.s, tc.total)
			if lt.head != tc.head || lt.stats != tc.stats || lt.compact != tc.compacted {
				t.Errorf("got\n%q\n%q\n%q\nwant\n%q\n%q\n%q", lt.head, lt.stats, lt.compact, tc.head, tc.stats, tc.compacted)
			}
		})
	}
}
