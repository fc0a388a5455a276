package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// FuzzReadJSONArray checks the structural scanner and its compaction against
// encoding/json: any input that json.Unmarshal accepts as an array (in valid
// UTF-8) must yield exactly its elements, compacted, with no errors; any
// other input must end (EOF or a fatal error) without panicking, and every
// record it yields must be valid JSON.
func FuzzReadJSONArray(f *testing.F) {
	for _, seed := range []string{
		`[]`, `[1,2,3]`, "[\n  {\n    \"a\": \"x\"\n  }\n]", `["a],[b", {"k":"\"]}"}]`, `[[[]],{}]`,
		`[1,,2]`, `[{"a":}]`, `["\u005d"]`, `[1] x`, `[`, `[{"a":"b\\"}]`, `[1 2]`, `[{"a" : 1 }, [ 1 , 2 ] ]`,
		"[\"\xff\"]", `[tru e]`, `[-1 .5]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		var want []json.RawMessage
		valid := json.Unmarshal(input, &want) == nil && utf8.Valid(input) &&
			bytes.HasPrefix(bytes.TrimLeft(input, " \t\r\n"), []byte("["))
		r, err := NewReader(bytes.NewReader(input), "fuzz", InputFormat(FormatJSON))
		if err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		for i := 0; ; i++ {
			if i > len(input)+2 {
				t.Fatalf("more results than input bytes: the reader does not advance")
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *RecordError
			if errors.As(err, &re) {
				if valid {
					t.Fatalf("valid array %q: rejected element %d: %v", input, i, err)
				}
				continue
			}
			if err != nil {
				if valid {
					t.Fatalf("valid array %q: fatal error %v", input, err)
				}
				break
			}
			if !json.Valid(rec.Data) || !utf8.Valid(rec.Data) {
				t.Fatalf("record %q is not valid JSON", rec.Data)
			}
			got = append(got, bytes.Clone(rec.Data))
		}
		if !valid {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("input %q: got %d elements, want %d", input, len(got), len(want))
		}
		for i := range want {
			var compact bytes.Buffer
			if err := json.Compact(&compact, want[i]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[i], compact.Bytes()) {
				t.Fatalf("element %d = %q, want %q", i, got[i], compact.Bytes())
			}
		}
	})
}

// FuzzReadLines checks NDJSON and text reading and auto-detection on any
// input: no panic, NDJSON records valid, text records the input's lines
// byte for byte, and every position inside the input.
func FuzzReadLines(f *testing.F) {
	for _, seed := range []string{"{}\n[1]\n", "[1,2]\n[3]", "a\r\nb\n\n c", "[\n1]", "\xef\xbb\xbf{}", "[INFO] x\n"} {
		f.Add([]byte(seed), uint8(0))
	}
	f.Fuzz(func(t *testing.T, input []byte, mode uint8) {
		format := []Format{FormatAuto, FormatNDJSON, FormatText}[int(mode)%3]
		r, err := NewReader(bytes.NewReader(input), "fuzz", InputFormat(format), MaxRecordBytes(64))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			if i > len(input)+2 {
				t.Fatalf("more results than input bytes")
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) || (err != nil && rec.Err == nil) {
				break
			}
			if rec.Start < 0 || rec.End > int64(len(input)) || rec.Start > rec.End {
				t.Fatalf("position %+v outside the input (%d bytes)", rec.Position, len(input))
			}
			if err != nil {
				continue
			}
			switch r.Format() {
			case FormatNDJSON:
				if !json.Valid(rec.Data) || !utf8.Valid(rec.Data) {
					t.Fatalf("ndjson record %q is not valid", rec.Data)
				}
			case FormatText:
				if !bytes.HasPrefix(input[rec.Start:rec.End], rec.Data) || len(rec.Data) > 64 {
					t.Fatalf("text record %q is not input[%d:%d] = %q", rec.Data, rec.Start, rec.End, input[rec.Start:rec.End])
				}
			}
		}
	})
}

// FuzzValidator holds the one-pass validator to encoding/json's answer plus
// UTF-8 validity.
func FuzzValidator(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"\u00e9\n"}`, ` 1 `, `-0.5e+10`, `01`, `1.`, `.5`, `-`, `"\x01"`,
		`"\ud800"`, "\"\xed\xa0\x80\"", "\"\xff\"", `[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `tru`, `nulll`, `[[[`,
		`"\u12g4"`, `1 2`, "", " ", `{"a":"b"}x`, `[-]`, `1e`, `1E+`, `"\/"`,
	} {
		f.Add([]byte(seed))
	}
	var v validator
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b) && utf8.Valid(b)
		if got := v.valid(b); got != want {
			t.Fatalf("valid(%q) = %v, json.Valid && utf8.Valid = %v", b, got, want)
		}
	})
}

// FuzzResume: for any input and format, resuming after any record yields
// the same records, positions and final error as reading on.
func FuzzResume(f *testing.F) {
	for _, seed := range []string{"{}\n[1]\n\n{x}\n", "[1, 2 ,\n{\"a\" : [3]},,4]", "a\r\nb\n\n c\n", "[\n1\n,2]\n x", "[1,2]\n[3]"} {
		f.Add([]byte(seed), uint8(0), uint8(1))
	}
	type item struct {
		pos  Position
		data string
		err  string
	}
	readRest := func(r *Reader) []item {
		var out []item
		for range 10000 {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil && rec.Err == nil {
				return append(out, item{err: err.Error()})
			}
			it := item{pos: rec.Position, data: string(rec.Data)}
			if err != nil {
				it.err = err.Error()
			}
			out = append(out, it)
		}
		return out
	}
	f.Fuzz(func(t *testing.T, input []byte, mode, k uint8) {
		format := []Format{FormatAuto, FormatJSON, FormatNDJSON, FormatText}[int(mode)%4]
		r, err := NewReader(bytes.NewReader(input), "fuzz", InputFormat(format), MaxRecordBytes(8))
		if err != nil {
			t.Fatal(err)
		}
		all := readRest(r)
		n := len(all)
		if n > 0 && all[n-1].pos == (Position{}) {
			n-- // the fatal error
		}
		if n == 0 {
			return
		}
		i := int(k) % n
		r2, err := NewReader(bytes.NewReader(input), "fuzz", InputFormat(format), MaxRecordBytes(8), ResumeFrom(all[i].pos.Resume()))
		if err != nil {
			t.Fatal(err)
		}
		got := readRest(r2)
		want := all[i+1:]
		if len(got) != len(want) {
			t.Fatalf("resume after %d of %q: %d results %+v, want %d %+v", i+1, input, len(got), got, len(want), want)
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("resume after %d of %q: result %d = %+v, want %+v", i+1, input, j, got[j], want[j])
			}
		}
	})
}
