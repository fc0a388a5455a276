package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// destination is a stream's S3 destination as created.
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

// stream is one delivery stream: its description, its quotas and its buffer.
type stream struct {
	name      string
	arn       string
	typ       string
	createdAt time.Time
	dest      destination
	dims      []dimension
	quota     *streamQuota // nil when quotas are off

	dataDir string
	now     func() time.Time
	metrics *metricStore
	log     *slog.Logger

	// mu guards the buffer and closed; a put holds it from the quota
	// decision to the append so Close never misses an accepted record.
	mu      sync.Mutex
	buf     recordBuffer
	count   int
	firstAt time.Time
	closed  bool
	tags    map[string]string
	state   streamState // version, status, encryption (firehose_manage.go)

	encrypted atomic.Bool // the Encrypted field of put answers

	// writeMu serialises file writes. It is taken while mu is still held
	// (order mu → writeMu), so a Flush that starts after a swap waits for
	// that swap's file to be on disk.
	writeMu sync.Mutex
}

func (st *stream) sizeLimit() int { return st.dest.sizeInMBs << 20 }

// pendingFile is a swapped-out buffer on its way to disk.
type pendingFile struct {
	data    recordBuffer
	count   int
	firstAt time.Time
}

// takeLocked swaps the buffer out; the caller holds st.mu.
func (st *stream) takeLocked() pendingFile {
	p := pendingFile{data: st.buf, count: st.count, firstAt: st.firstAt}
	st.buf = recordBuffer{}
	st.count = 0
	st.firstAt = time.Time{}
	return p
}

// writeTakenLocked writes p and unlocks st.mu; the caller holds st.mu.
func (st *stream) writeTakenLocked(p pendingFile) error {
	st.writeMu.Lock()
	st.mu.Unlock()
	err := st.writeFile(&p)
	st.writeMu.Unlock()
	if err == nil {
		p.data.release()
	} else {
		// Keep the records: they go out with the next write.
		st.mu.Lock()
		p.data.appendBuffer(&st.buf)
		st.buf.release()
		st.buf = p.data
		st.count += p.count
		if st.firstAt.IsZero() || p.firstAt.Before(st.firstAt) {
			st.firstAt = p.firstAt
		}
		st.mu.Unlock()
	}
	return err
}

// flush writes the buffer now; with closing it also refuses later puts.
func (st *stream) flush(closing bool) error {
	st.mu.Lock()
	if closing {
		st.closed = true
	}
	return st.writeTakenLocked(st.takeLocked())
}

// flushIfDue writes the buffer if its IntervalInSeconds has passed.
func (st *stream) flushIfDue(now time.Time) error {
	st.mu.Lock()
	if st.count == 0 || now.Sub(st.firstAt) < time.Duration(st.dest.intervalInSeconds)*time.Second {
		st.mu.Unlock()
		return nil
	}
	return st.writeTakenLocked(st.takeLocked())
}

// appendLocked adds accepted records to the buffer; the caller holds st.mu
// and must call flushAfterAppendLocked.
func (st *stream) appendLocked(now time.Time, data []byte) {
	if st.count == 0 {
		st.firstAt = now
	}
	_, _ = st.buf.Write(data)
	st.count++
}

// flushAfterAppendLocked writes the buffer if it is full or the stream does
// not buffer (IntervalInSeconds 0), and unlocks st.mu in every case.
func (st *stream) flushAfterAppendLocked() {
	if st.count == 0 || (st.buf.Len() < st.sizeLimit() && st.dest.intervalInSeconds > 0) {
		st.mu.Unlock()
		return
	}
	if err := st.writeTakenLocked(st.takeLocked()); err != nil {
		st.log.Error("emulator: write buffer", slog.String("stream", st.name), slog.Any("error", err))
	}
}

// objectKey is the S3 key of a file whose first record arrived at t.
func (st *stream) objectKey(t time.Time) string {
	t = t.UTC()
	return st.dest.prefix + t.Format("2006/01/02/15/") + st.name + "-" + strconv.Itoa(st.state.version) + "-" + t.Format("2006-01-02-15-04-05") + "-" + uuid.NewString()
}

// writeFile writes p to DIR/<bucket>/<key> through a temporary file and a
// rename, so readers never see part of a file.
func (st *stream) writeFile(p *pendingFile) error {
	if p.count == 0 {
		return nil
	}
	bucketDir := filepath.Join(st.dataDir, st.dest.bucket)
	final := filepath.Join(bucketDir, filepath.FromSlash(st.objectKey(p.firstAt)))
	if rel, err := filepath.Rel(bucketDir, final); err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("emulator: object key leaves the bucket directory: %s", final)
	}
	tmpDir := filepath.Join(st.dataDir, ".tmp")
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		return fmt.Errorf("emulator: create temp dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return fmt.Errorf("emulator: create object dir: %w", err)
	}
	f, err := os.CreateTemp(tmpDir, "part-*")
	if err != nil {
		return fmt.Errorf("emulator: create temp file: %w", err)
	}
	tmp := f.Name()
	_, werr := p.data.WriteTo(f)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("emulator: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("emulator: rename into %s: %w", final, err)
	}
	now := st.now()
	st.metrics.put(namespaceFirehose, st.dims, now,
		sample{name: "DeliveryToS3.Records", value: float64(p.count), unit: unitCount},
		sample{name: "DeliveryToS3.Bytes", value: float64(p.data.Len()), unit: unitBytes},
		sample{name: "DeliveryToS3.Success", value: 1, unit: unitCount},
		sample{name: "DeliveryToS3.DataFreshness", value: max(0, now.Sub(p.firstAt).Seconds()), unit: unitSeconds},
	)
	st.log.Debug("emulator: delivered file", slog.String("stream", st.name), slog.String("path", final),
		slog.Int("records", p.count), slog.Int("bytes", p.data.Len()))
	return nil
}
