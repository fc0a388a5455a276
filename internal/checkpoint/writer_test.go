package checkpoint

import (
	"errors"
	"io/fs"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func loadWatermark(t *testing.T, path string) int64 {
	t.Helper()
	cp, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return cp.Watermark.Record
}

// TestWriterInterval: the writer saves once per interval when something
// changed, not before, and a last time on Close.
func TestWriterInterval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []WriterOption
		interval time.Duration
	}{
		{name: "default", interval: DefaultInterval},
		{name: "250ms", opts: []WriterOption{Interval(250 * time.Millisecond)}, interval: 250 * time.Millisecond},
		{name: "non-positive keeps the default", opts: []WriterOption{Interval(-1)}, interval: DefaultInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "in.checkpoint.json")
			synctest.Test(t, func(t *testing.T) {
				var saves atomic.Int64
				opts := append([]WriterOption{BeforeSave(func() error { saves.Add(1); return nil })}, tt.opts...)
				tr := NewTracker(Identity{Path: "in"}, Beginning())
				w := StartWriter(path, tr, opts...)

				settleAll(t, tr, 1, 2)
				time.Sleep(tt.interval - time.Nanosecond)
				synctest.Wait()
				if got := loadWatermark(t, path); got != 0 {
					t.Fatalf("saved before the interval: watermark %d", got)
				}
				time.Sleep(time.Nanosecond)
				synctest.Wait()
				if got := loadWatermark(t, path); got != 3 {
					t.Fatalf("after one interval: watermark %d, want 3", got)
				}

				// Nothing new: no write in the next intervals.
				time.Sleep(3 * tt.interval)
				synctest.Wait()
				if saves.Load() != 1 {
					t.Fatalf("%d saves with nothing new, want 1", saves.Load())
				}

				settleAll(t, tr, 3)
				time.Sleep(tt.interval)
				synctest.Wait()
				if got := loadWatermark(t, path); got != 4 || saves.Load() != 2 {
					t.Fatalf("watermark %d after %d saves, want 4 after 2", got, saves.Load())
				}

				// Close saves what came since, without waiting for a tick.
				settleAll(t, tr, 4)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if got := loadWatermark(t, path); got != 5 {
					t.Fatalf("after Close: watermark %d, want 5", got)
				}
				if err := w.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
				if saves.Load() != 3 {
					t.Fatalf("%d saves, want 3", saves.Load())
				}
			})
		})
	}
}

// TestWriterBeforeSaveOrdering: the snapshot is taken before the hook runs,
// so a record settled while the hook syncs (its dead letter possibly not
// covered by that sync) is not in that checkpoint; and the hook runs before
// the file changes.
func TestWriterBeforeSaveOrdering(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.checkpoint.json")
	synctest.Test(t, func(t *testing.T) {
		tr := NewTracker(Identity{Path: "in"}, Beginning())
		var onDisk []int64 // watermark on disk when each hook ran
		hook := func() error {
			onDisk = append(onDisk, loadWatermark(t, path))
			tr.Settled(2, after(2)) // settles while the sync runs
			return nil
		}
		w := StartWriter(path, tr, BeforeSave(hook))
		settleAll(t, tr, 1)
		time.Sleep(DefaultInterval)
		synctest.Wait()
		if got := loadWatermark(t, path); got != 2 {
			t.Fatalf("watermark %d on disk, want 2: record 2 settled during the hook must wait for the next save", got)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := loadWatermark(t, path); got != 3 {
			t.Fatalf("after Close: watermark %d, want 3", got)
		}
		if len(onDisk) != 2 || onDisk[0] != 0 || onDisk[1] != 2 {
			t.Fatalf("the hook saw watermarks %v on disk, want [0 2]", onDisk)
		}
	})
}

// TestWriterHookFailure: a failing hook keeps the checkpoint where it was,
// is reported, and Close reports it while it lasts.
func TestWriterHookFailure(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.checkpoint.json")
	synctest.Test(t, func(t *testing.T) {
		errSync := errors.New("disk full")
		var failing atomic.Bool
		var reported []error
		tr := NewTracker(Identity{Path: "in"}, Beginning())
		w := StartWriter(path, tr,
			BeforeSave(func() error {
				if failing.Load() {
					return errSync
				}
				return nil
			}),
			OnError(func(err error) { reported = append(reported, err) }))
		settleAll(t, tr, 1)
		time.Sleep(DefaultInterval)
		synctest.Wait()

		failing.Store(true)
		settleAll(t, tr, 2)
		time.Sleep(2 * DefaultInterval)
		synctest.Wait()
		if got := loadWatermark(t, path); got != 2 {
			t.Fatalf("watermark %d on disk, want 2 (the hook failed since)", got)
		}
		if len(reported) != 2 || !errors.Is(reported[0], errSync) {
			t.Fatalf("reported %v, want the hook's error twice", reported)
		}
		if err := w.Close(); !errors.Is(err, errSync) {
			t.Fatalf("Close = %v, want the hook's error", err)
		}
	})
}

// TestWriterRecovers: once the hook works again the next save goes through
// and Close reports success.
func TestWriterRecovers(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.checkpoint.json")
	synctest.Test(t, func(t *testing.T) {
		var failing atomic.Bool
		failing.Store(true)
		tr := NewTracker(Identity{Path: "in"}, Beginning())
		w := StartWriter(path, tr, BeforeSave(func() error {
			if failing.Load() {
				return errors.New("transient")
			}
			return nil
		}))
		settleAll(t, tr, 1)
		time.Sleep(DefaultInterval)
		synctest.Wait()
		failing.Store(false)
		time.Sleep(DefaultInterval)
		synctest.Wait()
		if got := loadWatermark(t, path); got != 2 {
			t.Fatalf("watermark %d, want 2 once the hook works", got)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close = %v, want nil", err)
		}
	})
}
