package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPutFailsFastOnABadEndpoint: an endpoint that does not answer as
// Firehose, or no credentials at all, stops the run within seconds before
// anything is read: exit 2, a message naming the endpoint or what to set,
// nothing dead-lettered, no checkpoint.
func TestPutFailsFastOnABadEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	emulatorURL, _ := startEmulatorBackend(t, "fast")
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	notFirehose := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "Unsupported method ('POST')", http.StatusNotImplemented)
	}))
	t.Cleanup(notFirehose.Close)
	input, _ := writeInput(t, 100000, 3)
	tests := []struct {
		name     string
		endpoint string
		noCreds  bool
		want     string
	}{
		{"nothing listening", closedURL, false, "no answer from the Firehose endpoint " + closedURL},
		{"https against plain HTTP", strings.Replace(emulatorURL, "http://", "https://", 1), false, "HTTP response to HTTPS client"},
		{"not a Firehose endpoint", notFirehose.URL, false, "it is not a Firehose endpoint"},
		{"no credentials", "", true, "no AWS credentials found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.noCreds {
				t.Setenv("AWS_ACCESS_KEY_ID", "")
				t.Setenv("AWS_SECRET_ACCESS_KEY", "")
				t.Setenv("AWS_PROFILE", "")
				t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
				t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
				t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
			}
			dlPath := filepath.Join(dir, "dead.ndjson")
			args := []string{"--region", "us-east-1", "put", "--stream", "fast", "--dead-letter", dlPath, input}
			if tc.endpoint != "" {
				args = append([]string{"--endpoint-url", tc.endpoint}, args...)
			}
			start := time.Now()
			code, out, errOut := runCLI(t, nil, args...)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s to fail", took)
			}
			if code != exitFatal || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want 2 with %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, out, errOut)
			}
			if _, err := os.Stat(dlPath); !os.IsNotExist(err) {
				t.Errorf("a dead-letter file was written: %v", err)
			}
			if _, err := os.Stat(strings.TrimSuffix(input, filepath.Ext(input)) + ".checkpoint.json"); !os.IsNotExist(err) {
				t.Errorf("a checkpoint was written: %v", err)
			}
		})
	}
}

// TestPutRefusesADeadLetterFileItCannotWrite: the dead-letter file is
// opened before anything is sent; one that cannot be written stops the run
// at once (exit 2, the flag and path named), and a run where nothing
// failed leaves no empty dead-letter file behind.
func TestPutRefusesADeadLetterFileItCannotWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	endpoint, objects := startEmulatorBackend(t, "dl")
	input, want := writeInput(t, 1000, 4)
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(notADir, "dead.ndjson")
	code, out, errOut := runCLI(t, nil, "--endpoint-url", endpoint, "--region", "us-east-1", "put", "--stream", "dl", "--dead-letter", bad, input)
	if code != exitFatal || !strings.Contains(errOut, "--dead-letter "+bad) {
		t.Fatalf("exit %d, want 2 naming --dead-letter\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := len(objects()); n != 0 {
		t.Fatalf("%d objects delivered although the dead-letter file cannot be written", n)
	}
	good := filepath.Join(t.TempDir(), "dead.ndjson")
	code, out, errOut = runCLI(t, nil, "--endpoint-url", endpoint, "--region", "us-east-1", "put", "--stream", "dl", "--dead-letter", good, input)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	assertExactlyOnce(t, deliveredLines(t, objects()), want)
	if _, err := os.Stat(good); !os.IsNotExist(err) {
		t.Errorf("an empty dead-letter file was left behind: %v", err)
	}
}

// TestPutRefusesTheInputAsDeadLetterFile: a dead-letter file that is the
// input (by device and inode, whatever the path says) is refused before
// anything is read or sent.
func TestPutRefusesTheInputAsDeadLetterFile(t *testing.T) {
	input, _ := writeInput(t, 10, 2)
	link := filepath.Join(t.TempDir(), "other-name.ndjson")
	if err := os.Link(input, link); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(input)
	for _, dl := range []string{input, link} {
		code, out, errOut := runCLI(t, nil, "--endpoint-url", "http://127.0.0.1:1", "--region", "us-east-1",
			"put", "--stream", "s", "--dead-letter", dl, input)
		if code != exitFatal || !strings.Contains(errOut, "is the input file") {
			t.Errorf("--dead-letter %s: exit %d, want 2 and a refusal\nstdout:\n%s\nstderr:\n%s", dl, code, out, errOut)
		}
	}
	if after, _ := os.ReadFile(input); string(after) != string(before) {
		t.Error("the input file changed")
	}
}
