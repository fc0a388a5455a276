package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// outcome is what one Next call produced: a record or a rejected record.
type outcome struct {
	Seq    int64
	Source string
	Data   string // Record.Data (for a reject: the bytes as read)
	Reject bool
}

func (o outcome) String() string {
	return fmt.Sprintf("{seq %d %s reject=%v %q}", o.Seq, o.Source, o.Reject, o.Data)
}

func ok(seq int64, source, data string) outcome { return outcome{Seq: seq, Source: source, Data: data} }

func rejected(seq int64, source, raw string) outcome {
	return outcome{Seq: seq, Source: source, Data: raw, Reject: true}
}

func newReader(t testing.TB, in io.Reader, name string, opts ...Option) *Reader {
	t.Helper()
	r, err := NewReader(in, name, opts...)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// readAll calls Next until io.EOF or a fatal error, collecting outcomes and
// positions. When input is not nil, every position is checked against it:
// the bytes in [Start, End) are the record (for lines, with the line ending;
// for array elements, before compacting).
func readAll(t *testing.T, r *Reader, input []byte) ([]outcome, []Position, error) {
	t.Helper()
	var got []outcome
	var pos []Position
	var lastEnd int64
	for range 1_000_000 {
		rec, err := r.Next()
		var re *RecordError
		switch {
		case err == nil:
			got = append(got, outcome{Seq: rec.Seq, Source: r.Source(rec.Position), Data: string(rec.Data)})
		case errors.As(err, &re):
			if rec.Err != err || re.Position != rec.Position {
				t.Errorf("reject %v: Record.Err %v and position %+v differ from the error's", err, rec.Err, re.Position)
			}
			if !strings.Contains(re.Error(), re.Source) || re.Source != r.Source(re.Position) {
				t.Errorf("RecordError %q does not name its source %q", re.Error(), r.Source(re.Position))
			}
			got = append(got, outcome{Seq: re.Seq, Source: re.Source, Data: string(rec.Data), Reject: true})
		case errors.Is(err, io.EOF):
			return got, pos, nil
		default:
			return got, pos, err
		}
		if rec.Start < lastEnd || rec.End < rec.Start {
			t.Errorf("record %d: position %+v overlaps the previous record (ended at %d)", rec.Seq, rec.Position, lastEnd)
		}
		lastEnd = rec.End
		pos = append(pos, rec.Position)
		if input != nil && err == nil {
			checkSpan(t, r.Format(), input, rec)
		}
	}
	t.Fatal("reader did not reach EOF")
	return nil, nil, nil
}

// checkSpan checks that [Start, End) of the input holds the record.
func checkSpan(t *testing.T, f Format, input []byte, rec Record) {
	t.Helper()
	if rec.End > int64(len(input)) {
		t.Errorf("record %d: End %d past the input (%d bytes)", rec.Seq, rec.End, len(input))
		return
	}
	span := input[rec.Start:rec.End]
	want := string(rec.Data)
	switch f {
	case FormatJSON:
		if len(span) > 0 && len(bytes.TrimSpace(span)) != len(span) {
			t.Errorf("record %d: input[%d:%d] = %q has white space around the element", rec.Seq, rec.Start, rec.End, span)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, span); err != nil || buf.String() != want {
			t.Errorf("record %d: input[%d:%d] = %q, compacts to %q (%v), want %q", rec.Seq, rec.Start, rec.End, span, buf.String(), err, want)
		}
	default:
		line := strings.TrimSuffix(strings.TrimSuffix(string(span), "\n"), "\r")
		if line != want {
			t.Errorf("record %d: input[%d:%d] = %q, want the line %q", rec.Seq, rec.Start, rec.End, span, want)
		}
	}
	if n := bytes.Count(input[:rec.Start], []byte("\n")); int64(n+1) != rec.Line {
		t.Errorf("record %d: Line %d, but it starts on line %d", rec.Seq, rec.Line, n+1)
	}
}

// wrappers feed the input in different pieces, to cross every buffer
// boundary in the scanners.
var wrappers = []struct {
	name string
	fn   func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte at a time", iotest.OneByteReader},
	{"half", iotest.HalfReader},
}

func TestReaderNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		format  Format
		limit   int // 0: default
		want    []outcome
		wantErr error // fatal error after the outcomes; nil means clean EOF
	}{
		{
			name:   "ndjson",
			input:  "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n",
			format: FormatNDJSON,
			want:   []outcome{ok(1, "f:1", `{"a":1}`), ok(2, "f:2", `{"a":2}`), ok(3, "f:3", `{"a":3}`)},
		},
		{
			name:   "ndjson auto-detected",
			input:  "{\"a\":[1]}\n[1,2]\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f:1", `{"a":[1]}`), ok(2, "f:2", `[1,2]`)},
		},
		{
			name:   "ndjson whose first line is an array, auto-detected",
			input:  "[1,2]\n[3,4]\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f:1", `[1,2]`), ok(2, "f:2", `[3,4]`)},
		},
		{
			name:   "ndjson CRLF",
			input:  "{\"a\":1}\r\n{\"a\":2}\r\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f:1", `{"a":1}`), ok(2, "f:2", `{"a":2}`)},
		},
		{
			name:   "ndjson blank lines are skipped but counted",
			input:  "\n{\"a\":1}\n\n  \r\n\t\n{\"a\":2}\n\n",
			format: FormatNDJSON,
			want:   []outcome{ok(1, "f:2", `{"a":1}`), ok(2, "f:6", `{"a":2}`)},
		},
		{
			name:   "ndjson without trailing newline",
			input:  "{\"a\":1}\n{\"a\":2}",
			format: FormatNDJSON,
			want:   []outcome{ok(1, "f:1", `{"a":1}`), ok(2, "f:2", `{"a":2}`)},
		},
		{
			name:   "ndjson malformed line in the middle",
			input:  "{\"a\":1}\n{\"a\":Low}\n\n{\"a\":3}\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f:1", `{"a":1}`), rejected(2, "f:2", `{"a":Low}`), ok(3, "f:4", `{"a":3}`)},
		},
		{
			name:   "ndjson two values on one line are rejected",
			input:  "{\"a\":1}\n1 2\n",
			format: FormatNDJSON,
			want:   []outcome{ok(1, "f:1", `{"a":1}`), rejected(2, "f:2", `1 2`)},
		},
		{
			name:   "ndjson invalid UTF-8 is rejected like invalid JSON",
			input:  "{\"a\":\"\xff\"}\n{\"a\":\"\xc3\xa9\"}\n",
			format: FormatNDJSON,
			want:   []outcome{rejected(1, "f:1", "{\"a\":\"\xff\"}"), ok(2, "f:2", "{\"a\":\"\xc3\xa9\"}")},
		},
		{
			name:   "ndjson truncated last line",
			input:  "{\"a\":1}\n{\"a\":",
			format: FormatNDJSON,
			want:   []outcome{ok(1, "f:1", `{"a":1}`), rejected(2, "f:2", `{"a":`)},
		},
		{
			name:   "ndjson with byte order mark",
			input:  "\xef\xbb\xbf{\"a\":1}\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f:1", `{"a":1}`)},
		},
		{
			name:   "ndjson line over the limit is rejected, the next is read",
			input:  "{\"a\":1}\n{\"a\":\"0123456789\"}\n{\"a\":3}\n",
			format: FormatNDJSON,
			limit:  12,
			want:   []outcome{ok(1, "f:1", `{"a":1}`), rejected(2, "f:2", ""), ok(3, "f:3", `{"a":3}`)},
		},
		{
			name:   "text lines are sent as they are",
			input:  "2026-11-30 INFO started\nhello world\n{\"a\": 1}\n  indented \t\nnot json: \xff\n",
			format: FormatText,
			want: []outcome{ok(1, "f:1", "2026-11-30 INFO started"), ok(2, "f:2", "hello world"),
				ok(3, "f:3", `{"a": 1}`), ok(4, "f:4", "  indented \t"), ok(5, "f:5", "not json: \xff")},
		},
		{
			name:   "text auto-detected from a log line",
			input:  "2026-11-30 INFO started\n{\"a\":1}\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f:1", "2026-11-30 INFO started"), ok(2, "f:2", `{"a":1}`)},
		},
		{
			name:   "text auto-detected from a bracketed log line",
			input:  "[INFO] started\n[WARN] slow\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f:1", "[INFO] started"), ok(2, "f:2", "[WARN] slow")},
		},
		{
			name:   "text CRLF, blank lines and a last line without newline",
			input:  "a\r\n\r\n\nb\r\n   \nc",
			format: FormatText,
			want:   []outcome{ok(1, "f:1", "a"), ok(2, "f:4", "b"), ok(3, "f:6", "c")},
		},
		{
			name:   "text line exactly at the limit, with CRLF",
			input:  "12345\r\n123456\n1234\n",
			format: FormatText,
			limit:  5,
			want:   []outcome{ok(1, "f:1", "12345"), rejected(2, "f:2", ""), ok(3, "f:3", "1234")},
		},
		{
			name:   "json array compact",
			input:  `[{"a":1},{"a":2},3,"x"]`,
			format: FormatJSON,
			want:   []outcome{ok(1, "f[0] line 1", `{"a":1}`), ok(2, "f[1] line 1", `{"a":2}`), ok(3, "f[2] line 1", `3`), ok(4, "f[3] line 1", `"x"`)},
		},
		{
			name:   "json array indent=2 auto-detected",
			input:  "[\n  {\n    \"a\": 1,\n    \"b\": \"x\"\n  },\n  {\n    \"a\": 2,\n    \"b\": \"y\"\n  }\n]",
			format: FormatAuto,
			want:   []outcome{ok(1, "f[0] line 2", `{"a":1,"b":"x"}`), ok(2, "f[1] line 6", `{"a":2,"b":"y"}`)},
		},
		{
			name:   "json one-line array auto-detected",
			input:  "[{\"a\":1},{\"a\":2}]\n\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f[0] line 1", `{"a":1}`), ok(2, "f[1] line 1", `{"a":2}`)},
		},
		{
			name:   "json array nested objects and arrays",
			input:  "[\n{\"a\": {\"b\": [1, {\"c\": [2, 3]}], \"d\": {}}}, [[], [1]]\n]\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f[0] line 2", `{"a":{"b":[1,{"c":[2,3]}],"d":{}}}`), ok(2, "f[1] line 2", `[[],[1]]`)},
		},
		{
			name:   "json array strings with brackets, commas, quotes and escaped newlines",
			input:  "[\"a],[b\", {\"k\": \"x\\\"],}\\n{\"}, \"tab\\t \\\\\"\n]",
			format: FormatAuto,
			want:   []outcome{ok(1, "f[0] line 1", `"a],[b"`), ok(2, "f[1] line 1", `{"k":"x\"],}\n{"}`), ok(3, "f[2] line 1", `"tab\t \\"`)},
		},
		{
			name:   "json array spaces inside strings are kept",
			input:  `[ {"msg" : "a  b , c"} ]`,
			format: FormatAuto,
			want:   []outcome{ok(1, "f[0] line 1", `{"msg":"a  b , c"}`)},
		},
		{
			name:   "json array malformed element in the middle",
			input:  "[\n  {\"a\": 1},\n  {\"a\": Low},\n  {\"a\": 3}\n]\n",
			format: FormatAuto,
			want:   []outcome{ok(1, "f[0] line 2", `{"a":1}`), rejected(2, "f[1] line 3", `{"a":Low}`), ok(3, "f[2] line 4", `{"a":3}`)},
		},
		{
			name:   "json array white space between values is not compacted away",
			input:  "[1 2, {\"a\": 1 2}, \"x\" \"y\", 3]",
			format: FormatJSON,
			want: []outcome{rejected(1, "f[0] line 1", `1 2`), rejected(2, "f[1] line 1", `{"a":1 2}`),
				rejected(3, "f[2] line 1", `"x" "y"`), ok(4, "f[3] line 1", `3`)},
		},
		{
			name:   "json array invalid UTF-8 is rejected",
			input:  "[\"\xff\", \"ok\"]",
			format: FormatJSON,
			want:   []outcome{rejected(1, "f[0] line 1", "\"\xff\""), ok(2, "f[1] line 1", `"ok"`)},
		},
		{
			name:   "json array element over the limit is rejected, the next is read",
			input:  "[\n{\"a\": 1},\n{\"a\": \"0123456789\"},\n{\"a\": 3}]",
			format: FormatJSON,
			limit:  12,
			want:   []outcome{ok(1, "f[0] line 2", `{"a":1}`), rejected(2, "f[1] line 3", ""), ok(3, "f[2] line 4", `{"a":3}`)},
		},
		{
			name:   "json array element at the limit once compacted",
			input:  "[\n{\"a\":   \"0123456\"},\n{\"a\":\"01234567\"}]",
			format: FormatJSON,
			limit:  15,
			want:   []outcome{ok(1, "f[0] line 2", `{"a":"0123456"}`), rejected(2, "f[1] line 3", "")},
		},
		{
			name:   "json array empty element",
			input:  `[1,,2]`,
			format: FormatJSON,
			want:   []outcome{ok(1, "f[0] line 1", `1`), rejected(2, "f[1] line 1", ``), ok(3, "f[2] line 1", `2`)},
		},
		{
			name:   "json array trailing comma tolerated",
			input:  "[1,\n2,\n]",
			format: FormatAuto,
			want:   []outcome{ok(1, "f[0] line 1", `1`), ok(2, "f[1] line 2", `2`)},
		},
		{
			name:    "json array not closed",
			input:   "[\n{\"a\":1},\n{\"a\":2",
			format:  FormatAuto,
			want:    []outcome{ok(1, "f[0] line 2", `{"a":1}`), rejected(2, "f[1] line 3", `{"a":2`)},
			wantErr: ErrUnterminatedArray,
		},
		{
			name:    "json array ends after comma",
			input:   "[1, ",
			format:  FormatJSON,
			want:    []outcome{ok(1, "f[0] line 1", `1`)},
			wantErr: ErrUnterminatedArray,
		},
		{
			name:    "json array with trailing data",
			input:   "[1]\n{\"a\":2}\n",
			format:  FormatJSON,
			want:    []outcome{ok(1, "f[0] line 1", `1`)},
			wantErr: ErrTrailingData,
		},
		{
			name:    "json format on ndjson input",
			input:   "{\"a\":1}\n",
			format:  FormatJSON,
			wantErr: ErrNotArray,
		},
		{
			name:   "ndjson format reads a one-line array as one record",
			input:  "[1,2]\n",
			format: FormatNDJSON,
			want:   []outcome{ok(1, "f:1", `[1,2]`)},
		},
		{name: "empty input", input: "", format: FormatAuto},
		{name: "white space only", input: " \n\t\r\n  ", format: FormatAuto},
		{name: "empty ndjson", input: "", format: FormatNDJSON},
		{name: "empty json", input: "", format: FormatJSON},
		{name: "empty text", input: "\n\n", format: FormatText},
		{name: "empty array", input: "[]", format: FormatAuto},
		{name: "empty array with white space", input: "\n[\n\n]\n\n", format: FormatJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, wrap := range wrappers {
				opts := []Option{InputFormat(tc.format)}
				if tc.limit > 0 {
					opts = append(opts, MaxRecordBytes(tc.limit))
				}
				r := newReader(t, wrap.fn(strings.NewReader(tc.input)), "f", opts...)
				got, _, err := readAll(t, r, []byte(tc.input))
				if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Errorf("%s: fatal error = %v, want %v", wrap.name, err, tc.wantErr)
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("%s: got\n%v\nwant\n%v", wrap.name, got, tc.want)
				}
			}
		})
	}
}

