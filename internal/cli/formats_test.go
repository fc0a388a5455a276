package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestPutInputFormats: plain-text lines (a log) are delivered byte for
// byte from a file and from stdin; a .ndjson.gz file is delivered record
// for record; --output json prints one document whose delivered count is
// the records sent.
func TestPutInputFormats(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	logLines := []string{
		"2026-11-30 INFO started",
		"hello world",
		`[INFO] {"not": json} \xff raw`,
		"  indented line with trailing spaces  ",
		"12345",
	}
	var ndjson []string
	for i := range 1200 {
		ndjson = append(ndjson, fmt.Sprintf(`{"n":%d,"msg":"line %d"}`, i, i))
	}
	gz := func(t *testing.T, lines []string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "events.ndjson.gz")
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	textFile := func(t *testing.T, lines []string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "app.log")
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name  string
		input func(t *testing.T) (arg string, stdin string)
		want  []string
	}{
		{"text file", func(t *testing.T) (string, string) { return textFile(t, logLines), "" }, logLines},
		{"text on stdin", func(t *testing.T) (string, string) { return "-", strings.Join(logLines, "\n") + "\n" }, logLines},
		{"gzip NDJSON file", func(t *testing.T) (string, string) { return gz(t, ndjson), "" }, ndjson},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := "formats-" + strings.ReplaceAll(tc.name, " ", "-")
			endpoint, objects := startEmulatorBackend(t, stream)
			arg, stdin := tc.input(t)
			dl := filepath.Join(t.TempDir(), "dead.ndjson")
			code, out, errOut := runCLI(t, strings.NewReader(stdin), "--endpoint-url", endpoint, "--region", "us-east-1",
				"--output", "json", "put", "--stream", stream, "--dead-letter", dl, arg)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			doc := summaryJSON(t, out)
			if doc.Delivered != int64(len(tc.want)) || doc.RecordsRead != int64(len(tc.want)) {
				t.Errorf("JSON summary: read %d, delivered %d; want %d", doc.RecordsRead, doc.Delivered, len(tc.want))
			}
			var got []string
			for _, obj := range objects() {
				got = append(got, strings.Split(strings.TrimSuffix(string(obj), "\n"), "\n")...)
			}
			assertExactlyOnce(t, got, tc.want)
		})
	}
}

// TestPutInputEdges: NDJSON whose first line is an array is read as NDJSON,
// not as one array; a line far over the record limit between two good
// lines is rejected as too-large with its position, and the lines around it
// are delivered (exit 1).
func TestPutInputEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Run("NDJSON of arrays", func(t *testing.T) {
		endpoint, objects := startEmulatorBackend(t, "arrays")
		code, out, errOut := runCLI(t, strings.NewReader("[1,2]\n[3,4]\n"), "--endpoint-url", endpoint, "--region", "us-east-1",
			"put", "--stream", "arrays", "--dead-letter", filepath.Join(t.TempDir(), "dl.ndjson"), "-")
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		assertExactlyOnce(t, deliveredLines(t, objects()), []string{"[1,2]", "[3,4]"})
	})
	t.Run("huge line", func(t *testing.T) {
		endpoint, objects := startEmulatorBackend(t, "huge")
		path := filepath.Join(t.TempDir(), "big.ndjson")
		huge := `{"blob":"` + strings.Repeat("x", 20<<20) + `"}`
		if err := os.WriteFile(path, []byte(`{"n":1}`+"\n"+huge+"\n"+`{"n":3}`+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		dl := filepath.Join(t.TempDir(), "dl.ndjson")
		code, out, errOut := runCLI(t, nil, "--endpoint-url", endpoint, "--region", "us-east-1",
			"put", "--stream", "huge", "--dead-letter", dl, path)
		if code != exitUndelivered {
			t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		assertExactlyOnce(t, deliveredLines(t, objects()), []string{`{"n":1}`, `{"n":3}`})
		letters := readDeadLetters(t, dl)
		if len(letters) != 1 || letters[0]["reason"] != "too-large" || letters[0]["source"] != path+":2" {
			t.Errorf("dead letters %v, want one too-large at %s:2", letters, path)
		}
	})
}
