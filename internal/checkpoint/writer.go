package checkpoint

import (
	"fmt"
	"sync"
	"time"
)

// DefaultInterval is how often a [Writer] saves by default.
const DefaultInterval = time.Second

// WriterOption configures a [Writer].
type WriterOption func(*writerConfig)

type writerConfig struct {
	interval   time.Duration
	beforeSave func() error
	onError    func(error)
}

// Interval sets how often the Writer saves the checkpoint when it changed.
// The default is [DefaultInterval] (one second); d <= 0 keeps the default.
// Records settled since the last save are sent again after a SIGKILL, so
// a shorter interval trades disk writes for fewer duplicates.
func Interval(d time.Duration) WriterOption {
	return func(c *writerConfig) {
		if d > 0 {
			c.interval = d
		}
	}
}

// BeforeSave sets a function the Writer runs before each save, after it has
// taken the snapshot it is about to write: typically syncing the dead-letter
// file. Because the snapshot is taken first, every record it counts as
// settled was settled, and so written to the dead-letter file, before the
// sync starts, so the checkpoint never moves past a dead letter that is not
// on disk. If fn fails, that checkpoint is not written. The default is none.
func BeforeSave(fn func() error) WriterOption {
	return func(c *writerConfig) { c.beforeSave = fn }
}

// OnError sets a function called with each failed save (for a log line);
// the Writer goes on and tries again at the next interval. Close returns the
// last error too. The default is none.
func OnError(fn func(error)) WriterOption {
	return func(c *writerConfig) { c.onError = fn }
}

// Writer saves a [Tracker]'s checkpoint to a file in the background, when it
// changed, once per interval, and a last time on Close.
type Writer struct {
	path    string
	tracker *Tracker
	cfg     writerConfig

	saveMu    sync.Mutex // one save at a time
	savedAt   uint64     // tracker change count of the last save
	saved     bool       // a save has succeeded
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// StartWriter starts saving t's checkpoint to path (see [DefaultPath]) and
// returns the Writer; call Close when the run ends.
func StartWriter(path string, t *Tracker, opts ...WriterOption) *Writer {
	cfg := writerConfig{interval: DefaultInterval}
	for _, o := range opts {
		o(&cfg)
	}
	w := &Writer{path: path, tracker: t, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *Writer) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.cfg.interval)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
			if err := w.Save(); err != nil && w.cfg.onError != nil {
				w.cfg.onError(err)
			}
		}
	}
}

// Save saves the checkpoint now if it changed since the last save (the
// first save always writes): the snapshot, then the BeforeSave hook, then
// the atomic write. It is safe to call at any time, for example when a
// second signal asks to exit at once.
func (w *Writer) Save() error {
	w.saveMu.Lock()
	defer w.saveMu.Unlock()
	cp, version := w.tracker.snapshot()
	if w.saved && version == w.savedAt {
		return nil
	}
	err := w.write(cp)
	if err == nil {
		w.saved, w.savedAt = true, version
	}
	return err
}

func (w *Writer) write(cp *Checkpoint) error {
	if w.cfg.beforeSave != nil {
		if err := w.cfg.beforeSave(); err != nil {
			return fmt.Errorf("save checkpoint %s: before saving: %w", w.path, err)
		}
	}
	return Save(w.path, cp)
}

// Close stops the background saves and saves a last time. It returns the
// error of that last save (nil when there was nothing new to save since a
// successful one): an earlier failure that a later save made good does not
// matter any more. Calling Close again returns the same result.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		w.closeErr = w.Save()
	})
	return w.closeErr
}
