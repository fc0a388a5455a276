package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// TestPutLiveStdin: records written to stdin are delivered after --linger
// while stdin stays open, as `tail -F app.log | firehose put --stream s -`
// needs; closing stdin ends the run with everything delivered.
func TestPutLiveStdin(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const stream = "live"
	endpoint, objects := startEmulatorBackend(t, stream)
	pr, pw := io.Pipe()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runCLIContext(t, withTimeout(t, time.Minute), pr, nil,
			"--endpoint-url", endpoint, "--region", "us-east-1", "put", "--stream", stream,
			"--linger", "100ms", "--dead-letter", filepath.Join(t.TempDir(), "dl.ndjson"), "-")
		done <- result{code, out, errOut}
	}()
	for i := range 3 {
		if _, err := fmt.Fprintf(pw, "{\"n\":%d}\n", i); err != nil {
			t.Fatal(err)
		}
	}
	// Stdin is still open: the three records must arrive anyway.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := deliveredLines(t, objects()); len(got) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("records written to an open stdin were not delivered within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := io.WriteString(pw, "{\"n\":3}\n"); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	r := <-done
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
	}
	assertExactlyOnce(t, deliveredLines(t, objects()), []string{`{"n":0}`, `{"n":1}`, `{"n":2}`, `{"n":3}`})
}

// TestPutSecondSignalStopsAtOnce: the first SIGTERM waits for in-flight
// requests (here held by the emulator's scripted delay); the second cancels
// them at once. The checkpoint holds: the same command then
// delivers every record, the ones whose responses were lost possibly twice,
// never more than the first run's "possible duplicates".
func TestPutSecondSignalStopsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const stream = "stalled"
	srv, endpoint, objects := backend.StartEmulatorServer(t, stream)
	// Every PutRecordBatch is held for 20 s before it is served.
	if err := srv.Control(emulator.DelayNext("PutRecordBatch", 1000, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	inFlight := when(t, "a PutRecordBatch is in flight", func() bool { return callsTaken(srv, 1000) > 0 })
	input, want := writeInput(t, 3000, 6)
	dlPath := filepath.Join(t.TempDir(), "dead.ndjson")
	sigc := make(chan chan<- os.Signal, 1)
	notify := Signals(func(c chan<- os.Signal) { sigc <- c })
	var firstAt, secondAt time.Time
	go func() {
		c := <-sigc
		<-inFlight
		firstAt = time.Now()
		c <- syscall.SIGTERM
		time.Sleep(300 * time.Millisecond)
		secondAt = time.Now()
		c <- syscall.SIGTERM
	}()
	start := time.Now()
	code, out, errOut := runCLIContext(t, withTimeout(t, time.Minute), nil, []MainOption{notify},
		"--endpoint-url", endpoint, "--region", "us-east-1", "put", "--stream", stream,
		"--dead-letter", dlPath, "--shutdown-timeout", "30s", input)
	if code != 143 {
		t.Fatalf("exit %d, want 143\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if secondAt.IsZero() || time.Since(firstAt) < 250*time.Millisecond {
		t.Errorf("the run ended %s after the first signal, before the second: the first must wait for in-flight requests", time.Since(firstAt))
	}
	if time.Since(secondAt) > 5*time.Second {
		t.Errorf("took %s after the second signal (%s in all): not at once", time.Since(secondAt), time.Since(start))
	}
	if !strings.Contains(errOut, "accounted") || !strings.Contains(errOut, "yes:") {
		t.Errorf("summary does not account for every record:\n%s", errOut)
	}
	m := regexp.MustCompile(`possible duplicates\s+(\d+)`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no possible duplicates line:\n%s", errOut)
	}
	possible, _ := strconv.Atoi(m[1])

	srv.ClearFaults()
	code, out, errOut = runCLI(t, nil, "--endpoint-url", endpoint, "--region", "us-east-1", "put", "--stream", stream,
		"--dead-letter", dlPath, input)
	if code != 0 {
		t.Fatalf("resume exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	delivered := deliveredLines(t, objects())
	assertCovered(t, want, delivered, dlPath)
	if extra := len(delivered) - len(want); extra > possible {
		t.Errorf("%d duplicates delivered, but the stopped run warned of only %d possible duplicates", extra, possible)
	}
}
