package ui

import (
	"io"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
)

// IsTerminal reports whether w is a terminal (a character device, not a
// file or a pipe). A *Console answers for the stream it wraps.
func IsTerminal(w io.Writer) bool {
	if c, ok := w.(*Console); ok {
		return c.tty
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Console is the stream people watch (stderr), shared by the logger and the
// live progress area. While a progress display runs on a terminal, what is
// written to the Console is printed above the bar, never through it; at
// other times it goes straight to the stream. Give the same Console to the
// log handler and to StartProgress. It is safe for concurrent use.
type Console struct {
	out io.Writer
	tty bool

	mu   sync.RWMutex
	live io.Writer // the running progress area, or nil
}

// NewConsole wraps w (normally os.Stderr). It shows a live progress area
// only when w is a terminal and TERM is not "dumb".
func NewConsole(w io.Writer) *Console {
	return &Console{out: w, tty: IsTerminal(w) && os.Getenv("TERM") != "dumb"}
}

// Write prints p above the live progress area if one is running, else to
// the wrapped stream. Callers write whole lines (slog handlers do).
func (c *Console) Write(p []byte) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.live != nil {
		if n, err := c.live.Write(p); err == nil {
			return n, nil
		}
		// The area has just stopped: fall back to the stream.
	}
	return c.out.Write(p)
}

// IsTerminal reports whether the Console shows a live progress area.
func (c *Console) IsTerminal() bool { return c.tty }

// attach routes writes to the live area w until detach.
func (c *Console) attach(w io.Writer) {
	c.mu.Lock()
	c.live = w
	c.mu.Unlock()
}

// detach sends writes to the stream again; it waits for writes under way.
func (c *Console) detach() {
	c.mu.Lock()
	c.live = nil
	c.mu.Unlock()
}

// stream is what the progress area draws on.
func (c *Console) stream() io.Writer { return c.out }
