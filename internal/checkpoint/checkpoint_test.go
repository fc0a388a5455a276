package checkpoint

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func lines(n int) []byte {
	var b strings.Builder
	for i := range n {
		b.WriteString(`{"n":`)
		b.WriteString(strings.Repeat("7", i%13+1))
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

func TestVerify(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	big := lines(10_000) // over FingerprintBytes
	small := lines(20)
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name         string
		before       []byte
		after        []byte
		mtime        time.Time
		wantDiffs    []string // substrings, in order; none = match
		wantAppended bool
	}{
		{name: "same file", before: big, after: big, mtime: t0},
		{name: "touched", before: big, after: big, mtime: t0.Add(time.Second), wantDiffs: []string{"modified 2026-05-01T12:00:01Z, was 2026-05-01T12:00:00Z"}},
		{name: "first bytes changed", before: big, after: flip(big, 100), mtime: t0, wantDiffs: []string{"first 65536 bytes differ"}},
		{name: "changed after the fingerprint", before: big, after: flip(big, len(big)-5), mtime: t0.Add(time.Minute), wantDiffs: []string{"modified"}},
		{
			name: "truncated", before: big, after: big[:1000], mtime: t0.Add(time.Minute),
			wantDiffs: []string{"size 1000 bytes, was " + itoa(len(big)), "modified", "first 65536 bytes differ"},
		},
		{
			name: "big file appended to", before: big, after: append(append([]byte(nil), big...), small...), mtime: t0.Add(time.Minute),
			wantDiffs: []string{"size", "modified"}, wantAppended: true,
		},
		{
			name: "small file appended to", before: small, after: append(append([]byte(nil), small...), big...), mtime: t0.Add(time.Minute),
			wantDiffs: []string{"size", "modified"}, wantAppended: true,
		},
		{
			name: "small file rewritten larger", before: small, after: append(flip(small, 3), big...), mtime: t0.Add(time.Minute),
			wantDiffs: []string{"size", "modified", "first " + itoa(len(small)) + " bytes differ"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "in.json")
			writeFile(t, path, tt.before, t0)
			saved, err := Identify(path)
			if err != nil {
				t.Fatal(err)
			}
			if saved.Size != int64(len(tt.before)) || saved.FingerprintLen != min(saved.Size, FingerprintBytes) {
				t.Fatalf("identity %+v for %d bytes", saved, len(tt.before))
			}
			writeFile(t, path, tt.after, tt.mtime)
			_, err = saved.Verify(path)
			if len(tt.wantDiffs) == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var mm *MismatchError
			if !errors.As(err, &mm) || !errors.Is(err, ErrMismatch) {
				t.Fatalf("Verify: %v, want a *MismatchError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("message %q does not name %s", msg, path)
			}
			if len(mm.Differences) != len(tt.wantDiffs) {
				t.Fatalf("differences %q, want %d like %q", mm.Differences, len(tt.wantDiffs), tt.wantDiffs)
			}
			for i, want := range tt.wantDiffs {
				if !strings.Contains(mm.Differences[i], want) {
					t.Errorf("difference %d is %q, want it to contain %q", i, mm.Differences[i], want)
				}
			}
			if mm.Appended != tt.wantAppended {
				t.Errorf("Appended = %v, want %v", mm.Appended, tt.wantAppended)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestIdentifyRefusesNonRegular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Identify(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Identify(dir) = %v, want a not-regular-file error", err)
	}
	if _, err := Identify(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Identify(missing) = %v, want fs.ErrNotExist", err)
	}
}

func sampleCheckpoint(t *testing.T, dir string) *Checkpoint {
	t.Helper()
	in := filepath.Join(dir, "in.json")
	writeFile(t, in, lines(50), time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	id, err := Identify(in)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(id, Beginning())
	settleAll(t, tr, 1, 2, 3, 5, 6, 9)
	return tr.Snapshot()
}

func TestSaveLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cp := sampleCheckpoint(t, dir)
	path := filepath.Join(dir, "in.checkpoint.json")
	if err := Save(path, cp); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != Version || got.Watermark != cp.Watermark || !got.Input.ModTime.Equal(cp.Input.ModTime) ||
		got.Input.Fingerprint != cp.Input.Fingerprint || got.Input.Size != cp.Input.Size || got.Input.Path != cp.Input.Path {
		t.Fatalf("loaded %+v, saved %+v", got, cp)
	}
	if s := spans(got.Settled); len(s) != 2 || s[0] != [2]int64{5, 6} || s[1] != [2]int64{9, 9} {
		t.Fatalf("loaded ranges %v", s)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"version":1`) {
		t.Errorf("file has no version 1: %s", raw)
	}
	if _, err := got.Input.Verify(got.Input.Path); err != nil {
		t.Errorf("the unchanged input does not verify: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries after Save, want the input and the checkpoint", len(entries))
	}
}

// TestSaveCrash: a crash after the temporary file is written (fully or in
// part) and before the rename leaves the old checkpoint loadable, and
// Remove cleans up what the crash left.
func TestSaveCrash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		crash func(tmp string) error
	}{
		{name: "before rename", crash: func(string) error { return errCrash }},
		{name: "half written", crash: func(tmp string) error {
			b, err := os.ReadFile(tmp)
			if err != nil {
				return err
			}
			if err := os.WriteFile(tmp, b[:len(b)/2], 0o600); err != nil {
				return err
			}
			return errCrash
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			old := sampleCheckpoint(t, dir)
			path := filepath.Join(dir, "in.checkpoint.json")
			if err := Save(path, old); err != nil {
				t.Fatal(err)
			}
			next := *old
			next.Watermark = after(20)
			next.Settled = nil
			if err := save(path, &next, tt.crash); !errors.Is(err, errCrash) {
				t.Fatalf("save = %v, want the simulated crash", err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatalf("Load after the crash: %v", err)
			}
			if got.Watermark != old.Watermark {
				t.Fatalf("watermark %+v after the crash, want the old %+v", got.Watermark, old.Watermark)
			}
			leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*"))
			if len(leftovers) != 1 {
				t.Fatalf("%d temporary files after the crash, want the one it left: %v", len(leftovers), leftovers)
			}
			// The next save succeeds over the debris, and Remove clears all.
			if err := Save(path, &next); err != nil {
				t.Fatal(err)
			}
			if got, err := Load(path); err != nil || got.Watermark != next.Watermark {
				t.Fatalf("Load after a good save: %+v, %v", got, err)
			}
			if err := Remove(path); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || entries[0].Name() != "in.json" {
				t.Fatalf("after Remove the directory holds %v, want only in.json", entries)
			}
			if err := Remove(path); err != nil {
				t.Fatalf("Remove of a missing checkpoint: %v", err)
			}
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	id := `"input":{"path":"in.json","size":10,"mod_time":"2026-05-01T12:00:00Z","fingerprint":"00","fingerprint_len":10}`
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{name: "not json", content: "{", want: "unexpected end"},
		{name: "other version", content: `{"version":2,` + id + `,"watermark":{"offset":0,"record":1,"line":1}}`, want: "unsupported checkpoint version 2"},
		{name: "no watermark", content: `{"version":1,` + id + `}`, want: "invalid watermark"},
		{name: "range at the watermark", content: `{"version":1,` + id + `,"watermark":{"offset":0,"record":3,"line":1},"settled":[[3,4,50,5]]}`, want: "out of order"},
		{name: "adjacent ranges", content: `{"version":1,` + id + `,"watermark":{"offset":0,"record":1,"line":1},"settled":[[3,4,50,5],[5,6,70,7]]}`, want: "out of order"},
		{name: "short range", content: `{"version":1,` + id + `,"watermark":{"offset":0,"record":1,"line":1},"settled":[[3,4]]}`, want: "got 2 numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "x.checkpoint.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load = %v, want an error naming %s and containing %q", err, path, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"data.json":         "data.checkpoint.json",
		"dir/in.ndjson":     "dir/in.checkpoint.json",
		"dir.v2/in":         "dir.v2/in.checkpoint.json",
		"/abs/a.b.json":     "/abs/a.b.checkpoint.json",
		".hidden":           ".hidden.checkpoint.json",
		"replay.deadletter": "replay.checkpoint.json",
	}
	for in, want := range tests {
		if got := DefaultPath(in); got != want {
			t.Errorf("DefaultPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzLoad: whatever the file holds, Load returns a checkpoint that
// validates and survives a save and a load unchanged, or an error; it never
// panics.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"version":1,"input":{"path":"in.json","size":10,"mod_time":"2026-05-01T12:00:00Z","fingerprint":"00","fingerprint_len":10},"watermark":{"offset":4,"record":3,"line":3},"settled":[[5,6,70,7]]}`))
	f.Add([]byte(`{"version":1,"watermark":{"offset":0,"record":1,"line":1},"settled":[[3,4,50,5],[7,7,90,9]]}`))
	f.Add([]byte(`{"settled":[[1,2]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cp, err := Load(path)
		if err != nil {
			return
		}
		if err := cp.validate(); err != nil {
			t.Fatalf("Load returned an invalid checkpoint: %v", err)
		}
		if err := Save(path, cp); err != nil {
			t.Fatal(err)
		}
		again, err := Load(path)
		if err != nil {
			t.Fatalf("a saved checkpoint does not load: %v", err)
		}
		if again.Watermark != cp.Watermark || !slices.Equal(again.Settled, cp.Settled) || again.SettledCount() != cp.SettledCount() {
			t.Fatalf("round trip changed %+v into %+v", cp, again)
		}
	})
}

// TestSaveLoadWithoutLines: a reader that does not count lines passes
// Line 0; what the tracker makes of that still saves and loads.
func TestSaveLoadWithoutLines(t *testing.T) {
	t.Parallel()
	tr := NewTracker(Identity{Path: "in"}, Position{Offset: 0, Record: 1})
	for _, r := range []int64{1, 3, 5, 6} {
		tr.Settled(r, Position{Offset: 100 * r})
	}
	path := filepath.Join(t.TempDir(), "in.checkpoint.json")
	if err := Save(path, tr.Snapshot()); err != nil {
		t.Fatal(err)
	}
	cp, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cp.Watermark != (Position{Offset: 100, Record: 2}) || !slices.Equal(spans(cp.Settled), [][2]int64{{3, 3}, {5, 6}}) {
		t.Fatalf("loaded %+v", cp)
	}
}
