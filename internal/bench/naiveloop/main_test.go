package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

func TestNaiveLoopDeliversEveryLineOnce(t *testing.T) {
	tests := []struct {
		name       string
		records    int
		recordErr  float64
		wantResent bool
	}{
		{"one partial batch", 7, 0, false},
		{"several batches", 1234, 0, false},
		{"failed entries are resent", 1500, 0.2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, objects := backend.StartEmulator(t, "s", emulator.NoQuotas(),
				emulator.Faults(emulator.FaultConfig{Seed: 7, RecordErrorRate: tt.recordErr}))
			var in bytes.Buffer
			want := map[string]int{}
			for i := range tt.records {
				line := fmt.Sprintf(`{"id":%d}`, i)
				want[line] = 1
				in.WriteString(line + "\n")
				if i%100 == 0 {
					in.WriteString("\n") // empty lines are skipped
				}
			}
			path := filepath.Join(t.TempDir(), "in.ndjson")
			if err := os.WriteFile(path, in.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{"-endpoint-url", url, "-stream", "s", path}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var res Result
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("output %q: %v", stdout.String(), err)
			}
			if res.Records != int64(tt.records) || res.Delivered != int64(tt.records) {
				t.Errorf("records %d delivered %d, want %d", res.Records, res.Delivered, tt.records)
			}
			if (res.Resent > 0) != tt.wantResent {
				t.Errorf("resent = %d, want some: %v", res.Resent, tt.wantResent)
			}
			got := map[string]int{}
			for _, obj := range objects() {
				if len(obj) > 0 && obj[len(obj)-1] != '\n' {
					t.Errorf("object does not end in a newline: %q", lastN(obj, 40))
				}
				for _, line := range strings.Split(strings.TrimSuffix(string(obj), "\n"), "\n") {
					got[line]++
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d distinct lines delivered, want %d", len(got), len(want))
			}
			for line, n := range got {
				if want[line] != n {
					t.Errorf("line %q delivered %d times, want %d", line, n, want[line])
					break
				}
			}
		})
	}
}

func TestNaiveLoopUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no file", []string{"-endpoint-url", "http://127.0.0.1:1", "-stream", "s"}},
		{"no stream", []string{"-endpoint-url", "http://127.0.0.1:1", "f"}},
		{"missing file", []string{"-endpoint-url", "http://127.0.0.1:1", "-stream", "s", "/nonexistent/in.ndjson"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

func lastN(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
