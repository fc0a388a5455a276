package cli

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPutPackKeepsOutputIdentical: with --pack the S3 objects hold the same
// JSON lines as without, each record once, in far fewer Firehose records,
// and the billed bytes come close to the bytes sent.
func TestPutPackKeepsOutputIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	input, want := writeInput(t, 20000, 4)
	var outputs [2][]byte
	for i, args := range [][]string{{}, {"--pack"}} {
		const stream = "packed"
		endpoint, objects := startEmulatorBackend(t, stream)
		code, out, errOut := runCLI(t, nil, append([]string{"--endpoint-url", endpoint, "--region", "us-east-1",
			"put", "--stream", stream, "--concurrency", "1"}, append(args, input)...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
		objs := objects()
		assertExactlyOnce(t, deliveredLines(t, objs), want)
		outputs[i] = bytes.Join(objs, nil)

		m := regexp.MustCompile(`bytes sent\s+(\d+) in (\d+) Firehose records`).FindStringSubmatch(errOut)
		b := regexp.MustCompile(`billed ingestion \(5 KB per record\)\s+(\d+) bytes`).FindStringSubmatch(errOut)
		if m == nil || b == nil {
			t.Fatalf("summary lacks bytes/billed lines:\n%s", errOut)
		}
		sent, _ := strconv.ParseFloat(m[1], 64)
		fhRecords, _ := strconv.Atoi(m[2])
		billed, _ := strconv.ParseFloat(b[1], 64)
		if len(args) == 0 {
			if fhRecords != len(want) {
				t.Errorf("unpacked: %d Firehose records for %d input records", fhRecords, len(want))
			}
			continue
		}
		if fhRecords >= len(want)/100 {
			t.Errorf("packed: %d Firehose records for %d input records", fhRecords, len(want))
		}
		if billed > sent*1.10 {
			t.Errorf("packed: billed %v bytes for %v sent, want within 10%%", billed, sent)
		}
	}
	// Same bytes, whatever the object boundaries: both runs delivered the
	// same lines (checked above), and the same total.
	if len(outputs[0]) != len(outputs[1]) {
		t.Errorf("packed output has %d bytes, unpacked %d", len(outputs[1]), len(outputs[0]))
	}
	if strings.Count(string(outputs[1]), "\n") != len(want) {
		t.Errorf("packed output has %d lines, want %d", strings.Count(string(outputs[1]), "\n"), len(want))
	}
}
