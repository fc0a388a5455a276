package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// outcome is what one Next call produced: a record or a rejected record.
type outcome struct {
	Seq    int64
	Source string
	Data   string // Record.Data, or SyntaxError.Raw for a reject
	Reject bool
}

func (o outcome) String() string {
	return fmt.Sprintf("{seq %d %s reject=%v %q}", o.Seq, o.Source, o.Reject, o.Data)
}

// readAll calls Next until io.EOF or a fatal error, collecting outcomes.
func readAll(t *testing.T, r *Reader) ([]outcome, error) {
	t.Helper()
	var got []outcome
	for range 1_000_000 {
		rec, err := r.Next()
		var se *SyntaxError
		switch {
		case err == nil:
			got = append(got, outcome{Seq: rec.Seq, Source: rec.Source, Data: string(rec.Data)})
		case errors.As(err, &se):
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrUnterminatedArray) {
				t.Errorf("SyntaxError %v wraps neither ErrInvalidJSON nor ErrUnterminatedArray", err)
			}
			if !strings.Contains(se.Error(), se.Source) {
				t.Errorf("SyntaxError message %q does not name %q", se.Error(), se.Source)
			}
			got = append(got, outcome{Seq: se.Seq, Source: se.Source, Data: string(se.Raw), Reject: true})
		case errors.Is(err, io.EOF):
			return got, nil
		default:
			return got, err
		}
	}
	t.Fatal("reader did not reach EOF")
	return nil, nil
}

func ok(seq int64, source, data string) outcome {
	return outcome{Seq: seq, Source: source, Data: data}
}

func rejected(seq int64, source, raw string) outcome {
	return outcome{Seq: seq, Source: source, Data: raw, Reject: true}
}

func TestReaderNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		format  Format
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
			name:   "ndjson CRLF",
			input:  "{\"a\":1}\r\n{\"a\":2}\r\n",
			want:   []outcome{ok(1, "f:1", `{"a":1}`), ok(2, "f:2", `{"a":2}`)},
			format: FormatAuto,
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
			want:   []outcome{ok(1, "f[0] line 2", `{"a":1}`), rejected(2, "f[1] line 3", `{"a": Low}`), ok(3, "f[2] line 4", `{"a":3}`)},
		},
		{
			name:   "json array empty element",
			input:  `[1,,2]`,
			format: FormatAuto,
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
			format:  FormatAuto,
			want:    []outcome{ok(1, "f[0] line 1", `1`)},
			wantErr: ErrUnterminatedArray,
		},
		{
			name:    "json array with trailing data",
			input:   "[1]\n{\"a\":2}\n",
			format:  FormatAuto,
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
		{name: "empty array", input: "[]", format: FormatAuto},
		{name: "empty array with white space", input: "\n[\n\n]\n\n", format: FormatJSON},
		{name: "unknown format", input: "1\n", format: "xml", wantErr: ErrUnknownFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// OneByteReader exercises every buffer boundary in the scanners.
			for _, wrap := range []struct {
				name string
				fn   func(io.Reader) io.Reader
			}{
				{"whole", func(r io.Reader) io.Reader { return r }},
				{"one byte at a time", iotest.OneByteReader},
			} {
				got, err := readAll(t, NewReader(wrap.fn(strings.NewReader(tc.input)), "f", tc.format))
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

func TestReaderFatalErrorIsSticky(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("[1]x"), "f", FormatAuto)
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
	for _, input := range []string{"{\"a\":1}\n{\"a\"", "[1,2"} {
		r := NewReader(io.MultiReader(strings.NewReader(input), iotest.ErrReader(boom)), "data.json", FormatAuto)
		var err error
		for range 5 {
			if _, err = r.Next(); err != nil && !errors.As(err, new(*SyntaxError)) {
				break
			}
		}
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "data.json") {
			t.Errorf("input %q: err = %v, want the I/O error wrapped with the file name", input, err)
		}
	}
}

func TestReaderBigRecords(t *testing.T) {
	t.Parallel()
	big := `{"big":"` + strings.Repeat("x", 2_000_000-10) + `"}`
	if len(big) != 2_000_000 {
		t.Fatalf("test setup: len = %d", len(big))
	}
	tests := []struct {
		name  string
		input string
	}{
		{"ndjson", "{\"a\":1}\n" + big + "\n{\"a\":3}\n"},
		{"json array", "[{\"a\":1},\n" + big + ",\n{\"a\":3}]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readAll(t, NewReader(strings.NewReader(tc.input), "f", FormatAuto))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[1].Data != big || got[2].Data != `{"a":3}` || got[2].Seq != 3 {
				t.Fatalf("got %d records; middle %d bytes, want %d", len(got), len(got[min(1, len(got)-1)].Data), len(big))
			}
		})
	}
}

// TestReaderDataIsNotReused proves records stay intact while later records are
// read, as the producer keeps records in flight.
func TestReaderDataIsNotReused(t *testing.T) {
	t.Parallel()
	for _, input := range []string{"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", "[{\"a\": 1}, {\"a\": 2}, {\"a\":3}]"} {
		r := NewReader(strings.NewReader(input), "f", FormatAuto)
		var recs []Record
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		for i, rec := range recs {
			if want := fmt.Sprintf(`{"a":%d}`, i+1); string(rec.Data) != want {
				t.Errorf("record %d = %s, want %s", i, rec.Data, want)
			}
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "data.json")
	if err := os.WriteFile(path, []byte("[\n  {\"a\": 1},\n  {\"a\": x}\n]"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, closer, err := Open(path, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closer.Close() })
	got, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []outcome{ok(1, path+"[0] line 2", `{"a":1}`), rejected(2, path+"[1] line 3", `{"a": x}`)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if r.Format() != FormatJSON {
		t.Errorf("Format() = %q after reading, want json", r.Format())
	}

	missing := filepath.Join(dir, "missing.json")
	if _, _, err := Open(missing, FormatAuto); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open(missing) error = %v, want ErrNotExist naming the file", err)
	}
	if _, _, err := Open(path, "yaml"); !errors.Is(err, ErrUnknownFormat) {
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

// TestReaderReadsGeneratedData round-trips the generator through the reader in
// both formats: same records, every line number right.
func TestReaderReadsGeneratedData(t *testing.T) {
	t.Parallel()
	const n = 50
	var want []string
	if err := Generate(7, n, func(a Alert) error {
		b, err := json.Marshal(a)
		want = append(want, string(b))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		write    func(io.Writer, int64, int) error
		wantLine func(i int) string
	}{
		// indent=2 layout: "[" on line 1, then 5 lines per alert.
		{"json", WriteJSON, func(i int) string { return fmt.Sprintf("gen[%d] line %d", i, 2+5*i) }},
		{"ndjson", WriteNDJSON, func(i int) string { return fmt.Sprintf("gen:%d", i+1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := tc.write(&buf, 7, n); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, NewReader(&buf, "gen", FormatAuto))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("read %d records, want %d", len(got), n)
			}
			for i, o := range got {
				if o.Data != want[i] || o.Source != tc.wantLine(i) || o.Seq != int64(i+1) {
					t.Errorf("record %d = %v, want data %s source %s", i, o, want[i], tc.wantLine(i))
				}
			}
		})
	}
}
