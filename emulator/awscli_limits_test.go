package emulator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSCLIRefusedPastEachLimit: an independent client, the AWS CLI, is
// refused past the per-record and per-request size limits with the errors
// AWS documents, and nothing of a refused request is delivered.
func TestAWSCLIRefusedPastEachLimit(t *testing.T) {
	srv, url := startServer(t)
	mustAWS(t, url, "firehose", "create-delivery-stream", "--delivery-stream-name", "limits",
		"--extended-s3-destination-configuration",
		`{"BucketARN":"arn:aws:s3:::limits-bucket","RoleARN":"arn:aws:iam::000000000000:role/r"}`)

	big := strings.Repeat("a", 1_024_001)
	near := strings.Repeat("b", 1_000_000)
	tests := []struct {
		name     string
		records  []string
		wantCode string
		wantText string
	}{
		{name: "record over 1,024,000 bytes", records: []string{"ok", big}, wantCode: "ValidationException", wantText: "less than or equal to 1024000"},
		{name: "request over 4 MiB", records: []string{near, near, near, near, near}, wantCode: "InvalidArgumentException", wantText: "Records size exceeds 4 MB limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := make([]map[string]string, len(tc.records))
			for i, r := range tc.records {
				recs[i] = map[string]string{"Data": r}
			}
			input, err := json.Marshal(map[string]any{"DeliveryStreamName": "limits", "Records": recs})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "batch.json")
			if err := os.WriteFile(file, input, 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := awsCLI(t, url, "firehose", "put-record-batch", "--cli-input-json", "file://"+file)
			if code == 0 || !strings.Contains(stderr, tc.wantCode) || !strings.Contains(stderr, tc.wantText) {
				t.Errorf("exit %d, stderr %.300q; want %s with %q", code, stderr, tc.wantCode, tc.wantText)
			}
		})
	}
	// A record accepted afterwards is all that reaches the bucket: the "ok"
	// record of the refused batch was not delivered.
	mustAWS(t, url, "firehose", "put-record", "--delivery-stream-name", "limits", "--record", `{"Data":"after"}`)
	if err := srv.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var delivered []string
	err := filepath.WalkDir(filepath.Join(srv.DataDir(), "limits-bucket"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		delivered = append(delivered, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(delivered, "|") != "after" {
		t.Errorf("delivered %q, want only the record put after the refusals", delivered)
	}
}
