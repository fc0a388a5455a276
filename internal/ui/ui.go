// Package ui decides what the terminal shows: on a terminal, one live
// progress area at the bottom of stderr with log lines printed above it;
// off a terminal, a progress log line every few seconds; and the run
// summary, as a table for people or one JSON document for scripts.
package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Defaults of ProgressOptions.
const (
	// DefaultLogInterval is the time between progress log lines off a terminal.
	DefaultLogInterval = 5 * time.Second
	// refreshInterval is how often the live area is redrawn.
	refreshInterval = 150 * time.Millisecond
	// barWidth caps the width of the bar itself (the counts take the rest).
	barWidth = 40
	// barSteps is the resolution of the bar's fill.
	barSteps = 1000
)

// ProgressOptions configures StartProgress.
type ProgressOptions struct {
	// Label names what is being sent, for people: the input's base name
	// ("app.log", "stdin"), not an API name.
	Label string
	// Total is the number of records expected; 0 or less: unknown.
	Total int64
	// TotalBytes is the size of the input in bytes (as stored, compressed
	// or not); 0 or less: unknown. With Counts.InputBytes it gives the
	// percentage and ETA when Total is unknown.
	TotalBytes int64
	// LogInterval is the time between log lines off a terminal
	// (0: DefaultLogInterval).
	LogInterval time.Duration
	// Poll returns the current counts; it is called from another goroutine.
	Poll func() Counts
}

// Progress is a running progress display; Stop ends it.
type Progress struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// StartProgress shows progress until Stop, which must be called. When w
// is a terminal (a *Console on a terminal, or a terminal *os.File) it draws
// a live area at the bottom of w: a bar with the percentage and ETA, then
// the records and bytes delivered, the rate, and the throttled, retried and
// failed counts; while it runs, what is written to the *Console is printed
// above it. Otherwise it logs a "progress" line at info level every
// LogInterval. Nothing is shown when o.Poll is nil.
func StartProgress(ctx context.Context, w io.Writer, logger *slog.Logger, o ProgressOptions) *Progress {
	p := &Progress{stop: make(chan struct{}), done: make(chan struct{})}
	if o.LogInterval <= 0 {
		o.LogInterval = DefaultLogInterval
	}
	ctx = context.WithoutCancel(ctx)
	switch {
	case o.Poll == nil:
		close(p.done)
	case IsTerminal(w):
		console, ok := w.(*Console)
		if !ok {
			console = &Console{out: w, tty: true}
		}
		go p.runBar(console, o)
	default:
		go p.runLog(ctx, logger, o)
	}
	return p
}

// Stop ends the display and waits until it has drawn its last state. On a
// terminal the final bar stays on screen. It is safe to call more than once.
func (p *Progress) Stop() {
	p.once.Do(func() { close(p.stop) })
	<-p.done
}

// liveText is what the decorators draw, replaced at every poll.
type liveText struct {
	head    string // percentage and ETA, after the bar
	stats   string // the second row
	compact string // the second row for narrow terminals
}

func newLiveText(s snapshot, total int64) *liveText {
	return &liveText{head: headText(s), stats: statsText(s, total), compact: compactStatsText(s)}
}

func (p *Progress) runBar(console *Console, o ProgressOptions) {
	defer close(p.done)
	m := newMeter(time.Now(), o.Total, o.TotalBytes)
	known := m.fraction(Counts{}) >= 0
	var text atomic.Pointer[liveText]
	snap := running(m.update(time.Now(), o.Poll()))
	text.Store(newLiveText(snap, o.Total))

	area := mpb.New(mpb.WithOutput(console.stream()), mpb.WithRefreshRate(refreshInterval))
	label := decor.Any(func(decor.Statistics) string { return truncate(o.Label, 32) }, decor.WCSyncSpaceR)
	head := decor.Any(func(decor.Statistics) string { return text.Load().head })
	stats := mpb.BarFillerFunc(func(w io.Writer, st decor.Statistics) error {
		line := text.Load().stats
		if runewidth.StringWidth(line) > st.AvailableWidth {
			line = text.Load().compact
		}
		_, err := io.WriteString(w, truncate(line, st.AvailableWidth)+"\n")
		return err
	})
	// Without a total, a spinner (one column) then the elapsed time.
	var style mpb.BarFillerBuilder = mpb.SpinnerStyle().PositionLeft()
	total, width := int64(0), 1 // a spinner never completes by itself
	if known {
		style = mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding("-").Rbound("]")
		total, width = barSteps, barWidth
	}
	bar := area.New(total, style,
		mpb.BarWidth(width),
		mpb.PrependDecorators(label),
		mpb.AppendDecorators(head),
		mpb.BarExtender(stats, false),
	)
	console.attach(area)

	fill := func(s snapshot) int64 {
		if !known {
			return s.Delivered + s.Failed
		}
		return int64(s.Percent / 100 * barSteps)
	}
	tick := time.NewTicker(refreshInterval)
	defer tick.Stop()
	for {
		select {
		case now := <-tick.C:
			snap := running(m.update(now, o.Poll()))
			text.Store(newLiveText(snap, o.Total))
			// Below the last step: a bar at its total stops redrawing.
			bar.SetCurrent(min(fill(snap), barSteps-1))
			continue
		case <-p.stop:
		}
		break
	}
	snap = m.update(time.Now(), o.Poll())
	text.Store(newLiveText(snap, o.Total))
	if known && snap.Percent < 100 {
		bar.SetCurrent(fill(snap))
		bar.Abort(false) // stopped early: keep it drawn where it stopped
	} else {
		bar.SetTotal(-1, true)
	}
	area.Wait() // the last frame and the lines written before it
	console.detach()
}

