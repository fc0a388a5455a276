package producer

import (
	"sync"
	"time"
)

// incoming hands added records to the batcher in slices: Add appends under
// a mutex and wakes the batcher only when it sleeps, and the batcher takes
// everything at once. Record bytes are copied into arena chunks.
type incoming struct {
	mu       sync.Mutex
	entries  []entry
	arena    arena
	sleeping bool // the batcher waits for a wake-up
	closed   bool // the batcher stopped: push refuses
	wake     chan struct{}
}

func (in *incoming) init() {
	in.wake = make(chan struct{}, 1)
	in.sleeping = true
}

// push copies rec into a new entry; false when the batcher has stopped.
func (in *incoming) push(rec Record, done func(RecordResult), appendNewline bool) bool {
	nl := needsNewline(appendNewline, rec.Data)
	n := len(rec.Data)
	size := n
	if nl {
		size++
	}
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return false
	}
	data := append(in.arena.alloc(size), rec.Data...)
	if nl {
		data = append(data, '\n')
	}
	in.entries = append(in.entries, entry{
		data:     data,
		parts:    in.arena.onePart(part{seq: rec.Seq, source: rec.Source, done: done, inEnd: rec.End, end: n}),
		buffered: true,
	})
	wake := in.sleeping
	in.sleeping = false
	in.mu.Unlock()
	if wake {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// take returns what was pushed, reusing spare's array for the next pushes;
// when nothing is waiting it marks the batcher asleep.
func (in *incoming) take(spare []entry) []entry {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.entries) == 0 {
		in.sleeping = true
		return nil
	}
	out := in.entries
	in.entries = spare[:0]
	return out
}

// close refuses further pushes and returns what is left.
func (in *incoming) close() []entry {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	out := in.entries
	in.entries = nil
	return out
}

// batcher turns added records and due retries into batches: a batch goes
// when it is full, when Linger has passed since its first record, or at
// once while someone waits for it (Flush, Close, Send at end of input,
// PutRecordBatch) or Add waits for room.
type batcher struct {
	p       *Producer
	builder batchBuilder
	pack    packer
	sizer   packSizer
	packing bool
}

// add adds one record or retried entry; false when the producer stopped
// while a batch waited for a worker (the entry is then settled).
func (b *batcher) add(e entry, retried bool) bool {
	if !b.packing || retried || len(e.parts) != 1 {
		return b.addEntry(e)
	}
	if !b.pack.fits(len(e.data)) && !b.addEntry(b.pack.take()) {
		b.p.giveUp([]entry{e}, b.p.stopReason(), "", "", false)
		return false
	}
	if b.pack.empty() {
		b.pack.target = b.sizer.target(time.Now(), b.p.stats.bytes.Load(), b.p.stats.delivered.Load())
	}
	b.pack.addEntry(e)
	if b.pack.full() {
		return b.addEntry(b.pack.take())
	}
	return true
}

// addEntry adds an entry to the open batch, sending the batch first if the
// entry does not fit and afterwards if it is full.
func (b *batcher) addEntry(e entry) bool {
	if !b.builder.fits(len(e.data)) && !b.p.emit(b.builder.take()) {
		b.p.giveUp([]entry{e}, b.p.stopReason(), "", "", false)
		return false
	}
	b.builder.add(e)
	if b.builder.full() {
		return b.p.emit(b.builder.take())
	}
	return true
}

// flush sends what is open, the open pack included.
func (b *batcher) flush() bool {
	if b.packing && !b.pack.empty() && !b.addEntry(b.pack.take()) {
		return false
	}
	return b.p.emit(b.builder.take())
}

func (b *batcher) pending() bool {
	return !b.builder.empty() || (b.packing && !b.pack.empty())
}

// drain settles everything open with reason.
func (b *batcher) drain(reason string) {
	var open []entry
	if b.packing && !b.pack.empty() {
		open = append(open, b.pack.take())
	}
	if bt := b.builder.take(); bt != nil {
		open = append(open, bt.entries...)
	}
	b.p.giveUp(open, reason, "", "", false)
}

