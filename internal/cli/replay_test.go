package cli

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplayGoesOnPastDamagedAndHugeLines: a damaged line of a dead-letter
// file is rejected with its line number and the rest is replayed (exit 1);
// a line over the replay's limit is rejected as too large, never held in
// memory; records the service may already hold are counted.
func TestReplayGoesOnPastDamagedAndHugeLines(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const stream = "replayed"
	endpoint, objects := startEmulatorBackend(t, stream)
	letter := func(seq int, data string, maybe bool) string {
		return fmt.Sprintf(`{"seq":%d,"source":"in.ndjson:%d","reason":"retries-exhausted","attempts":8,"maybe_delivered":%v,"time":"2026-11-30T00:00:00Z","data":%q}`,
			seq, seq, maybe, base64.StdEncoding.EncodeToString([]byte(data)))
	}
	huge := `{"seq":9,"reason":"retries-exhausted","data":"` + strings.Repeat("A", 17<<20) + `"}`
	lines := []string{
		letter(1, `{"n":1}`, false),
		`{"seq":2, this line was cut`,
		letter(3, `{"n":3}`, true),
		huge,
		letter(5, `{"n":5}`, false),
	}
	dir := t.TempDir()
	dlFile := filepath.Join(dir, "in.deadletter.ndjson")
	if err := os.WriteFile(dlFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "--endpoint-url", endpoint, "--region", "us-east-1", "replay", "--stream", stream, dlFile)
	if code != exitUndelivered {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	assertExactlyOnce(t, deliveredLines(t, objects()), []string{`{"n":1}`, `{"n":3}`, `{"n":5}`})
	if !strings.Contains(out, "resent 1 record(s) whose earlier outcome was unknown") {
		t.Errorf("replay does not count the records that may be stored already:\n%s", out)
	}
	again := readDeadLetters(t, filepath.Join(dir, "in.deadletter.replay.ndjson"))
	reasons := map[string]string{}
	for _, d := range again {
		reasons[fmt.Sprint(d["source"])] = fmt.Sprint(d["reason"])
	}
	if len(again) != 2 || reasons[dlFile+":2"] != "invalid-json" || reasons[dlFile+":4"] != "too-large" {
		t.Errorf("replay's dead letters %v, want line 2 invalid-json and line 4 too-large", reasons)
	}
}
