package records

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// hugeReader yields prefix, then n copies of fill, then suffix, without ever
// holding the n bytes: a 500 MB line costs the test no memory.
type hugeReader struct {
	prefix, suffix string
	n              int64
	chunk          []byte
}

// newHugeReader repeats fill (whose length must divide 32 KiB's multiples
// evenly: 1, 2, 4 or 8 bytes) to n bytes.
func newHugeReader(prefix, fill string, n int64, suffix string) *hugeReader {
	chunk := []byte(strings.Repeat(fill, (32<<10)/len(fill)))
	return &hugeReader{prefix: prefix, suffix: suffix, n: n, chunk: chunk}
}

func (h *hugeReader) Read(p []byte) (int, error) {
	switch {
	case h.prefix != "":
		n := copy(p, h.prefix)
		h.prefix = h.prefix[n:]
		return n, nil
	case h.n > 0:
		n := copy(p[:min(int64(len(p)), h.n)], h.chunk)
		h.n -= int64(n)
		return n, nil
	case h.suffix != "":
		n := copy(p, h.suffix)
		h.suffix = h.suffix[n:]
		return n, nil
	}
	return 0, io.EOF
}

// TestHugeRecordBoundedMemory: a record of hundreds of megabytes is skipped
// as it is read and rejected as too large with its position, the records
// around it are read, and the reader allocates a few MiB in all.
func TestHugeRecordBoundedMemory(t *testing.T) {
	lineSize := int64(500 << 20)
	elemSize := int64(64 << 20)
	if testing.Short() || raceEnabled {
		lineSize, elemSize = 50<<20, 16<<20 // the race detector slows byte loops
	}
	tests := []struct {
		name     string
		format   Format
		prefix   string
		fill     string
		size     int64
		suffix   string
		want     []string // the good records, in order
		bigLine  int64
		bigStart int64
	}{
		{
			name: "ndjson line", format: FormatAuto, prefix: "{\"a\":1}\n{\"big\":\"", fill: "x", size: lineSize,
			suffix: "\"}\n{\"a\":3}\n", want: []string{`{"a":1}`, `{"a":3}`}, bigLine: 2, bigStart: 8,
		},
		{
			name: "text line", format: FormatText, prefix: "first\r\n", fill: "y", size: lineSize,
			suffix: "\r\nlast", want: []string{"first", "last"}, bigLine: 2, bigStart: 7,
		},
		{
			name: "json array element", format: FormatAuto, prefix: "[\n{\"a\":1},\n\"", fill: "z", size: elemSize,
			suffix: "\",\n{\"a\":3}\n]\n", want: []string{`{"a":1}`, `{"a":3}`}, bigLine: 3, bigStart: 11,
		},
		{
			name: "json array element with white space", format: FormatJSON, prefix: "[\n{\"a\":1},\n[", fill: "1,  ", size: elemSize,
			suffix: "1],\n{\"a\":3}\n]\n", want: []string{`{"a":1}`, `{"a":3}`}, bigLine: 3, bigStart: 11,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := newHugeReader(tc.prefix, tc.fill, tc.size, tc.suffix)
			r := newReader(t, in, "huge", InputFormat(tc.format))
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var good []string
			var rejects []*RecordError
			for {
				rec, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var re *RecordError
				if errors.As(err, &re) {
					rejects = append(rejects, re)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				good = append(good, string(rec.Data))
			}
			runtime.ReadMemStats(&after)
			if want := int64(len(tc.prefix)+len(tc.suffix)) + tc.size; r.InputOffset() != want {
				t.Errorf("read %d bytes of input, want %d", r.InputOffset(), want)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d MiB record: %.2f MiB allocated", tc.size>>20, float64(alloc)/(1<<20))
			if alloc > 8<<20 {
				t.Errorf("reading a %d MiB record allocated %.1f MiB, want at most 8", tc.size>>20, float64(alloc)/(1<<20))
			}
			if fmt.Sprint(good) != fmt.Sprint(tc.want) {
				t.Errorf("good records %q, want %q", good, tc.want)
			}
			if len(rejects) != 1 {
				t.Fatalf("%d rejects, want 1", len(rejects))
			}
			re := rejects[0]
			if !errors.Is(re, ErrTooLarge) || re.Seq != 2 || re.Line != tc.bigLine || re.Start != tc.bigStart || re.Size < tc.size {
				t.Errorf("reject %v at %+v size %d; want too large, record 2, line %d, offset %d, size >= %d",
					re, re.Position, re.Size, tc.bigLine, tc.bigStart, tc.size)
			}
		})
	}
}
