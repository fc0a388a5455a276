package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// FuzzReadJSONArray checks the structural scanner against encoding/json: any
// input that json.Unmarshal accepts as an array must yield exactly its
// elements, compacted, with no errors; any other input must end (EOF or a
// fatal error) without panicking.
func FuzzReadJSONArray(f *testing.F) {
	for _, seed := range []string{
		`[]`, `[1,2,3]`, "[\n  {\n    \"a\": \"x\"\n  }\n]", `["a],[b", {"k":"\"]}"}]`, `[[[]],{}]`,
		`[1,,2]`, `[{"a":}]`, `["\u005d"]`, `[1] x`, `[`, `[{"a":"b\\"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		var want []json.RawMessage
		valid := json.Unmarshal(input, &want) == nil && bytes.HasPrefix(bytes.TrimLeft(input, " \t\r\n"), []byte("["))
		r := NewReader(bytes.NewReader(input), "fuzz", FormatJSON)
		var got [][]byte
		for i := 0; ; i++ {
			if i > len(input)+2 {
				t.Fatalf("more results than input bytes: the reader does not advance")
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var se *SyntaxError
			if errors.As(err, &se) {
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
			if !json.Valid(rec.Data) {
				t.Fatalf("record %q is not valid JSON", rec.Data)
			}
			got = append(got, rec.Data)
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
