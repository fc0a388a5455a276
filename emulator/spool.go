package emulator

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// The spool is how a stream buffers: every accepted request is appended to
// the stream's spool file before it is answered, so a killed emulator loses
// nothing it acknowledged, and memory holds only the requests in flight.
// When the buffering hints say so, the spool becomes one object: its
// records are copied to a temporary file, renamed into place, and the spool
// is removed. A spool left behind by a killed emulator is delivered when
// the next one starts on the same data directory.
//
// A spool file is the magic line, a header, then one frame per request:
//
//	"FHSPOOL1\n" | u32 header length | header JSON
//	u32 payload length | u32 record count | u32 CRC-32C of the payload | payload
//
// where the payload is the request's accepted records back to back, which
// is what the object holds. Integers are little-endian. A frame cut short
// (the process died during the write) or failing its checksum (a machine
// crash without SyncWrites) ends the spool: it was never acknowledged.

const (
	spoolMagic       = "FHSPOOL1\n"
	spoolSuffix      = ".spool"
	frameHeaderSize  = 12
	maxFramePayload  = 16 << 20 // far above a 4 MiB batch: anything larger is damage
	maxSpoolHeader   = 64 << 10
	spoolWriteBuffer = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// spoolHeader makes a spool self-describing: it is delivered after a
// restart even if its stream's definition changed or is gone.
type spoolHeader struct {
	Stream string `json:"stream"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	First  int64  `json:"first"` // unix nanoseconds of the first record
}

// spool is one stream's buffer on disk. Its size fields are guarded by the
// stream's mu; syncMu guards synced and done.
type spool struct {
	path       string
	hdr        spoolHeader
	firstAt    time.Time
	f          *os.File // opened O_APPEND for writing; nil for a recovered spool
	headerSize int64
	fileSize   int64
	dataBytes  int64 // record bytes: the object's size
	count      int

	written atomic.Int64 // fileSize, readable without the stream's mu

	syncMu sync.Mutex
	synced int64
	done   bool
}

var spoolWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, spoolWriteBuffer) }}

// createSpool creates an empty spool in dir for records going to
// bucket/key. With sync it also syncs the directory entry.
func createSpool(dir string, hdr spoolHeader, sync bool) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("emulator: create spool dir: %w", err)
	}
	path := filepath.Join(dir, uuid.NewString()+spoolSuffix)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("emulator: create spool: %w", err)
	}
	meta, err := json.Marshal(hdr)
	if err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("emulator: encode spool header: %w", err)
	}
	head := make([]byte, 0, len(spoolMagic)+4+len(meta))
	head = append(head, spoolMagic...)
	head = binary.LittleEndian.AppendUint32(head, uint32(len(meta))) //nolint:gosec // a few hundred bytes
	head = append(head, meta...)
	if _, err := f.Write(head); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("emulator: write spool header: %w", err)
	}
	if sync {
		if err := syncDir(dir); err != nil {
			_ = f.Close()
			_ = os.Remove(path)
			return nil, err
		}
	}
	size := int64(len(head))
	sp := &spool{
		path: path, hdr: hdr, firstAt: time.Unix(0, hdr.First), f: f,
		headerSize: size, fileSize: size,
	}
	sp.written.Store(size)
	return sp, nil
}

// append writes the records whose outcome is outcomeOK as one frame and
// returns the spool's size after it. The bytes are in the kernel when it
// returns (a killed process keeps them); syncTo makes them survive a
// machine crash. On a failed write the frame is cut off again, so the
// spool holds only whole frames.
func (sp *spool) append(records [][]byte, outcomes []recordOutcome) (int64, error) {
	var payload, count int
	crc := uint32(0)
	for i, rec := range records {
		if outcomes[i] != outcomeOK {
			continue
		}
		payload += len(rec)
		count++
		crc = crc32.Update(crc, castagnoli, rec)
	}
	if count == 0 {
		return sp.fileSize, nil
	}
	var head [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(head[0:], uint32(payload)) // at most 4 MiB
	binary.LittleEndian.PutUint32(head[4:], uint32(count))   // at most 500
	binary.LittleEndian.PutUint32(head[8:], crc)
	bw := spoolWriters.Get().(*bufio.Writer)
	bw.Reset(sp.f)
	_, err := bw.Write(head[:])
	for i, rec := range records {
		if err != nil {
			break
		}
		if outcomes[i] == outcomeOK {
			_, err = bw.Write(rec)
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	spoolWriters.Put(bw)
	if err != nil {
		if terr := sp.f.Truncate(sp.fileSize); terr != nil {
			err = errors.Join(err, terr)
		}
		return sp.fileSize, fmt.Errorf("emulator: append to spool %s: %w", sp.path, err)
	}
	sp.fileSize += int64(frameHeaderSize + payload)
	sp.dataBytes += int64(payload)
	sp.count += count
	sp.written.Store(sp.fileSize)
	return sp.fileSize, nil
}

// syncTo makes the spool durable up to offset end: concurrent callers share
// one fsync (group commit). A spool already delivered needs none.
func (sp *spool) syncTo(end int64) error {
	sp.syncMu.Lock()
	defer sp.syncMu.Unlock()
	if sp.done || sp.synced >= end {
		return nil
	}
	// The fsync covers everything written before it, not only end.
	target := sp.written.Load()
	if err := sp.f.Sync(); err != nil {
		return fmt.Errorf("emulator: sync spool: %w", err)
	}
	sp.synced = max(target, end)
	return nil
}

// finish closes the spool's file and removes it, once its records are in
// an object.
func (sp *spool) finish() error {
	sp.syncMu.Lock()
	sp.done = true
	var err error
	if sp.f != nil {
		err = sp.f.Close()
		sp.f = nil
	}
	sp.syncMu.Unlock()
	if rerr := os.Remove(sp.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("emulator: remove delivered spool: %w", err)
	}
	return nil
}

// absorb appends other's frames to sp and removes other: a spool whose
// delivery failed takes back the records accepted meanwhile, so they go
// out together, in order. With sync the copy is fsynced before other is
// removed, since requests acknowledged into other count on it.
func (sp *spool) absorb(other *spool, sync bool) error {
	src, err := os.Open(other.path)
	if err != nil {
		return fmt.Errorf("emulator: reopen spool: %w", err)
	}
	defer src.Close()
	if _, err := src.Seek(other.headerSize, io.SeekStart); err != nil {
		return fmt.Errorf("emulator: seek spool: %w", err)
	}
	n, err := io.Copy(sp.f, io.LimitReader(src, other.fileSize-other.headerSize))
	if err == nil && n != other.fileSize-other.headerSize {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		if terr := sp.f.Truncate(sp.fileSize); terr != nil {
			err = errors.Join(err, terr)
		}
		return fmt.Errorf("emulator: merge spools: %w", err)
	}
	sp.fileSize += n
	sp.written.Store(sp.fileSize)
	sp.dataBytes += other.dataBytes
	sp.count += other.count
	if sync {
		if err := sp.syncTo(sp.fileSize); err != nil {
			return err
		}
	}
	return other.finish()
}

// readSpoolHeader reads the magic line and header of a spool.
func readSpoolHeader(r io.Reader) (spoolHeader, int64, error) {
	var hdr spoolHeader
	var head [len(spoolMagic) + 4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return hdr, 0, fmt.Errorf("spool header: %w", err)
	}
	if string(head[:len(spoolMagic)]) != spoolMagic {
		return hdr, 0, errors.New("not a spool file")
	}
	n := binary.LittleEndian.Uint32(head[len(spoolMagic):])
	if n > maxSpoolHeader {
		return hdr, 0, fmt.Errorf("spool header of %d bytes", n)
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(r, meta); err != nil {
		return hdr, 0, fmt.Errorf("spool header: %w", err)
	}
	if err := json.Unmarshal(meta, &hdr); err != nil {
		return hdr, 0, fmt.Errorf("spool header: %w", err)
	}
	return hdr, int64(len(head)) + int64(n), nil
}

// copiedFrames sums up what copyFrames wrote.
type copiedFrames struct {
	records int
	bytes   int64
	damaged bool // a frame was cut short or failed its checksum; it and what follows were dropped
}

// copyFrames copies the records of the frames read from r to out, up to the
// first damaged frame, and leaves out holding exactly the whole frames'
// records.
func copyFrames(r io.Reader, out *os.File) (copiedFrames, error) {
	var res copiedFrames
	br := bufio.NewReaderSize(r, spoolWriteBuffer)
	bw := bufio.NewWriterSize(out, spoolWriteBuffer)
	crc := crc32.New(castagnoli)
	dst := io.MultiWriter(bw, crc)
	for {
		var head [frameHeaderSize]byte
		if _, err := io.ReadFull(br, head[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				res.damaged = true
			} else if !errors.Is(err, io.EOF) {
				return res, fmt.Errorf("read spool: %w", err)
			}
			break
		}
		n := binary.LittleEndian.Uint32(head[0:])
		count := binary.LittleEndian.Uint32(head[4:])
		want := binary.LittleEndian.Uint32(head[8:])
		if n > maxFramePayload || count == 0 || count > maxBatchRecords {
			res.damaged = true
			break
		}
		crc.Reset()
		copied, err := io.CopyN(dst, br, int64(n))
		if err != nil {
			if errors.Is(err, io.EOF) {
				res.damaged = true
				break
			}
			return res, fmt.Errorf("copy spool: %w", err)
		}
		if crc.Sum32() != want {
			res.damaged = true
			break
		}
		res.bytes += copied
		res.records += int(count)
	}
	if err := bw.Flush(); err != nil {
		return res, fmt.Errorf("write object: %w", err)
	}
	if res.damaged {
		// Drop the records of the damaged frame that were copied already.
		if err := out.Truncate(res.bytes); err != nil {
			return res, fmt.Errorf("truncate object: %w", err)
		}
	}
	return res, nil
}

// objectPath is where key of bucket lives under dataDir; an error if it
// would leave the bucket directory.
func objectPath(dataDir, bucket, key string) (string, error) {
	bucketDir := filepath.Join(dataDir, bucket)
	final := filepath.Join(bucketDir, filepath.FromSlash(key))
	if rel, err := filepath.Rel(bucketDir, final); err != nil || !filepath.IsLocal(rel) || strings.ContainsRune(key, 0) {
		return "", fmt.Errorf("emulator: object key leaves the bucket directory: %s", final)
	}
	return final, nil
}

// deliverSpool writes the records of the spool at path to their object
// under dataDir, through a temporary file and a rename, so readers never
// see part of an object and delivering the same spool twice (a crash
// between the rename and the spool's removal) writes the same object
// again. The spool itself is left in place.
func deliverSpool(dataDir, path string, hdr spoolHeader, headerSize int64, sync bool) (copiedFrames, error) {
	final, err := objectPath(dataDir, hdr.Bucket, hdr.Key)
	if err != nil {
		return copiedFrames{}, err
	}
	src, err := os.Open(path)
	if err != nil {
		return copiedFrames{}, fmt.Errorf("emulator: open spool: %w", err)
	}
	defer src.Close()
	if _, err := src.Seek(headerSize, io.SeekStart); err != nil {
		return copiedFrames{}, fmt.Errorf("emulator: seek spool: %w", err)
	}
	tmpDir := filepath.Join(dataDir, ".tmp")
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		return copiedFrames{}, fmt.Errorf("emulator: create temp dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return copiedFrames{}, fmt.Errorf("emulator: create object dir: %w", err)
	}
	f, err := os.CreateTemp(tmpDir, "part-*")
	if err != nil {
		return copiedFrames{}, fmt.Errorf("emulator: create temp file: %w", err)
	}
	tmp := f.Name()
	res, werr := copyFrames(src, f)
	var serr error
	if sync && werr == nil {
		serr = f.Sync()
	}
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return res, fmt.Errorf("emulator: write %s: %w", tmp, err)
	}
	if res.records == 0 {
		_ = os.Remove(tmp)
		return res, nil
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return res, fmt.Errorf("emulator: rename into %s: %w", final, err)
	}
	if sync {
		if err := syncDir(filepath.Dir(final)); err != nil {
			return res, err
		}
	}
	return res, nil
}

// syncDir fsyncs a directory, making the entries created in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("emulator: sync dir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("emulator: sync dir %s: %w", dir, err)
	}
	return nil
}

// recoverSpools delivers the spools a previous emulator left in dir, the
// records it acknowledged but had not yet written as objects. A spool that
// cannot be delivered stays for the next start, and is reported.
func (s *Server) recoverSpools(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: read spool dir: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), spoolSuffix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := s.recoverSpool(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Server) recoverSpool(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	hdr, headerSize, err := readSpoolHeader(f)
	_ = f.Close()
	if err != nil {
		// Cut short while its header was written: nothing in it was
		// ever acknowledged.
		s.log.Warn("emulator: dropping an unreadable spool", slog.String("path", path), slog.Any("error", err))
		return os.Remove(path)
	}
	res, err := deliverSpool(s.cfg.dataDir, path, hdr, headerSize, s.cfg.syncWrites)
	if err != nil {
		return err
	}
	if st, ok := s.lookupStream(hdr.Stream); ok && res.records > 0 {
		st.deliveredMetrics(res, time.Unix(0, hdr.First))
	}
	s.log.Info("emulator: delivered records left by a previous run", slog.String("stream", hdr.Stream),
		slog.String("key", hdr.Key), slog.Int("records", res.records), slog.Bool("damaged_tail_dropped", res.damaged))
	return os.Remove(path)
}
