package cli

import (
	"strings"
	"testing"
)

// TestUsageErrors: bad flags exit 2 with a message naming the flag, before
// anything starts.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"scenario protocol", []string{"scenario", "--local", "--cloudwatch-protocol", "xml"}, "--cloudwatch-protocol"},
		{"metrics protocol", []string{"metrics", "--stream", "s", "--cloudwatch-protocol", "xml"}, "--cloudwatch-protocol"},
		{"metrics period", []string{"metrics", "--stream", "s", "--period", "30s"}, "--period"},
		{"batch size", []string{"put", "--stream", "s", "--batch-size", "501", "-"}, "--batch-size 501"},
		{"pack size", []string{"put", "--stream", "s", "--pack-size", "2000000", "-"}, "--pack-size"},
		{"format", []string{"put", "--stream", "s", "--format", "csv", "-"}, "--format"},
		{"no stream", []string{"put", "-"}, "--stream is required"},
		{"local and endpoint", []string{"--endpoint-url", "http://127.0.0.1:1", "scenario", "--local"}, "--local and --endpoint-url"},
		{"log format", []string{"--log-format", "xml", "generate", "--out", "-"}, "--log-format"},
		{"unknown flag", []string{"put", "--nope"}, "unknown flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, tc.args...)
			if code != exitFatal {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not name %q", errOut, tc.want)
			}
		})
	}
}
