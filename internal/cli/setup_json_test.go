package cli

import (
	"encoding/json"
	"testing"

	"github.com/firehose-tools/firehose/internal/testutil/motoserver"
)

// TestSetupAndTeardownJSON: with --output json, setup and teardown print
// one JSON document on stdout listing the resources handled.
func TestSetupAndTeardownJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server; skipped with -short")
	}
	srv := motoserver.Start(t)
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--log-level", "error", "--output", "json"}
	type doc struct {
		Resources []resourceJSON `json:"resources"`
		Deleted   *int64         `json:"objects_deleted"`
	}
	tests := []struct {
		name        string
		args        []string
		want        map[string]string // name -> status
		wantDeleted bool
	}{
		{
			name: "setup",
			args: []string{"setup", "--stream", "json-stream", "--bucket", "json-bucket"},
			want: map[string]string{"json-bucket": "Created", "firehose-json-stream-delivery": "Created", "json-stream": "Created", "/aws/kinesisfirehose/json-stream": "Referenced"},
		},
		{
			name: "setup again",
			args: []string{"setup", "--stream", "json-stream", "--bucket", "json-bucket"},
			want: map[string]string{"json-bucket": "Exists", "firehose-json-stream-delivery": "Exists", "json-stream": "Exists", "/aws/kinesisfirehose/json-stream": "Referenced"},
		},
		{
			name:        "teardown",
			args:        []string{"teardown", "--stream", "json-stream", "--bucket", "json-bucket", "--yes"},
			want:        map[string]string{"json-bucket": "Deleted", "firehose-json-stream-delivery": "Deleted", "json-stream": "Deleted"},
			wantDeleted: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runInfraCLI(t, "", append(tc.args, common...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var d doc
			if err := json.Unmarshal([]byte(stdout), &d); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
			}
			got := map[string]string{}
			for _, r := range d.Resources {
				got[r.Name] = r.Status
			}
			if len(got) != len(tc.want) {
				t.Errorf("resources %v, want %v", got, tc.want)
			}
			for name, status := range tc.want {
				if got[name] != status {
					t.Errorf("%s: status %q, want %q (all: %v)", name, got[name], status, got)
				}
			}
			if (d.Deleted != nil) != tc.wantDeleted {
				t.Errorf("objects_deleted = %v, want present %v", d.Deleted, tc.wantDeleted)
			}
		})
	}
}
