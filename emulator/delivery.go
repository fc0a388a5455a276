package emulator

import (
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// destination is a stream's S3 destination, as created or last changed by
// UpdateDestination.
type destination struct {
	extended          bool
	roleARN           string
	bucketARN         string
	bucket            string
	prefix            string
	errorOutputPrefix string
	sizeInMBs         int
	intervalInSeconds int
	compressionFormat string
}

// stream is one delivery stream: its description, its quotas and its spool.
type stream struct {
	name      string
	arn       string
	typ       string
	createdAt time.Time
	dest      destination
	dims      []dimension
	quota     *streamQuota // nil when quotas are off

	dataDir  string
	spoolDir string
	sync     bool // fsync what is acknowledged (SyncWrites)
	now      func() time.Time
	metrics  *metricStore
	log      *slog.Logger

	// mu guards dest, the spool, closed, tags and state; a put holds it from the quota
	// decision to the append so Close never misses an accepted record.
	mu     sync.Mutex
	cur    *spool // nil while nothing is buffered
	closed bool
	tags   map[string]string
	state  streamState // version, status, encryption (firehose_manage.go)

	encrypted atomic.Bool // the Encrypted field of put answers

	// writeMu serialises deliveries. It is taken while mu is still held
	// (order mu → writeMu), so a Flush that starts after a swap waits for
	// that swap's object to be on disk.
	writeMu sync.Mutex
}

func (st *stream) sizeLimit() int64 { return int64(st.dest.sizeInMBs) << 20 }

// appendLocked writes the accepted records (outcome outcomeOK) of one
// request to the spool, creating it for the first record; the caller holds
// st.mu and must call flushAfterAppendLocked. It returns the spool and its
// size after the append, for syncTo.
func (st *stream) appendLocked(now time.Time, records [][]byte, outcomes []recordOutcome) (*spool, int64, error) {
	if st.cur == nil {
		hdr := spoolHeader{Stream: st.name, Bucket: st.dest.bucket, Key: st.objectKey(now), First: now.UnixNano()}
		sp, err := createSpool(st.spoolDir, hdr, st.sync)
		if err != nil {
			return nil, 0, err
		}
		st.cur = sp
	}
	sp := st.cur
	end, err := sp.append(records, outcomes)
	return sp, end, err
}

// takeLocked swaps the spool out; the caller holds st.mu.
func (st *stream) takeLocked() *spool {
	sp := st.cur
	st.cur = nil
	return sp
}

// writeTakenLocked delivers sp and unlocks st.mu; the caller holds st.mu.
// If the delivery fails the spool becomes the stream's spool again, with
// the records accepted meanwhile appended, so the next delivery writes
// them all in order.
func (st *stream) writeTakenLocked(sp *spool) error {
	if sp == nil || sp.count == 0 {
		if sp != nil {
			st.cur = sp
		}
		// Nothing to write here, but another goroutine may be writing the
		// spool it swapped out: wait for it, so that a Flush returns only
		// once everything accepted before it is on disk.
		st.writeMu.Lock()
		st.mu.Unlock()
		st.writeMu.Unlock()
		return nil
	}
	st.writeMu.Lock()
	st.mu.Unlock()
	err := st.deliver(sp)
	st.writeMu.Unlock()
	if err == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cur != nil {
		if aerr := sp.absorb(st.cur, st.sync); aerr != nil {
			// Both spools stay on disk; the one out of the stream's hands
			// is delivered by the next start on this data directory.
			st.log.Error("emulator: keep a spool for the next start", slog.String("stream", st.name),
				slog.String("path", sp.path), slog.Any("error", aerr))
			return err
		}
	}
	st.cur = sp
	return err
}

// deliver writes sp as one object and removes it.
func (st *stream) deliver(sp *spool) error {
	res, err := deliverSpool(st.dataDir, sp.path, sp.hdr, sp.headerSize, st.sync)
	if err != nil {
		return err
	}
	st.deliveredMetrics(res, sp.firstAt)
	st.log.Debug("emulator: delivered object", slog.String("stream", st.name), slog.String("key", sp.hdr.Key),
		slog.Int("records", res.records), slog.Int64("bytes", res.bytes))
	if res.damaged {
		st.log.Error("emulator: spool damaged, its tail was dropped", slog.String("stream", st.name), slog.String("path", sp.path))
	}
	return sp.finish()
}

func (st *stream) deliveredMetrics(res copiedFrames, firstAt time.Time) {
	now := st.now()
	st.metrics.put(namespaceFirehose, st.dims, now,
		sample{name: "DeliveryToS3.Records", value: float64(res.records), unit: unitCount},
		sample{name: "DeliveryToS3.Bytes", value: float64(res.bytes), unit: unitBytes},
		sample{name: "DeliveryToS3.Success", value: 1, unit: unitCount},
		sample{name: "DeliveryToS3.DataFreshness", value: max(0, now.Sub(firstAt).Seconds()), unit: unitSeconds},
	)
}

// flush writes the spool now; with closing it also refuses later puts.
func (st *stream) flush(closing bool) error {
	st.mu.Lock()
	if closing {
		st.closed = true
	}
	return st.writeTakenLocked(st.takeLocked())
}

// flushIfDue writes the spool if its IntervalInSeconds has passed.
func (st *stream) flushIfDue(now time.Time) error {
	st.mu.Lock()
	if st.cur == nil || st.cur.count == 0 || now.Sub(st.cur.firstAt) < time.Duration(st.dest.intervalInSeconds)*time.Second {
		st.mu.Unlock()
		return nil
	}
	return st.writeTakenLocked(st.takeLocked())
}

// flushAfterAppendLocked writes the spool if it is full or the stream does
// not buffer (IntervalInSeconds 0), and unlocks st.mu in every case.
func (st *stream) flushAfterAppendLocked() {
	if st.cur == nil || st.cur.count == 0 || (st.cur.dataBytes < st.sizeLimit() && st.dest.intervalInSeconds > 0) {
		st.mu.Unlock()
		return
	}
	if err := st.writeTakenLocked(st.takeLocked()); err != nil {
		st.log.Error("emulator: write buffer", slog.String("stream", st.name), slog.Any("error", err))
	}
}

// objectKey is the S3 key of an object whose first record arrived at t;
// the caller holds st.mu. It is chosen when the spool is created and kept
// in its header, so an object delivered after a restart has the same key,
// version id included, as it would have had without one.
func (st *stream) objectKey(t time.Time) string {
	t = t.UTC()
	return st.dest.prefix + t.Format("2006/01/02/15/") + st.name + "-" + strconv.Itoa(st.state.version) + "-" + t.Format("2006-01-02-15-04-05") + "-" + uuid.NewString()
}
