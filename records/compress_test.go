package records

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func gzipBytes(t testing.TB, parts ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range parts { // one gzip member each, as `cat a.gz b.gz` makes
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCompressedInput: gzip and zstd are recognized by their first bytes
// whatever the name (stdin has none), decompressed as they are read, and
// positions count the decompressed bytes.
func TestCompressedInput(t *testing.T) {
	t.Parallel()
	var plain strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&plain, "{\"i\":%d,\"pad\":\"%s\"}\n", i, strings.Repeat("p", i%50))
	}
	plain.WriteString("not json\n")
	input := plain.String()
	pretty := "[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n"
	tests := []struct {
		name, file string
		data       []byte
		decoded    string
		comp       string
		format     Format
		records    int
	}{
		{"gzip ndjson", "data.ndjson.gz", gzipBytes(t, input), input, "gzip", FormatNDJSON, 3001},
		{"gzip on stdin", "-", gzipBytes(t, input), input, "gzip", FormatNDJSON, 3001},
		{"gzip members concatenated", "-", gzipBytes(t, input[:100], input[100:]), input, "gzip", FormatNDJSON, 3001},
		{"gzip without its extension", "data.log", gzipBytes(t, input), input, "gzip", FormatText, 3001},
		{"gzip json array", "x.json.gz", gzipBytes(t, pretty), pretty, "gzip", FormatJSON, 2},
		{"zstd ndjson", "data.jsonl.zst", zstdBytes(t, input), input, "zstd", FormatNDJSON, 3001},
		{"zstd on stdin", "-", zstdBytes(t, input), input, "zstd", FormatNDJSON, 3001},
		{"zstd text", "app.log.zst", zstdBytes(t, "hello world\n2026-11-30 INFO started\n"), "hello world\n2026-11-30 INFO started\n", "zstd", FormatText, 2},
		{"not compressed", "-", []byte(input), input, "", FormatNDJSON, 3001},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, wrap := range wrappers[:2] {
				r := newReader(t, wrap.fn(bytes.NewReader(tc.data)), tc.file)
				got, pos, err := readAll(t, r, []byte(tc.decoded))
				if err != nil {
					t.Fatalf("%s: %v", wrap.name, err)
				}
				if len(got) != tc.records || r.Compression() != tc.comp || r.Format() != tc.format {
					t.Fatalf("%s: %d records, compression %q, format %s; want %d, %q, %s",
						wrap.name, len(got), r.Compression(), r.Format(), tc.records, tc.comp, tc.format)
				}
				if last := pos[len(pos)-1]; last.End != int64(len(tc.decoded)) && tc.format != FormatJSON {
					t.Errorf("%s: last record ends at %d, want the decompressed size %d", wrap.name, last.End, len(tc.decoded))
				}
				if r.InputOffset() != int64(len(tc.data)) {
					t.Errorf("%s: InputOffset() = %d, want the compressed size %d", wrap.name, r.InputOffset(), len(tc.data))
				}
			}
		})
	}
}

func TestCompressedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "events.ndjson.gz")
	big := "{\"big\":\"" + strings.Repeat("x", 3_000_000) + "\"}"
	if err := os.WriteFile(path, gzipBytes(t, "{\"a\":1}\n"+big+"\n{\"a\":3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readAll(t, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []outcome{ok(1, path+":1", `{"a":1}`), rejected(2, path+":2", ""), ok(3, path+":3", `{"a":3}`)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestCorruptCompressedInput(t *testing.T) {
	t.Parallel()
	good := gzipBytes(t, strings.Repeat("{\"a\":1}\n", 10000))
	tests := []struct {
		name string
		data []byte
	}{
		{"gzip header only", []byte{0x1f, 0x8b, 0x08}},
		{"gzip truncated", good[:len(good)/2]},
		{"gzip body damaged", append(append(append([]byte{}, good[:40]...), bytes.Repeat([]byte{0xff}, 40)...), good[80:]...)},
		{"zstd garbage", append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xee}, 64)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReader(t, iotest.HalfReader(bytes.NewReader(tc.data)), "broken.gz")
			var err error
			for range 20000 {
				if _, err = r.Next(); err != nil && !errors.As(err, new(*RecordError)) {
					break
				}
			}
			if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "broken.gz") {
				t.Errorf("err = %v, want a read error naming broken.gz", err)
			}
		})
	}
}
