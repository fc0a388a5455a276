// Package checkpoint remembers how far a run got through an input file, so
// that a run stopped by a signal, a crash or a fatal error can resume
// without losing a record and without sending again what was settled.
//
// The input file is the durable copy of the data; a [Checkpoint] only holds
// positions in it:
//
//   - the low watermark: every record before it is settled (delivered,
//     dead-lettered or rejected), and
//   - the records settled beyond the watermark, as ranges of record indexes,
//     so that a resume after a graceful stop sends nothing twice.
//
// A [Tracker] builds the checkpoint from per-record outcomes arriving in any
// order; a [Writer] saves it atomically about once a second and at the end
// (see [Save]); on the next run, [Load], [Identity.Verify] and
// [Checkpoint.Skipper] tell the reader where to start and what to skip.
//
// The checkpoint identifies its input (path, size, modification time and a
// SHA-256 of its first bytes): a checkpoint that does not match the file is
// refused with a [*MismatchError] naming what differs.
package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Version is the format version written in every checkpoint file. [Load]
// refuses other versions.
const Version = 1

// FingerprintBytes is how many bytes at the start of the input the
// fingerprint covers (64 KiB, or the whole file when it is shorter).
const FingerprintBytes = 64 << 10

// Position is a place in the input, between two records.
type Position struct {
	// Offset is the byte offset where reading resumes.
	Offset int64 `json:"offset"`
	// Record is the 1-based index of the next record (the reader's Seq).
	Record int64 `json:"record"`
	// Line is the 1-based line where reading resumes, for messages; 0 when
	// the reader does not count lines.
	Line int64 `json:"line"`
}

// Beginning returns the position of the first record of an input: offset 0,
// record 1, line 1.
func Beginning() Position { return Position{Offset: 0, Record: 1, Line: 1} }

// Range is a run of settled record indexes First..Last (inclusive), with
// the position just after Last, where the watermark moves once every record
// before First is settled too. In JSON it is the array
// [first, last, next offset, next line], to keep files with many gaps small.
type Range struct {
	First, Last int64
	// Next is the position just after record Last; Next.Record is Last+1.
	Next Position
}

// Len returns the number of records in the range.
func (r Range) Len() int64 { return r.Last - r.First + 1 }

// MarshalJSON writes the range as [first, last, next offset, next line].
func (r Range) MarshalJSON() ([]byte, error) {
	return json.Marshal([4]int64{r.First, r.Last, r.Next.Offset, r.Next.Line})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (r *Range) UnmarshalJSON(b []byte) error {
	var a []int64
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("settled range: %w", err)
	}
	if len(a) != 4 {
		return fmt.Errorf("settled range: want [first, last, next offset, next line], got %d numbers", len(a))
	}
	*r = Range{First: a[0], Last: a[1], Next: Position{Offset: a[2], Record: a[1] + 1, Line: a[3]}}
	return nil
}

// Checkpoint is the saved progress of one run over one input file.
type Checkpoint struct {
	// Version is the format version, [Version] when saved by this package.
	Version int `json:"version"`
	// Input identifies the input file the positions refer to.
	Input Identity `json:"input"`
	// Watermark is the low watermark: every record before it is settled.
	Watermark Position `json:"watermark"`
	// Settled lists the records settled beyond the watermark, sorted,
	// disjoint and not adjacent (adjacent runs are merged), each starting
	// after Watermark.Record. A resume skips them.
	Settled []Range `json:"settled,omitempty"`
	// Saved is when the checkpoint was taken (informational).
	Saved time.Time `json:"saved"`
}

// SettledCount returns how many records the checkpoint counts as settled:
// all before the watermark and those in Settled.
func (cp *Checkpoint) SettledCount() int64 {
	n := cp.Watermark.Record - 1
	for _, r := range cp.Settled {
		n += r.Len()
	}
	return n
}

// validate checks the invariants a Tracker relies on.
func (cp *Checkpoint) validate() error {
	if cp.Version != Version {
		return fmt.Errorf("unsupported checkpoint version %d (this build reads version %d)", cp.Version, Version)
	}
	w := cp.Watermark
	if w.Record < 1 || w.Offset < 0 || w.Line < 0 {
		return fmt.Errorf("invalid watermark %+v", w)
	}
	prev := Range{Last: w.Record, Next: w}
	for i, r := range cp.Settled {
		// The first range must leave a gap after the watermark (the record
		// at the watermark is unsettled by definition); later ones must
		// leave a gap after the one before, or they would have been merged.
		if r.First <= prev.Last || (i > 0 && r.First == prev.Last+1) || r.Last < r.First ||
			r.Next.Offset < prev.Next.Offset {
			return fmt.Errorf("settled range %d [%d..%d] is out of order", i, r.First, r.Last)
		}
		prev = r
	}
	return nil
}

