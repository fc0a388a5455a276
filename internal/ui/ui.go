// Package ui decides what the terminal shows: a progress bar on stderr when
// it is a terminal, periodic progress log lines when it is not, and the
// run summary.
package ui

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Counts is what the progress display needs, polled from the sender.
type Counts struct {
	Done    int64 // delivered + dead-lettered + rejected
	Failed  int64 // dead-lettered + rejected
	Retries int64
}

// ProgressOptions configures StartProgress.
type ProgressOptions struct {
	// Label names the phase, e.g. "PutRecordBatch".
	Label string
	// Total is the number of records expected, or -1 when unknown (stdin).
	Total int64
	// Interval between log lines when w is not a terminal (default 5s).
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

// StartProgress shows progress until Stop: a bar on w when w is a terminal,
// otherwise an info log line every LogInterval.
func StartProgress(ctx context.Context, w io.Writer, logger *slog.Logger, o ProgressOptions) *Progress {
	p := &Progress{stop: make(chan struct{}), done: make(chan struct{})}
	if o.LogInterval <= 0 {
		o.LogInterval = 5 * time.Second
	}
	if IsTerminal(w) {
		go p.runBar(ctx, w, o)
	} else {
		go p.runLog(ctx, logger, o)
	}
	return p
}

func (p *Progress) runBar(ctx context.Context, w io.Writer, o ProgressOptions) {
	defer close(p.done)
	bar := progressbar.NewOptions64(o.Total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(o.Label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rec"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth(),
	)
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	for {
		c := o.Poll()
		_ = bar.Set64(c.Done)
		select {
		case <-tick.C:
		case <-ctx.Done():
			_ = bar.Exit()
			return
		case <-p.stop:
			_ = bar.Set64(o.Poll().Done)
			_ = bar.Finish()
			return
		}
	}
}

func (p *Progress) runLog(ctx context.Context, logger *slog.Logger, o ProgressOptions) {
	defer close(p.done)
	start := time.Now()
	tick := time.NewTicker(o.LogInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			c := o.Poll()
			attrs := []slog.Attr{
				slog.String("phase", o.Label),
				slog.Int64("done", c.Done),
				slog.Int64("failed", c.Failed),
				slog.Int64("retries", c.Retries),
				slog.Float64("records_per_second", rate(c.Done, time.Since(start))),
			}
			if o.Total >= 0 {
				attrs = append(attrs, slog.Int64("total", o.Total))
			}
			logger.LogAttrs(ctx, slog.LevelInfo, "progress", attrs...)
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		}
	}
}

// Stop ends the display and waits until it has drawn its last state.
func (p *Progress) Stop() {
	p.once.Do(func() { close(p.stop) })
	<-p.done
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(int64(float64(n)/d.Seconds()*10)) / 10
}
