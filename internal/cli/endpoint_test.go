package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
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

// TestPutEndpointVanishesMidRun: the endpoint goes away in the middle of a
// run. The records in flight are tried again without using up their
// attempts until the endpoint has been silent for --max-retry-time; then
// the run stops like a fatal error (exit 2, nothing dead-lettered, the
// checkpoint kept), and once the endpoint is back (an emulator restarted on
// the same data dir and address) the same command completes the set.
func TestPutEndpointVanishesMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const stream = "vanishing-endpoint"
	dataDir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	start := func(addr string) (*emulator.Server, string) {
		t.Helper()
		srv, err := emulator.New(emulator.DataDir(dataDir),
			emulator.Quotas(emulator.QuotaConfig{BytesPerSecond: 512 << 10, RecordsPerSecond: 100000, RequestsPerSecond: 1000}))
		if err != nil {
			t.Fatal(err)
		}
		url, err := srv.Start(addr)
		if err != nil {
			t.Fatal(err)
		}
		return srv, url
	}
	srv, url := start("127.0.0.1:0")
	createTestStream(t, url, stream)
	input, want := writeInput(t, 30000, 12)
	dlPath := filepath.Join(t.TempDir(), "dead.ndjson")
	args := []string{"--endpoint-url", url, "--region", "us-east-1", "put", "--stream", stream,
		"--dead-letter", dlPath, "--max-retry-time", "2s", input}
	// The third PutRecordBatch is held for 2 s: the endpoint goes away while
	// it is in flight, mid-run, however fast or loaded the machine (a poll
	// for any request in flight could miss every 2 ms request of a run that
	// then finished first).
	if err := srv.Control(emulator.DelayNext("PutRecordBatch", 2, time.Millisecond),
		emulator.DelayNext("PutRecordBatch", 1, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	sending := when(t, "the third PutRecordBatch is held", func() bool { return callsTaken(srv, 3) == 3 })
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		<-sending
		_ = srv.Close(context.Background())
	}()
	began := time.Now()
	code, out, errOut := runCLIContext(t, withTimeout(t, time.Minute), nil, nil, args...)
	if code != exitFatal || !strings.Contains(errOut, "stopped answering") || !strings.Contains(errOut, "run the same command again to resume") {
		t.Fatalf("exit %d, want 2 saying the endpoint stopped answering and how to resume\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("took %s to give up on a silent endpoint with --max-retry-time 2s", took)
	}
	if dl := readDeadLetters(t, dlPath); len(dl) != 0 {
		t.Errorf("%d records dead-lettered; the input holds them", len(dl))
	}

	// The first server lets go of its data directory once its Close has
	// returned, which can be after the put gave up on it.
	<-closed
	srv2, _ := start(strings.TrimPrefix(url, "http://"))
	t.Cleanup(func() { _ = srv2.Close(context.Background()) })
	code, out, errOut = runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("resume exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if err := srv2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertExactlyOnce(t, deliveredLines(t, backend.ReadTree(t, filepath.Join(dataDir, backend.Bucket))), want)
}

// TestPutDeadLetterWriteFailure: the disk under the dead-letter file is full
// (/dev/full) when a record fails. The run stops (exit 2, saying records
// could not be stored). A file input loses nothing: the records stay after
// the checkpoint and the same command with room for dead letters completes
// the set. stdin has no other copy: the summary says how many records were
// lost and does not call the run accounted.
func TestPutDeadLetterWriteFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	t.Run("file input", func(t *testing.T) {
		srv, endpoint, objects := backend.StartEmulatorServer(t, "full")
		if err := srv.Control(emulator.FailRecordsNext("PutRecordBatch", 1, emulator.FaultInternalFailure)); err != nil {
			t.Fatal(err)
		}
		input, want := writeInput(t, 5000, 13)
		args := func(dl string) []string {
			return []string{"--endpoint-url", endpoint, "--region", "us-east-1", "put", "--stream", "full",
				"--max-attempts", "1", "--concurrency", "1", "--dead-letter", dl, input}
		}
		code, out, errOut := runCLI(t, nil, args("/dev/full")...)
		if code != exitFatal || !strings.Contains(errOut, "dead-letter write failed") {
			t.Fatalf("exit %d, want 2 saying the dead-letter write failed\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		if strings.Contains(errOut, "LOST") {
			t.Errorf("records of a file input counted as lost; the checkpoint keeps them:\n%s", errOut)
		}
		dl := filepath.Join(t.TempDir(), "dead.ndjson")
		code, out, errOut = runCLI(t, nil, args(dl)...)
		if code != 0 {
			t.Fatalf("resume exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		assertExactlyOnce(t, deliveredLines(t, objects()), want)
	})
	t.Run("stdin", func(t *testing.T) {
		srv, endpoint, _ := backend.StartEmulatorServer(t, "full-stdin")
		if err := srv.Control(emulator.FailRecordsNext("PutRecordBatch", 1, emulator.FaultInternalFailure)); err != nil {
			t.Fatal(err)
		}
		var in strings.Builder
		for i := range 2000 {
			fmt.Fprintf(&in, "{\"n\":%d}\n", i)
		}
		code, out, errOut := runCLI(t, strings.NewReader(in.String()), "--endpoint-url", endpoint, "--region", "us-east-1",
			"put", "--stream", "full-stdin", "--max-attempts", "1", "--concurrency", "1", "--dead-letter", "/dev/full", "-")
		if code != exitFatal || !strings.Contains(errOut, "LOST (the dead-letter write failed)") || !strings.Contains(errOut, "NO:") {
			t.Fatalf("exit %d, want 2 with the lost records in the summary\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})
}