// Identity identifies an input file, to refuse a checkpoint taken on a
// different file or on a file changed since.
type Identity struct {
	// Path is the input's path as given.
	Path string `json:"path"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// ModTime is the file's modification time.
	ModTime time.Time `json:"mod_time"`
	// Fingerprint is the hex SHA-256 of the first FingerprintLen bytes.
	Fingerprint string `json:"fingerprint"`
	// FingerprintLen is how many bytes Fingerprint covers: the smaller of
	// the file size and [FingerprintBytes].
	FingerprintLen int64 `json:"fingerprint_len"`
}

// Identify returns the identity of the regular file at path. Other files
// (FIFOs, devices, directories) have no stable identity: it fails for them,
// and such inputs get no checkpoint.
func Identify(path string) (Identity, error) {
	return identify(path, FingerprintBytes)
}

// identify fingerprints at most limit bytes.
func identify(path string, limit int64) (Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return Identity{}, fmt.Errorf("identify input: %w", err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return Identity{}, fmt.Errorf("identify input: %w", err)
	}
	if !st.Mode().IsRegular() {
		return Identity{}, fmt.Errorf("identify input %s: not a regular file (%s)", path, st.Mode().Type())
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, limit))
	if err != nil {
		return Identity{}, fmt.Errorf("identify input %s: %w", path, err)
	}
	return Identity{
		Path:           path,
		Size:           st.Size(),
		ModTime:        st.ModTime(),
		Fingerprint:    hex.EncodeToString(h.Sum(nil)),
		FingerprintLen: n,
	}, nil
}

// ErrMismatch is wrapped by every [*MismatchError].
var ErrMismatch = errors.New("checkpoint does not match the input file")

// MismatchError says how an input file differs from the one a checkpoint
// was taken on. It wraps [ErrMismatch].
type MismatchError struct {
	// Path is the input file's path.
	Path string
	// Differences lists what differs, each as "size 100 bytes, was 90".
	Differences []string
	// Appended is true when the file only grew: its first bytes are the
	// same and it is larger. See [Identity.Matches] for why that is still
	// refused by default.
	Appended bool
}

// Error names the file and every difference.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("checkpoint does not match the input file %s: %s", e.Path, strings.Join(e.Differences, "; "))
}

// Unwrap returns ErrMismatch.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Matches reports whether current (the file as it is now) is the file id
// was taken of, as nil or a [*MismatchError] listing every difference: size,
// modification time, first bytes. current must fingerprint as many bytes as
// id ([Identity.Verify] takes care of that); if it does not, the first bytes
// count as different.
//
// A file that only grew (same first bytes, larger size, later modification
// time) is refused too, with Appended set: the checkpoint's positions still
// hold for it, but the fingerprint covers only its first 64 KiB, so a file
// rewritten beyond them looks the same, and a last line that was cut short
// when the checkpoint was taken may have been completed since. A caller that
// knows its input is append-only may resume when Appended is true.
func (id Identity) Matches(current Identity) error {
	var diffs []string
	if current.Size != id.Size {
		diffs = append(diffs, fmt.Sprintf("size %d bytes, was %d", current.Size, id.Size))
	}
	if !current.ModTime.Equal(id.ModTime) {
		diffs = append(diffs, fmt.Sprintf("modified %s, was %s",
			current.ModTime.UTC().Format(time.RFC3339Nano), id.ModTime.UTC().Format(time.RFC3339Nano)))
	}
	samePrefix := current.FingerprintLen == id.FingerprintLen && current.Fingerprint == id.Fingerprint
	if !samePrefix {
		diffs = append(diffs, fmt.Sprintf("first %d bytes differ", id.FingerprintLen))
	}
	if diffs == nil {
		return nil
	}
	return &MismatchError{
		Path:        current.Path,
		Differences: diffs,
		Appended:    samePrefix && current.Size > id.Size && !current.ModTime.Before(id.ModTime),
	}
}

// Verify identifies the file at path as it is now, fingerprinting as many
// bytes as id did, and compares it with id as [Identity.Matches] does. It
// returns the current identity too.
func (id Identity) Verify(path string) (Identity, error) {
	cur, err := identify(path, id.FingerprintLen)
	if err != nil {
		return Identity{}, err
	}
	return cur, id.Matches(cur)
}

// DefaultPath returns where the checkpoint of input goes by default: the
// input's path without its extension, plus ".checkpoint.json"
// ("data/in.json" gives "data/in.checkpoint.json").
func DefaultPath(input string) string {
	dir, base := filepath.Split(input)
	if stem := strings.TrimSuffix(base, filepath.Ext(base)); stem != "" {
		base = stem
	}
	return dir + base + ".checkpoint.json"
}

// Load reads the checkpoint at path. A missing file is an error wrapping
// io/fs.ErrNotExist (test it with errors.Is): there is nothing to resume. A
// file that is not a valid checkpoint is an error naming path.
func Load(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	if err := cp.validate(); err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	return &cp, nil
}

// tempPrefix starts the names of the temporary files Save writes next to
// the checkpoint; os.CreateTemp adds a random suffix.
func tempPrefix(path string) string { return filepath.Base(path) + ".tmp-" }

// Save writes cp to path atomically: into a temporary file in the same
// directory, synced, renamed over path, and the directory synced, so that
// after a crash at any moment path holds either the old checkpoint or the
// new one, complete. cp.Version is set to [Version].
func Save(path string, cp *Checkpoint) error {
	return save(path, cp, nil)
}

// save is Save with a hook run after the temporary file is written and
// synced and before the rename; tests use it to "crash" there.
func save(path string, cp *Checkpoint, beforeRename func(tmp string) error) (err error) {
	c := *cp
	c.Version = Version
	b, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed && err != nil && !errors.Is(err, errCrash) {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	if beforeRename != nil {
		if err := beforeRename(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	return nil
}

// errCrash is what tests return from the beforeRename hook to leave the
// temporary file behind, as a crash would.
var errCrash = errors.New("simulated crash")

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Remove deletes the checkpoint at path and any temporary file a crashed
// Save left next to it. A missing checkpoint is not an error: a completed
// run calls Remove whether or not it ever saved.
func Remove(path string) error {
	var errs []error
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove checkpoint: %w", err))
	}
	dir := filepath.Dir(path)
	entries, _ := os.ReadDir(dir) // no directory: nothing left to clean
	prefix := tempPrefix(path)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove checkpoint: %w", err))
		}
	}
	return errors.Join(errs...)
}
