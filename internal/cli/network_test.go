package cli

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// TestPutSurvivesNetworkFaults: connections dropped before the service
// accepts a request, responses lost after it stored the records, and
// answers held past the client's timeout, scripted in the emulator, are
// retried and lose nothing; the duplicates they cause are no more than the
// summary's "possible duplicates".
func TestPutSurvivesNetworkFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const stream = "flaky-network"
	srv, endpoint, objects := backend.StartEmulatorServer(t, stream)
	// Two rounds of the three faults on the first PutRecordBatch calls
	// (retries included): fewer than a record's 8 attempts, so nothing
	// can be dead-lettered.
	var faults []emulator.Fault
	for range 2 {
		faults = append(faults,
			emulator.LoseResponseNext("PutRecordBatch", 1),
			emulator.DropConnectionNext("PutRecordBatch", 1),
			emulator.DelayNext("PutRecordBatch", 1, 2*time.Second))
	}
	if err := srv.Control(faults...); err != nil {
		t.Fatal(err)
	}
	input, want := writeInput(t, 20000, 9)
	dlPath := filepath.Join(t.TempDir(), "dead.ndjson")
	code, out, errOut := runCLIContext(t, withTimeout(t, 2*time.Minute), nil, nil,
		"--endpoint-url", endpoint, "--region", "us-east-1", "--request-timeout", "500ms",
		"put", "--stream", stream, "--dead-letter", dlPath, input)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if left := srv.PendingFaults(); len(left) != 0 {
		t.Fatalf("%d scripted faults never met a call", len(left))
	}
	delivered := deliveredLines(t, objects())
	assertCovered(t, want, delivered, dlPath)
	if dl := readDeadLetters(t, dlPath); len(dl) != 0 {
		t.Errorf("%d records dead-lettered; every fault here is retryable", len(dl))
	}
	m := regexp.MustCompile(`possible duplicates\s+(\d+)`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no possible duplicates line:\n%s", errOut)
	}
	possible, _ := strconv.Atoi(m[1])
	extra := len(delivered) - len(want)
	if extra > possible {
		t.Errorf("%d duplicate lines delivered, but the summary warned of only %d possible duplicates", extra, possible)
	}
	if extra == 0 || possible == 0 {
		t.Errorf("%d duplicates delivered, %d possible: two responses were lost after the records were stored:\n%s", extra, possible, errOut)
	}
}
