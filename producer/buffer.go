package producer

import (
	"context"
	"sync"
)

// buffer counts the records and bytes added and not yet settled. Add waits
// in acquire while a bound is reached (backpressure); Flush waits in
// waitEmpty until nothing is left.
type buffer struct {
	mu                   sync.Mutex
	records, bytes       int64
	maxRecords, maxBytes int64
	// changed is closed and replaced when records are released while
	// someone waits, so waiters can select on it with their context.
	changed chan struct{}
	waiters int
}

func (b *buffer) init(maxRecords, maxBytes int64) {
	b.maxRecords, b.maxBytes = maxRecords, maxBytes
	b.changed = make(chan struct{})
}

// acquire takes room for one record of size bytes, waiting while the buffer
// is full. An empty buffer always takes one record, whatever its size.
// While it waits it calls full once, so what is held can be sent at once.
func (b *buffer) acquire(ctx context.Context, stopped <-chan struct{}, full func(), size int64) error {
	b.mu.Lock()
	told := false
	for b.records > 0 && (b.records >= b.maxRecords || b.bytes+size > b.maxBytes) {
		ch := b.changed
		b.waiters++
		b.mu.Unlock()
		if !told {
			told = true
			full()
		}
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		case <-stopped:
			err = context.Canceled
		}
		b.mu.Lock()
		b.waiters--
		if err != nil {
			b.mu.Unlock()
			return err
		}
	}
	b.records++
	b.bytes += size
	b.mu.Unlock()
	return nil
}

// release gives back the room of settled records.
func (b *buffer) release(records, bytes int64) {
	if records == 0 && bytes == 0 {
		return
	}
	b.mu.Lock()
	b.records -= records
	b.bytes -= bytes
	if b.waiters > 0 {
		close(b.changed)
		b.changed = make(chan struct{})
	}
	b.mu.Unlock()
}

// waitEmpty waits until no record is buffered, ctx ends, or ended closes
// (the pipeline is gone; whatever it held was settled).
func (b *buffer) waitEmpty(ctx context.Context, ended <-chan struct{}) error {
	b.mu.Lock()
	for b.records > 0 {
		ch := b.changed
		b.waiters++
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			b.mu.Lock()
			b.waiters--
			b.mu.Unlock()
			return ctx.Err()
		case <-ended:
			b.mu.Lock()
			b.waiters--
			b.mu.Unlock()
			return nil
		}
		b.mu.Lock()
		b.waiters--
	}
	b.mu.Unlock()
	return nil
}

// blocked reports whether someone waits for room: what is held must then
// be sent now, whatever Linger says, or nothing would free it.
func (b *buffer) blocked() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiters > 0
}

// setMaxRecords changes the records bound; raising it wakes the waiters.
func (b *buffer) setMaxRecords(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	raised := n > b.maxRecords
	b.maxRecords = n
	if raised && b.waiters > 0 {
		close(b.changed)
		b.changed = make(chan struct{})
	}
}