// running caps the percentage of a phase under way at 99.9: the input can
// be read to its end (or the last record counted) before the phase is over,
// so 100% is for the final frame only.
func running(s snapshot) snapshot {
	s.Percent = min(s.Percent, 99.9)
	return s
}

// headText is what follows the bar: the percentage and the ETA, or the
// elapsed time when no total is known.
func headText(s snapshot) string {
	if s.Percent < 0 {
		return FormatDuration(s.Elapsed)
	}
	eta := "ETA -"
	switch {
	case s.Percent >= 100:
		eta = "in " + FormatDuration(s.Elapsed)
	case s.ETA >= 0:
		eta = "ETA " + FormatDuration(s.ETA)
	}
	return fmt.Sprintf("%5.1f%%  %s", s.Percent, eta)
}

// statsText is the second row of the live area.
func statsText(s snapshot, total int64) string {
	var b strings.Builder
	b.WriteString("  ")
	b.WriteString(FormatCount(s.Delivered))
	if total > 0 {
		b.WriteString(" of ")
		b.WriteString(FormatCount(total))
	}
	b.WriteString(" records delivered, ")
	b.WriteString(FormatBytes(s.Bytes))
	b.WriteString("  ")
	b.WriteString(FormatRate(s.Rate, "rec"))
	b.WriteString(", ")
	b.WriteString(FormatByteRate(s.ByteRate))
	fmt.Fprintf(&b, "  throttled %s  retries %s  failed %s",
		FormatCount(s.Throttled), FormatCount(s.Retries), FormatCount(s.Failed))
	return b.String()
}

// compactStatsText is statsText in about 80 columns: no total (the
// percentage shows it), no byte rate, and zero counts left out.
func compactStatsText(s snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s rec  %s  %s", FormatCount(s.Delivered), FormatBytes(s.Bytes), FormatRate(s.Rate, "rec"))
	for _, c := range []struct {
		name string
		n    int64
	}{{"throttled", s.Throttled}, {"retries", s.Retries}, {"failed", s.Failed}} {
		if c.n != 0 {
			fmt.Fprintf(&b, "  %s %s", c.name, FormatCount(c.n))
		}
	}
	return b.String()
}

// truncate cuts s to width terminal cells, marking the cut with "…".
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return runewidth.Truncate(s, width, "…")
}

func (p *Progress) runLog(ctx context.Context, logger *slog.Logger, o ProgressOptions) {
	defer close(p.done)
	start := time.Now()
	m := newMeter(start, o.Total, o.TotalBytes)
	tick := time.NewTicker(o.LogInterval)
	defer tick.Stop()
	last := sample{at: start}
	for {
		select {
		case now := <-tick.C:
			snap := running(m.update(now, o.Poll()))
			logger.LogAttrs(ctx, slog.LevelInfo, "progress", progressAttrs(o, snap, last, now)...)
			last = sample{at: now, delivered: snap.Delivered, bytes: snap.Bytes}
		case <-p.stop:
			return
		}
	}
}

// progressAttrs are the fields of a progress log line. The rates are
// measured since the previous line; numbers are integers or rounded, and
// times are in seconds.
func progressAttrs(o ProgressOptions, s snapshot, last sample, now time.Time) []slog.Attr {
	interval := now.Sub(last.at).Seconds()
	perSecond := func(n int64) int64 {
		if interval <= 0 || n <= 0 {
			return 0
		}
		return int64(math.Round(float64(n) / interval))
	}
	attrs := []slog.Attr{
		slog.String("input", o.Label),
		slog.Int64("delivered", s.Delivered),
		slog.Int64("failed", s.Failed),
	}
	if o.Total > 0 {
		attrs = append(attrs, slog.Int64("total", o.Total))
	}
	attrs = append(attrs,
		slog.Int64("bytes", s.Bytes),
		slog.Int64("records_per_second", perSecond(s.Delivered-last.delivered)),
		slog.Int64("bytes_per_second", perSecond(s.Bytes-last.bytes)),
		slog.Int64("throttled", s.Throttled),
		slog.Int64("retries", s.Retries),
		slog.Int64("elapsed_seconds", int64(math.Round(s.Elapsed.Seconds()))),
	)
	if s.Percent >= 0 {
		attrs = append(attrs, slog.Float64("percent", s.Percent))
	}
	if s.ETA >= 0 {
		attrs = append(attrs, slog.Int64("eta_seconds", int64(math.Round(s.ETA.Seconds()))))
	}
	return attrs
}