func TestAutoFormat(t *testing.T) {
	t.Parallel()
	pretty := "[\n  {\n    \"a\": 1\n  }\n]\n"
	tests := []struct {
		name  string
		file  string
		input string
		want  Format
	}{
		{"object lines", "in", "{\"a\":1}\n{\"a\":2}\n", FormatNDJSON},
		{"object lines with a bad one", "in", "{\"a\":1}\nnot json\n", FormatNDJSON},
		{"array lines", "in", "[1,2]\n[3,4]\n", FormatNDJSON},
		{"array then an object", "in", "[1,2]\n{\"a\":1}", FormatNDJSON},
		{"one array on one line", "in", "[1,2]\n", FormatJSON},
		{"one array on one line, no newline", "in", "  [1,2]  ", FormatJSON},
		{"one array in an .ndjson file", "in.ndjson", "[1,2]\n", FormatNDJSON},
		{"one array in a .jsonl.gz name", "in.jsonl.gz", "[1,2]\n", FormatNDJSON},
		{"pretty-printed array", "in", pretty, FormatJSON},
		{"pretty-printed array in an .ndjson file", "in.ndjson", pretty, FormatJSON},
		{"array opening with its first element", "in", "[{\"a\": 1,\n\"b\": 2}]", FormatJSON},
		{"log line", "in", "2026-11-30 INFO started\n", FormatText},
		{"hello world", "in", "hello world\n", FormatText},
		{"bracketed log line", "in", "[INFO] started\n", FormatText},
		{"bracketed date", "in", "[2026-11-30] started\n", FormatText},
		{"array followed by text on its line", "in", "[1] x\n", FormatText},
		{"two arrays on a line", "in", "[1] [2]\n", FormatText},
		{"bare number", "in", "42\nhello\n", FormatText},
		{"bare number in a .json file", "x.json", "42\n43\n", FormatNDJSON},
		{"text in a .json file", "x.json", "hello\n", FormatNDJSON},
		{"objects in a .log file", "app.log", "{\"a\":1}\n", FormatText},
		{"array in a .txt file", "a.TXT", pretty, FormatText},
		{"objects in a .json file", "sample_records.json", "{\"a\":1}\n{\"a\":2}\n", FormatNDJSON},
		{"array in a .json file", "sample_records.json", pretty, FormatJSON},
		{"leading blank lines", "in", "\n\n  \n[1,2]\n[3]\n", FormatNDJSON},
		{"empty", "in", "", FormatText},
		{"empty .json", "in.json", "", FormatNDJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, wrap := range wrappers {
				r := newReader(t, wrap.fn(strings.NewReader(tc.input)), tc.file)
				_, _, _ = readAll(t, r, nil)
				if r.Format() != tc.want {
					t.Errorf("%s: %s %q read as %s, want %s", wrap.name, tc.file, tc.input, r.Format(), tc.want)
				}
			}
		})
	}
}

