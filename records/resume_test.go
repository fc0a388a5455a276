package records

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// TestResume: resuming at the checkpoint after any record yields exactly the
// records that followed it, with the same numbers, lines and offsets, on a
// seekable input, a pipe, a compressed input and a file.
func TestResume(t *testing.T) {
	t.Parallel()
	inputs := []struct {
		name, file, input string
		format            Format
	}{
		{"ndjson", "in", "\xef\xbb\xbf{\"a\":1}\r\n\n{\"a\":x}\n  \n{\"a\":3}\n{\"a\":4}", FormatAuto},
		{"text", "in.log", "one\n\ntwo\r\n" + "three is longer than the limit of 16\nfour\n", FormatAuto},
		{"json pretty", "in", "[\n  {\n    \"a\": 1\n  },\n  {\"a\": x},\n\n  {\"a\": 3}\n  ,\n  4\n]\n", FormatAuto},
		{"json compact", "in", `[{"a":1},{"a":2},,{"a":4}]`, FormatJSON},
		{"json two elements", "in", "[\n1\n,2]", FormatAuto},
	}
	type opener struct {
		name string
		open func(t *testing.T, dir, name string, data []byte, opts ...Option) *Reader
	}
	openers := []opener{
		{"seekable", func(t *testing.T, dir, name string, data []byte, opts ...Option) *Reader {
			return newReader(t, bytes.NewReader(data), name, opts...)
		}},
		{"pipe", func(t *testing.T, dir, name string, data []byte, opts ...Option) *Reader {
			return newReader(t, iotest.HalfReader(bytes.NewReader(data)), name, opts...)
		}},
		{"gzip", func(t *testing.T, dir, name string, data []byte, opts ...Option) *Reader {
			return newReader(t, bytes.NewReader(gzipBytes(t, string(data))), name, opts...)
		}},
		{"file", func(t *testing.T, dir, name string, data []byte, opts ...Option) *Reader {
			path := filepath.Join(dir, name)
			if _, err := os.Stat(path); err != nil {
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Open(path, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close() })
			return r
		}},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			for _, op := range openers {
				dir := t.TempDir()
				r := op.open(t, dir, in.file, []byte(in.input), InputFormat(in.format), MaxRecordBytes(16))
				all, pos, err := readAll(t, r, []byte(in.input))
				if err != nil {
					t.Fatal(err)
				}
				if len(all) < 2 {
					t.Fatalf("test input %q has %d records", in.input, len(all))
				}
				for k := range pos {
					cp := pos[k].Resume()
					r := op.open(t, dir, in.file, []byte(in.input), InputFormat(in.format), MaxRecordBytes(16), ResumeFrom(cp))
					got, gotPos, err := readAll(t, r, []byte(in.input))
					if err != nil {
						t.Fatalf("%s: resume after record %d at %+v: %v", op.name, k+1, cp, err)
					}
					if fmt.Sprint(got) != fmt.Sprint(all[k+1:]) || fmt.Sprint(gotPos) != fmt.Sprint(pos[k+1:]) {
						t.Errorf("%s: resume after record %d at %+v:\n%v %v\nwant\n%v %v", op.name, k+1, cp, got, gotPos, all[k+1:], pos[k+1:])
					}
				}
			}
		})
	}
}

// TestResumeSeeksUncompressedFiles: resuming an uncompressed file reads only
// what follows the checkpoint.
func TestResumeSeeksUncompressedFiles(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	for i := range 100_000 {
		fmt.Fprintf(&buf, "{\"i\":%d}\n", i)
	}
	data := buf.Bytes()
	cut := bytes.Index(data, []byte("{\"i\":99990}"))
	cp := Checkpoint{Offset: int64(cut), Seq: 99990, Line: 99991}
	counted := &countingSeeker{ReadSeeker: bytes.NewReader(data)}
	r := newReader(t, counted, "big.ndjson", ResumeFrom(cp))
	got, _, err := readAll(t, r, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0].Seq != 99991 || got[0].Data != `{"i":99990}` || got[0].Source != "big.ndjson:99991" {
		t.Fatalf("got %d records from %v", len(got), got[0])
	}
	if counted.read > 128<<10 {
		t.Errorf("read %d bytes to resume near the end of a %d-byte file", counted.read, len(data))
	}
}

type countingSeeker struct {
	io.ReadSeeker
	read int
}

func (c *countingSeeker) Read(p []byte) (int, error) {
	n, err := c.ReadSeeker.Read(p)
	c.read += n
	return n, err
}