// emit hands a batch to the workers; when the producer stops first it
// settles the batch instead and returns false.
func (p *Producer) emit(bt *batch) bool {
	if bt == nil {
		return true
	}
	p.batchesOut.Add(1)
	select {
	case p.work <- bt:
		return true
	case <-p.runCtx.Done():
		p.batchesOut.Add(-1)
		p.giveUp(bt.entries, p.stopReason(), "", "", false)
		return false
	}
}

// starved reports whether Add waits for room while no batch is out to free
// it: what is open must then go now, whatever Linger says. While batches
// are out, their settling frees room and batches keep filling.
func (p *Producer) starved() bool {
	return p.batchesOut.Load() == 0 && p.buffer.blocked()
}

// batchDone counts a batch back in; the last one out wakes the batcher if
// Add waits for room.
func (p *Producer) batchDone() {
	if p.batchesOut.Add(-1) == 0 && p.buffer.blocked() {
		p.requestFlush()
	}
}

// batchLoop is the batcher goroutine. When the producer stops it settles
// everything it holds, refuses further records and closes the work channel.
func (p *Producer) batchLoop() {
	defer close(p.work)
	cfg := p.cfg
	b := &batcher{
		p:       p,
		builder: newBatchBuilder(cfg.maxBatchRecords, cfg.maxBatchBytes, p.limiter),
		pack:    packer{target: cfg.packTarget},
		sizer:   packSizer{max: cfg.packTarget, maxRecords: int64(cfg.maxBufferedRecords), maxBytes: cfg.maxBufferedBytes},
		packing: cfg.packTarget > 0,
	}
	lingerTimer := time.NewTimer(time.Hour)
	lingerTimer.Stop()
	defer lingerTimer.Stop()
	var lingerC <-chan time.Time
	// settle sends the open batch now, or arms Linger for it.
	settle := func(now bool) bool {
		switch {
		case !b.pending():
			lingerTimer.Stop()
			lingerC = nil
			return true
		case now || p.flushing.Load() > 0 || (cfg.linger == 0 && p.filling.Load() == 0) || p.starved():
			lingerTimer.Stop()
			lingerC = nil
			return b.flush()
		case lingerC == nil:
			lingerTimer.Reset(cfg.linger)
			lingerC = lingerTimer.C
		}
		return true
	}
	// addAll adds entries; when the producer stops on one, the rest are
	// settled with it.
	addAll := func(entries []entry, retried bool) bool {
		for i := range entries {
			if !b.add(entries[i], retried) {
				p.giveUp(entries[i+1:], p.stopReason(), "", "", false)
				return false
			}
		}
		return true
	}
	var spare []entry
	// takeIncoming adds what was pushed, until nothing is: a push may land
	// between a wake-up and take.
	takeIncoming := func() bool {
		for {
			got := p.incoming.take(spare)
			if len(got) == 0 {
				return true
			}
			if !addAll(got, false) {
				return false
			}
			clear(got)
			spare = got
		}
	}
	ok := true
	for ok {
		select {
		case <-p.incoming.wake:
			ok = takeIncoming() && settle(false)
		case <-p.retry.notify:
			ok = addAll(p.retry.takeReady(), true) && settle(false)
		case <-lingerC:
			lingerC = nil
			if p.filling.Load() > 0 && !p.starved() {
				// A PutRecordBatch is still adding records it holds in
				// memory: its batches fill, and it flushes when done.
				lingerTimer.Reset(cfg.linger)
				lingerC = lingerTimer.C
				continue
			}
			// Records pushed before the timer fired go with the batch it
			// sends (select may pick the timer before their wake-up): a
			// PutRecordBatch that ended meanwhile would otherwise see its
			// first record sent alone and the rest in a second request.
			ok = takeIncoming() && b.flush()
		case <-p.flushReq:
			// Flush, a waiting call, or Add waiting for room while no batch
			// is out to free it: send what is open now, with what was
			// pushed before.
			ok = takeIncoming() && settle(p.flushing.Load() > 0 || p.starved())
		case <-p.runCtx.Done():
			ok = false
		}
	}
	// Stopped: settle what is open, waiting for a retry, or not yet taken.
	<-p.runCtx.Done()
	reason := p.stopReason()
	b.drain(reason)
	p.giveUp(p.retry.closeAndDrain(), reason, "", "", false)
	p.giveUp(p.incoming.close(), reason, "", "", false)
}