// TestAutoFormatLongFirstLine: a first line too long to see whole is an
// array when it opens like one, and its elements are read.
func TestAutoFormatLongFirstLine(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteByte('[')
	for i := range 2000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"i":%d}`, i)
	}
	b.WriteString("]\n")
	r := newReader(t, strings.NewReader(b.String()), "in", MaxRecordBytes(100))
	got, _, err := readAll(t, r, []byte(b.String()))
	if err != nil || r.Format() != FormatJSON || len(got) != 2000 {
		t.Fatalf("format %s, %d records, err %v; want json, 2000 records", r.Format(), len(got), err)
	}
}

// TestAutoFormatPipe: auto decides from the first line of a pipe that has
// delivered only that line; it does not wait for more.
func TestAutoFormatPipe(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	r := newReader(t, pr, "-")
	go func() { _, _ = pw.Write([]byte("2026-11-30 INFO started\n")) }()
	rec, err := r.Next()
	if err != nil || string(rec.Data) != "2026-11-30 INFO started" || r.Format() != FormatText {
		t.Fatalf("Next = %q, %v (format %s); want the log line as text", rec.Data, err, r.Format())
	}
	if r.Name() != "stdin" {
		t.Errorf("Name() = %q, want stdin", r.Name())
	}
}

func TestReaderFatalErrorIsSticky(t *testing.T) {
	t.Parallel()
	r := newReader(t, strings.NewReader("[1]x"), "f", InputFormat(FormatJSON))
	if _, err := r.Next(); err != nil {
		t.Fatalf("first Next: %v", err)
	}
	for i := range 2 {
		_, err := r.Next()
		if !errors.Is(err, ErrTrailingData) {
			t.Fatalf("call %d: err = %v, want ErrTrailingData", i, err)
		}
		if !strings.Contains(err.Error(), "f line 1") {
			t.Errorf("error %q does not name the file and line", err)
		}
	}
}

func TestReaderIOErrorNamesFile(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	for _, input := range []string{"{\"a\":1}\n{\"a\"", "[1,2", "hello\nwor"} {
		r := newReader(t, io.MultiReader(strings.NewReader(input), iotest.ErrReader(boom)), "data.json")
		var err error
		for range 5 {
			if _, err = r.Next(); err != nil && !errors.As(err, new(*RecordError)) {
				break
			}
		}
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "data.json") {
			t.Errorf("input %q: err = %v, want the I/O error wrapped with the file name", input, err)
		}
	}
}

func TestRecordErrorNamesPosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input string
		want        []string
		wantIs      error
	}{
		{"ndjson", "{}\n\n{x}\n", []string{"data.ndjson:3", "record 2", "invalid JSON"}, ErrInvalidJSON},
		{"array", "[\n1,\n{x}]", []string{"data.ndjson[1] line 3", "record 2"}, ErrInvalidJSON},
		{"too large", "{}\n\"" + strings.Repeat("x", 20) + "\"\n", []string{"data.ndjson:2", "22 bytes, over the limit of 10"}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReader(t, strings.NewReader(tc.input), "data.ndjson", MaxRecordBytes(10))
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if !errors.Is(err, tc.wantIs) {
				t.Fatalf("err = %v, want %v", err, tc.wantIs)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestReaderDataValidUntilNextCall documents the buffer reuse of Next: the
// Data of an earlier record may change, so keepers copy (or use NextBatch).
func TestNextBatch(t *testing.T) {
	t.Parallel()
	inputs := map[string]string{
		"ndjson": "{\"a\":1}\nbad\n{\"a\":2}\n\n{\"a\":3}\n{\"a\":4}\n{\"a\":5}\n",
		"json":   "[{\"a\": 1}, bad, {\"a\": 2}, {\"a\":3}, {\"a\":4}, {\"a\":5}]",
		"text":   "a 1\nb 2\n\nc 3\nd 4\ne 5\nf 6\n",
	}
	for name, input := range inputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, _, err := readAll(t, newReader(t, strings.NewReader(input), name), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{1, 2, 4, 100} {
				r := newReader(t, iotest.OneByteReader(strings.NewReader(input)), name, MaxRecordBytes(64))
				var kept []Record
				for {
					dst := make([]Record, size)
					n, err := r.NextBatch(dst)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil || n == 0 || n > size {
						t.Fatalf("size %d: NextBatch = %d, %v", size, n, err)
					}
					kept = append(kept, dst[:n]...)
				}
				var got []outcome
				for _, rec := range kept {
					got = append(got, outcome{Seq: rec.Seq, Source: r.Source(rec.Position), Data: string(rec.Data), Reject: rec.Err != nil})
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("size %d: records kept from NextBatch\n%v\nwant\n%v", size, got, want)
				}
			}
		})
	}
}

func TestNewReaderOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  Option
		want error
	}{
		{"unknown format", InputFormat("xml"), ErrUnknownFormat},
		{"zero limit", MaxRecordBytes(0), ErrBadOption},
		{"negative resume", ResumeFrom(Checkpoint{Offset: -1}), ErrBadOption},
		{"text", InputFormat(FormatText), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(""), "f", tc.opt)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Errorf("NewReader error = %v, want %v", err, tc.want)
			}
			if err == nil {
				_ = r.Close()
			}
		})
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "data.json")
	input := "[\n  {\"a\": 1},\n  {\"a\": x}\n]"
	if err := os.WriteFile(path, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	got, _, err := readAll(t, r, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	want := []outcome{ok(1, path+"[0] line 2", `{"a":1}`), rejected(2, path+"[1] line 3", `{"a":x}`)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if r.Format() != FormatJSON {
		t.Errorf("Format() = %q after reading, want json", r.Format())
	}
	if r.InputOffset() != int64(len(input)) || r.Offset() != int64(len(input)) {
		t.Errorf("InputOffset() = %d, Offset() = %d, want %d", r.InputOffset(), r.Offset(), len(input))
	}

	missing := filepath.Join(dir, "missing.json")
	if _, err := Open(missing); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open(missing) error = %v, want ErrNotExist naming the file", err)
	}
	if _, err := Open(path, InputFormat("yaml")); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Open(format yaml) error = %v, want ErrUnknownFormat", err)
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"", FormatAuto, false},
		{"auto", FormatAuto, false},
		{"json", FormatJSON, false},
		{"ndjson", FormatNDJSON, false},
		{"jsonl", FormatNDJSON, false},
		{"text", FormatText, false},
		{"csv", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormat(tc.in)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("ParseFormat(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}

func TestValidatorNestingDepth(t *testing.T) {
	t.Parallel()
	var v validator
	for _, depth := range []int{1, maxNestingDepth, maxNestingDepth + 1} {
		for _, open := range []string{"[", "{\"a\":"} {
			closing := map[string]string{"[": "]", "{\"a\":": "}"}[open]
			b := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(closing, depth))
			if got, want := v.valid(b), json.Valid(b); got != want {
				t.Errorf("depth %d of %s: valid = %v, json.Valid = %v", depth, open, got, want)
			}
		}
	}
}

// TestInputOffsetWhileReading: progress may poll InputOffset from another
// goroutine while records are read (run with -race).
func TestInputOffsetWhileReading(t *testing.T) {
	t.Parallel()
	input := benchInput("ndjson", 20_000)
	r := newReader(t, iotest.HalfReader(bytes.NewReader(input)), "in")
	done := make(chan struct{})
	polled := make(chan int64)
	go func() {
		var last int64
		for {
			select {
			case <-done:
				polled <- last
				return
			default:
				if off := r.InputOffset(); off < last {
					t.Errorf("InputOffset went back from %d to %d", last, off)
				} else {
					last = off
				}
				runtime.Gosched()
			}
		}
	}()
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	close(done)
	<-polled
	if n != 20_000 || r.InputOffset() != int64(len(input)) {
		t.Errorf("read %d records, InputOffset %d; want 20000 and %d", n, r.InputOffset(), len(input))
	}
}
