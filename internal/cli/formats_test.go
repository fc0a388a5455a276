package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/firehose-tools/firehose/internal/ui"
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
			var doc ui.SummaryJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
			}
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
