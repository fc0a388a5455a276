package cli

// The "kill it for real" tests of issue 10: the real firehose binary, built
// once, runs as a subprocess against an in-process emulator and is stopped
// the ways a supervisor, a terminal or a shell pipeline stops it (SIGTERM,
// SIGINT, SIGHUP, SIGKILL, a closed stdout). Every record carries an id;
// afterwards every id is counted in what the emulator stored and in the
// dead-letter file.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/checkpoint"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// killRecordBytes is the size of every test record, newline included: the
// byte position of record i in an input is i*killRecordBytes.
const killRecordBytes = 100

// killQuota holds a put at 1 MiB/s (about 10,500 test records a second),
// so that a signal lands in the middle of it.
var killQuota = emulator.Quotas(emulator.QuotaConfig{BytesPerSecond: 1 << 20})

// killRecord is record id: `{"id":"00000042","pad":"…"}` and a newline,
// killRecordBytes long. variant changes the padding (a modified input).
func killRecord(id int, variant byte) []byte {
	const head = `{"id":"00000000","pad":"`
	pad := killRecordBytes - len(head) - len(`"}`) - 1
	b := make([]byte, 0, killRecordBytes)
	b = fmt.Appendf(b, `{"id":"%08d","pad":"`, id)
	for i := range pad {
		b = append(b, 'a'+(byte(id+i)+variant)%26)
	}
	return append(b, '"', '}', '\n')
}

// killRecordID parses the id of a record killRecord made (without its
// newline).
func killRecordID(t *testing.T, line []byte) int {
	t.Helper()
	line = bytes.TrimSuffix(line, []byte("\n"))
	if len(line) != killRecordBytes-1 || !bytes.HasPrefix(line, []byte(`{"id":"`)) {
		t.Fatalf("not a test record: %.120q", line)
	}
	id, err := strconv.Atoi(string(line[7:15]))
	if err != nil {
		t.Fatalf("record id: %v in %.120q", err, line)
	}
	return id
}

// writeKillInput writes records 0..n-1 as NDJSON into dir.
func writeKillInput(t *testing.T, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "input.ndjson")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		if _, err := w.Write(killRecord(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

var firehoseBuild struct {
	once sync.Once
	path string
	err  error
}

// firehoseBinary builds ./cmd/firehose once per test process and returns
// its path. The binary lives in the temporary directory under a name that
// depends on the module's directory, so repeated runs replace it rather
// than pile up, and worktrees of the module do not share it.
func firehoseBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the firehose binary")
	}
	firehoseBuild.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			firehoseBuild.err = err
			return
		}
		mod, err := exec.Command(goTool, "env", "GOMOD").Output()
		if err != nil {
			firehoseBuild.err = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		modDir := filepath.Dir(strings.TrimSpace(string(mod)))
		dir := filepath.Join(os.TempDir(), "firehose-kill-tests")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			firehoseBuild.err = err
			return
		}
		tmp, err := os.MkdirTemp(dir, "build-")
		if err != nil {
			firehoseBuild.err = err
			return
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		built := filepath.Join(tmp, "firehose")
		cmd := exec.Command(goTool, "build", "-o", built, "./cmd/firehose")
		cmd.Dir = modDir
		if out, err := cmd.CombinedOutput(); err != nil {
			firehoseBuild.err = fmt.Errorf("go build ./cmd/firehose: %w\n%s", err, out)
			return
		}
		sum := sha256.Sum256([]byte(modDir))
		final := filepath.Join(dir, fmt.Sprintf("firehose-%x", sum[:6]))
		firehoseBuild.err = os.Rename(built, final)
		firehoseBuild.path = final
	})
	if firehoseBuild.err != nil {
		t.Fatal(firehoseBuild.err)
	}
	return firehoseBuild.path
}

// killEmulator is an in-process emulator with one stream and its data in a
// temporary directory. Unlike backend.StartEmulator it sets no environment
// variables (the subprocess gets its own), so tests using it can run in
// parallel.
type killEmulator struct {
	srv  *emulator.Server
	url  string
	data string
}

func startKillEmulator(t *testing.T, stream string, opts ...emulator.Option) *killEmulator {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	srv, err := emulator.New(append([]emulator.Option{emulator.DataDir(data)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	u, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	backend.CreateStream(t, u, stream)
	return &killEmulator{srv: srv, url: u, data: data}
}

// delivered flushes the emulator's buffers and returns the id of every
// stored record, repeats included.
func (e *killEmulator) delivered(t *testing.T) []int {
	t.Helper()
	if err := e.srv.Flush(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	var ids []int
	for _, obj := range backend.ReadTree(t, filepath.Join(e.data, backend.Bucket)) {
		for line := range bytes.Lines(obj) {
			ids = append(ids, killRecordID(t, line))
		}
	}
	return ids
}

// switchProxy forwards to one emulator and then, from switchTo on, to
// another: the same command line can send its first run to a throttled
// emulator and its resume to a fast one.
type switchProxy struct {
	url    string
	target atomic.Pointer[url.URL]
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	p := &switchProxy{}
	p.switchTo(t, target)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(p.target.Load()) }}
	srv := httptest.NewServer(readWholeBody(rp))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *switchProxy) switchTo(t *testing.T, target string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p.target.Store(u)
}

// firehoseProc is one run of the binary.
type firehoseProc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	// exited is when Wait returned.
	exited time.Time
}

// killEnv is the environment of the subprocess: fake credentials and no
// shared AWS files, whatever the machine has.
func killEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-credentials"))
}

// startFirehose starts the binary in dir. stdin nil reads /dev/null.
// setup, when not nil, may change the command before it starts (its
// output files).
func startFirehose(t *testing.T, dir string, stdin io.Reader, setup func(*exec.Cmd), args ...string) *firehoseProc {
	t.Helper()
	p := &firehoseProc{done: make(chan struct{})}
	p.cmd = exec.Command(firehoseBinary(t), args...)
	p.cmd.Dir = dir
	p.cmd.Env = killEnv(dir)
	p.cmd.Stdin = stdin
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if setup != nil {
		setup(p.cmd)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.exited = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *firehoseProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the exit, at most limit (then it kills the process and
// fails), and returns the exit status: 128+n when a signal ended it.
func (p *firehoseProc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("still running after %s: killed\nstdout:\n%s\nstderr:\n%s", limit, p.stdout.String(), p.stderr.String())
	}
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (p *firehoseProc) output() string {
	return "stdout:\n" + p.stdout.String() + "\nstderr:\n" + p.stderr.String()
}

// summary parses the --output json summary on stdout.
func (p *firehoseProc) summary(t *testing.T) killSummary {
	t.Helper()
	var s killSummary
	if err := json.Unmarshal(p.stdout.Bytes(), &s); err != nil {
		t.Fatalf("summary on stdout: %v\n%s", err, p.output())
	}
	return s
}

// killSummary is the part of the JSON summary the tests read.
type killSummary struct {
	RecordsRead        int64  `json:"records_read"`
	Delivered          int64  `json:"delivered"`
	DeadLettered       int64  `json:"dead_lettered"`
	Rejected           int64  `json:"rejected"`
	Unsent             int64  `json:"unsent"`
	PossibleDuplicates int64  `json:"possible_duplicates"`
	CheckpointPath     string `json:"checkpoint_path"`
	Resumed            int64  `json:"resumed"`
}

// deadLetterIDs returns the id of every record in a dead-letter file.
func deadLetterIDs(t *testing.T, path string) []int {
	t.Helper()
	ids, partial := deadLetterRecords(t, path)
	if len(partial) > 0 {
		t.Fatalf("%d dead letters are not whole records, e.g. %.120q", len(partial), partial[0])
	}
	return ids
}

// deadLetterRecords returns the id of every whole record in a dead-letter
// file, and the data of the others: a record cut short where the reading
// of a pipe stopped.
func deadLetterRecords(t *testing.T, path string) (ids []int, partial [][]byte) {
	t.Helper()
	for _, d := range readDeadLetters(t, path) {
		raw, err := base64.StdEncoding.DecodeString(fmt.Sprint(d["data"]))
		if err != nil {
			t.Fatalf("dead letter data: %v", err)
		}
		if len(bytes.TrimSuffix(raw, []byte("\n"))) != killRecordBytes-1 {
			partial = append(partial, raw)
			continue
		}
		ids = append(ids, killRecordID(t, raw))
	}
	return ids, partial
}

// idCounts counts each id of 0..n-1 over the lists; an id out of range
// fails the test.
func idCounts(t *testing.T, n int, lists ...[]int) []int {
	t.Helper()
	counts := make([]int, n)
	for _, l := range lists {
		for _, id := range l {
			if id < 0 || id >= n {
				t.Fatalf("record id %d was never written (ids 0..%d)", id, n-1)
			}
			counts[id]++
		}
	}
	return counts
}

// assertEachOnce fails unless every id of 0..n-1 appears exactly once over
// the lists.
func assertEachOnce(t *testing.T, n int, lists ...[]int) {
	t.Helper()
	missing, dup, firstMissing := 0, 0, -1
	for id, c := range idCounts(t, n, lists...) {
		switch {
		case c == 0:
			missing++
			if firstMissing < 0 {
				firstMissing = id
			}
		case c > 1:
			dup += c - 1
		}
	}
	if missing > 0 || dup > 0 {
		t.Fatalf("of %d records: %d missing (the first id %d), %d duplicates", n, missing, firstMissing, dup)
	}
}

// knownBug reports a failure that is a known, reported bug of the code
// under test (issue 10): the test is skipped with the figures, so that the
// suite stays green until the fix, and fails with FIREHOSE_KNOWN_BUGS=1.
// Call it after every other check of the test: a skip ends the test.
func knownBug(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("FIREHOSE_KNOWN_BUGS") == "1" {
		t.Errorf("KNOWN BUG: "+format, args...)
		return
	}
	t.Skipf("KNOWN BUG (FIREHOSE_KNOWN_BUGS=1 makes it fail): "+format, args...)
}

// waitDelivered polls the emulator until it stored at least n records,
// failing after 30 s or when the process has exited.
func waitDelivered(t *testing.T, emu *killEmulator, n int, p *firehoseProc) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := len(emu.delivered(t))
		if got >= n {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("exited with %d of %d records stored\n%s", got, n, p.output())
		default:
		}
		if time.Now().After(deadline) {
			_ = p.cmd.Process.Kill()
			<-p.done // the output is read once the process is gone
			t.Fatalf("%d of %d records stored after 30s\n%s", got, n, p.output())
		}
	}
}

// sendArgs is the command line of a put through endpoint with a JSON
// summary on stdout.
func sendArgs(endpoint, stream string, extra ...string) []string {
	return append([]string{"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json",
		"put", "--stream", stream}, extra...)
}

// TestKillGracefulSignalThenResume: SIGTERM, SIGHUP or SIGINT in the middle
// of a put held at 1 MiB/s ends the run with 128+signal within the
// shutdown timeout (10 s) + 2 s, leaves no dead-letter file (the input is
// the durable copy), and the same command then delivers the rest: every
// record exactly once.
func TestKillGracefulSignalThenResume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		sig      syscall.Signal
		wantCode int
		records  int
		after    int // records stored when the signal comes
	}{
		{name: "SIGTERM", sig: syscall.SIGTERM, wantCode: 143, records: 300_000, after: 25_000},
		{name: "SIGHUP", sig: syscall.SIGHUP, wantCode: 129, records: 60_000, after: 15_000},
		{name: "SIGINT", sig: syscall.SIGINT, wantCode: 130, records: 60_000, after: 15_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const stream = "graceful"
			dir := t.TempDir()
			input := writeKillInput(t, dir, tc.records)
			held := startKillEmulator(t, stream, killQuota)
			fast := startKillEmulator(t, stream, emulator.NoQuotas())
			proxy := newSwitchProxy(t, held.url)
			dlPath := filepath.Join(dir, "dead.ndjson")
			args := sendArgs(proxy.url, stream, "--dead-letter", dlPath, input)

			p := startFirehose(t, dir, nil, nil, args...)
			// The signal comes mid-run, once tc.after records are stored,
			// however slowly a loaded machine starts the binary.
			waitDelivered(t, held, tc.after, p)
			signalled := time.Now()
			p.signal(t, tc.sig)
			if code := p.wait(t, time.Minute); code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tc.wantCode, p.output())
			}
			if d := p.exited.Sub(signalled); d > 12*time.Second {
				t.Errorf("exited %s after %s, want within 12s", d.Round(time.Millisecond), tc.name)
			}
			first := held.delivered(t)
			if len(first) == 0 || len(first) >= tc.records {
				t.Fatalf("delivered %d of %d before %s: not mid-run", len(first), tc.records, tc.name)
			}
			if info, err := os.Stat(dlPath); err == nil && info.Size()*100 >= int64(tc.records*killRecordBytes) {
				t.Errorf("dead-letter file of %d bytes after %s: at least 1%% of the input", info.Size(), tc.name)
			}
			sum := p.summary(t)
			if sum.CheckpointPath == "" {
				t.Errorf("the summary names no checkpoint\n%s", p.output())
			}
			t.Logf("%s after %d records: exit in %s, delivered %d of %d, unsent %d, dead-lettered %d",
				tc.name, tc.after, p.exited.Sub(signalled).Round(time.Millisecond), len(first), tc.records, sum.Unsent, sum.DeadLettered)

			proxy.switchTo(t, fast.url)
			resume := startFirehose(t, dir, nil, nil, args...)
			if code := resume.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("resume: exit %d\n%s", code, resume.output())
			}
			if !strings.Contains(resume.stderr.String(), "resuming "+input+" at record ") {
				t.Errorf("the resume does not say where it starts:\n%s", resume.output())
			}
			assertEachOnce(t, tc.records, first, fast.delivered(t), deadLetterIDs(t, dlPath))
			if _, err := os.Stat(sum.CheckpointPath); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("checkpoint still there after the complete run: %v", err)
			}
		})
	}
}

// TestKillSIGKILLThenResume: SIGKILL at three seeded random moments, each
// time followed by the same command, until one run completes: no record is
// lost, the checkpoint never counts a record that was not stored, and each
// kill costs at most the records that can be stored and not yet saved in
// the checkpoint: the requests in flight (--concurrency x --batch-size)
// plus what the emulator accepts at 1 MiB/s in two checkpoint intervals
// and a save.
func TestKillSIGKILLThenResume(t *testing.T) {
	t.Parallel()
	const (
		stream      = "killed"
		records     = 120_000
		kills       = 3
		concurrency = 4
		batchSize   = 500
		// checkpointInterval is the pipeline's save interval (pipeline.go).
		checkpointInterval = 250 * time.Millisecond
	)
	inFlight := concurrency * batchSize
	// Each kill comes at least 1.5 s into its run, when the emulator's
	// one-second burst is long spent: records are then accepted at 1 MiB/s
	// at most. What was accepted before the last save is in the checkpoint;
	// the last save may be up to one interval old, plus the interval that
	// the tracker saw it late, plus 250 ms for the save itself (fsync).
	window := 2*checkpointInterval + 250*time.Millisecond
	perKillBound := inFlight + int(window.Seconds()*float64(1<<20))/killRecordBytes

	dir := t.TempDir()
	input := writeKillInput(t, dir, records)
	emu := startKillEmulator(t, stream, killQuota)
	args := sendArgs(emu.url, stream, "--concurrency", strconv.Itoa(concurrency), "--batch-size", strconv.Itoa(batchSize),
		"--dead-letter", filepath.Join(dir, "dead.ndjson"), input)
	ckptPath := strings.TrimSuffix(input, ".ndjson") + ".checkpoint.json"
	rng := rand.New(rand.NewPCG(10, 1))

	var lostProgress []int
	runs := 0
	wantResume := "" // what the next run must say it resumes from
	for ; ; runs++ {
		p := startFirehose(t, dir, nil, nil, args...)
		if runs >= kills {
			if code := p.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("run %d: exit %d\n%s", runs+1, code, p.output())
			}
			if !strings.Contains(p.stderr.String(), wantResume) {
				t.Errorf("run %d does not say %q:\n%s", runs+1, wantResume, p.output())
			}
			break
		}
		// A moment between 1.5 s and 3.5 s into the run.
		at := 1500*time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Second)))
		select {
		case <-p.done:
			t.Fatalf("run %d ended before its SIGKILL at %s\n%s", runs+1, at, p.output())
		case <-time.After(at):
		}
		p.signal(t, syscall.SIGKILL)
		if code := p.wait(t, 10*time.Second); code != 128+int(syscall.SIGKILL) {
			t.Fatalf("run %d: exit %d after SIGKILL\n%s", runs+1, code, p.output())
		}
		if !strings.Contains(p.stderr.String(), wantResume) {
			t.Errorf("run %d does not say %q:\n%s", runs+1, wantResume, p.output())
		}
		stored := idCounts(t, records, emu.delivered(t), deadLetterIDs(t, filepath.Join(dir, "dead.ndjson")))
		// settled[id]: the checkpoint on disk says record id needs no resend
		// (record numbers are 1-based: id+1).
		settled := make([]bool, records)
		var settledCount int64
		cp, err := checkpoint.Load(ckptPath)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			t.Fatalf("run %d: the checkpoint after SIGKILL does not load: %v", runs+1, err)
		default:
			for id := range cp.Watermark.Record - 1 {
				settled[id] = true
			}
			for _, r := range cp.Settled {
				for rec := r.First; rec <= r.Last; rec++ {
					settled[rec-1] = true
				}
			}
			settledCount = cp.SettledCount()
			wantResume = fmt.Sprintf("resuming %s at record %d (byte %d): %d settled before",
				input, cp.Watermark.Record, cp.Watermark.Offset, settledCount)
		}
		unique, lost, phantom := 0, 0, 0
		for id, c := range stored {
			switch {
			case c > 0 && !settled[id]:
				lost++ // stored, and the resume sends it again
			case c == 0 && settled[id]:
				phantom++ // the resume skips a record never stored
			}
			if c > 0 {
				unique++
			}
		}
		lostProgress = append(lostProgress, lost)
		t.Logf("SIGKILL %d at %s: %d distinct records stored, %d settled in the checkpoint: %d to send again",
			runs+1, at.Round(time.Millisecond), unique, settledCount, lost)
		if phantom > 0 {
			t.Errorf("SIGKILL %d: the checkpoint counts %d records as settled that were never stored: the resume loses them", runs+1, phantom)
		}
		if lost > perKillBound {
			t.Errorf("SIGKILL %d: %d records stored but not in the checkpoint, more than the bound %d", runs+1, lost, perKillBound)
		}
	}
	counts := idCounts(t, records, emu.delivered(t), deadLetterIDs(t, filepath.Join(dir, "dead.ndjson")))
	missing, dups := 0, 0
	for _, c := range counts {
		if c == 0 {
			missing++
		}
		if c > 1 {
			dups += c - 1
		}
	}
	t.Logf("after %d SIGKILLs and %d runs: %d duplicates (bound %d per kill, %d in all; lost progress per kill %v)",
		kills, runs+1, dups, perKillBound, kills*perKillBound, lostProgress)
	if missing > 0 {
		t.Fatalf("%d of %d records lost", missing, records)
	}
	if dups > kills*perKillBound {
		t.Errorf("%d duplicates, more than %d kills x %d", dups, kills, perKillBound)
	}
	if _, err := os.Stat(ckptPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("checkpoint still there after the complete run: %v", err)
	}
}

// TestKillClosedOutputPipe is `firehose put ... 2>&1 | head -1`: stdout and
// stderr are one pipe that the reader closes after the first line. The
// process must not die of SIGPIPE: it finishes or stops gracefully, and
// with a resume if it stopped, every record is delivered exactly once.
func TestKillClosedOutputPipe(t *testing.T) {
	t.Parallel()
	const (
		stream  = "head"
		records = 30_000
	)
	dir := t.TempDir()
	input := writeKillInput(t, dir, records)
	emu := startKillEmulator(t, stream, killQuota)
	dlPath := filepath.Join(dir, "dead.ndjson")
	// The text output: the progress and the summary go to the pipe.
	args := []string{"--endpoint-url", emu.url, "--region", "us-east-1", "--log-level", "debug",
		"put", "--stream", stream, "--dead-letter", dlPath, input}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startFirehose(t, dir, nil, func(cmd *exec.Cmd) { cmd.Stdout, cmd.Stderr = w, w }, args...)
	_ = w.Close() // the child holds the write end
	line, err := bufio.NewReader(r).ReadString('\n')
	_ = r.Close()
	if err != nil {
		t.Fatalf("no first line: %v", err)
	}
	code := p.wait(t, time.Minute)
	t.Logf("first line %.100q; exit %d", line, code)
	if code == 128+int(syscall.SIGPIPE) {
		t.Fatalf("killed by SIGPIPE")
	}
	// Every record was delivered: a summary that could not be written to a
	// closed pipe does not change the outcome.
	if code != 0 {
		t.Errorf("exit %d, want 0: the send completed", code)
	}
	ckpt := strings.TrimSuffix(input, ".ndjson") + ".checkpoint.json"
	if _, err := os.Stat(ckpt); err == nil {
		resume := startFirehose(t, dir, nil, nil, args...)
		if code := resume.wait(t, time.Minute); code != 0 {
			t.Fatalf("resume: exit %d\n%s", code, resume.output())
		}
	}
	assertEachOnce(t, records, emu.delivered(t), deadLetterIDs(t, dlPath))
}

// pipeCapacity is the capacity of the pipe f is an end of (F_GETPIPE_SZ).
func pipeCapacity(t *testing.T, f *os.File) int {
	t.Helper()
	const fGetPipeSz = 1032
	n, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), fGetPipeSz, 0)
	if errno != 0 {
		t.Fatalf("F_GETPIPE_SZ: %v", errno)
	}
	return int(n)
}

// pipeWriter writes records 0..n-1 into w in chunks of 40 records (4,000
// bytes, under PIPE_BUF, so each chunk is written whole or not at all) and
// returns how many records it wrote when w fails or all are written.
func pipeWriter(w io.WriteCloser, n int, stallAfter int, stall <-chan struct{}) <-chan int {
	written := make(chan int, 1)
	go func() {
		defer func() { _ = w.Close() }()
		const chunk = 40
		buf := make([]byte, 0, chunk*killRecordBytes)
		i := 0
		for i < n {
			if i == stallAfter {
				<-stall
			}
			buf = buf[:0]
			end := min(i+chunk, n)
			if stallAfter > i && stallAfter < end {
				end = stallAfter
			}
			for id := i; id < end; id++ {
				buf = append(buf, killRecord(id, 0)...)
			}
			if _, err := w.Write(buf); err != nil {
				break
			}
			i = end
		}
		written <- i
	}()
	return written
}

// TestKillStdinFastWriter: `put -` reading a fast writer, stopped by
// SIGTERM: every record it read is delivered or dead-lettered, so the ids
// found are 0..max with no gap, and what the writer wrote beyond them fits
// in the pipe (it was never read). The read-ahead is bounded: what is
// dead-lettered fits in the producer's buffer (3 x concurrency + 2
// batches), the read-ahead queue and the reader's 64 KiB buffer.
//
// KNOWN BUG (reported to the lead): the stop keeps reading the pipe for
// asyncSource's drain grace (100 ms), which from a fast writer is about
// 100,000 records, all dead-lettered; and what the reader holds when the
// grace ends (its buffer, the queue) is lost: neither delivered nor
// dead-lettered nor left in the pipe.
func TestKillStdinFastWriter(t *testing.T) {
	t.Parallel()
	const (
		stream      = "stdin"
		records     = 200_000
		concurrency = 4
		batchSize   = 500
		// readAhead is the pipeline's asyncSource queue (readAheadRecords)
		// and the record its goroutine holds.
		readAhead = readAheadRecords + 1
		// readerBuffer is what records.Reader holds: 64 KiB.
		readerBuffer = 64 << 10
	)
	bound := (3*concurrency+2)*batchSize + readAhead + readerBuffer/killRecordBytes + 1
	dir := t.TempDir()
	emu := startKillEmulator(t, stream, killQuota)
	dlPath := filepath.Join(dir, "dead.ndjson")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	capacity := pipeCapacity(t, w)
	p := startFirehose(t, dir, r, nil, sendArgs(emu.url, stream, "--dead-letter", dlPath,
		"--concurrency", strconv.Itoa(concurrency), "--batch-size", strconv.Itoa(batchSize), "-")...)
	_ = r.Close() // the child holds the read end
	written := pipeWriter(w, records, -1, nil)

	waitDelivered(t, emu, 15_000, p) // mid-run, with the pipe full behind it
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 143 {
		t.Fatalf("exit %d, want 143\n%s", code, p.output())
	}
	wrote := <-written
	delivered := emu.delivered(t)
	dead, partial := deadLetterRecords(t, dlPath)
	counts := idCounts(t, records, delivered, dead)
	maxID := -1
	for id, c := range counts {
		if c > 0 {
			maxID = id
		}
		if c > 1 {
			t.Errorf("record %d found %d times", id, c)
		}
	}
	// The reading may stop inside a record: its start is dead-lettered
	// (as invalid JSON) and its rest stays in the pipe.
	switch {
	case len(partial) > 1:
		t.Errorf("%d dead letters are not whole records, e.g. %.120q", len(partial), partial[0])
	case len(partial) == 1:
		if next := killRecord(maxID+1, 0); !bytes.HasPrefix(next, partial[0]) || len(partial[0]) >= len(next) {
			t.Errorf("a dead letter is not a whole record nor the start of record %d: %.120q", maxID+1, partial[0])
		}
		maxID++
		counts[maxID]++
	}
	gaps := 0
	for id := 0; id <= maxID; id++ {
		if counts[id] == 0 {
			gaps++
		}
	}
	unread := (wrote - maxID - 1) * killRecordBytes
	if len(partial) == 1 {
		unread += killRecordBytes - len(partial[0])
	}
	sum := p.summary(t)
	t.Logf("writer wrote %d records; delivered %d, dead-lettered %d, max id %d, gaps %d; %d bytes never read (pipe holds %d); summary read %d delivered %d dead-lettered %d",
		wrote, len(delivered), len(dead), maxID, gaps, unread, capacity, sum.RecordsRead, sum.Delivered, sum.DeadLettered)
	if wrote == records {
		t.Fatalf("the writer wrote all %d records before the stop: not mid-run", records)
	}
	if gaps > 0 {
		t.Errorf("%d records up to id %d neither delivered nor dead-lettered", gaps, maxID)
	}
	if got := int64(len(delivered) + len(dead) + len(partial)); sum.RecordsRead != got || sum.Delivered+sum.DeadLettered+sum.Rejected != sum.RecordsRead {
		t.Errorf("summary: read %d, delivered %d + dead-lettered %d + rejected %d; found %d", sum.RecordsRead, sum.Delivered, sum.DeadLettered, sum.Rejected, got)
	}
	if t.Failed() {
		return
	}
	var bugs []string
	if unread > capacity {
		bugs = append(bugs, fmt.Sprintf("%d bytes (%d records) written and neither delivered nor dead-lettered, more than the pipe holds (%d): records read were lost",
			unread, unread/killRecordBytes, capacity))
	}
	if len(dead) > bound {
		bugs = append(bugs, fmt.Sprintf("%d records dead-lettered on the stop, more than the read-ahead bound %d: the stop went on reading the pipe", len(dead), bound))
	}
	if len(bugs) > 0 {
		knownBug(t, "%s", strings.Join(bugs, "; "))
	}
}

// TestKillFIFOStalledWriter: a FIFO, or /dev/stdin on a pipe, given as
// the input file, whose writer stops writing and keeps it open: SIGTERM
// ends the run within --shutdown-timeout + 2 s with 143, and what was
// written is delivered.
func TestKillFIFOStalledWriter(t *testing.T) {
	t.Parallel()
	const records = 500
	tests := []struct {
		name string
		// open returns the input argument, the child's stdin and the
		// writer's end, opened once the child runs.
		open func(t *testing.T, dir string) (input string, stdin *os.File, writer func() io.WriteCloser)
	}{
		{name: "FIFO", open: func(t *testing.T, dir string) (string, *os.File, func() io.WriteCloser) {
			fifo := filepath.Join(dir, "input.ndjson")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			return fifo, nil, func() io.WriteCloser {
				w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until the child opens it
				if err != nil {
					t.Fatal(err)
				}
				return w
			}
		}},
		{name: "/dev/stdin", open: func(t *testing.T, _ string) (string, *os.File, func() io.WriteCloser) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			return "/dev/stdin", r, func() io.WriteCloser { _ = r.Close(); return w }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const stream = "stalled"
			dir := t.TempDir()
			input, stdin, writer := tc.open(t, dir)
			emu := startKillEmulator(t, stream)
			dlPath := filepath.Join(dir, "dead.ndjson")
			var in io.Reader
			if stdin != nil {
				in = stdin
			}
			p := startFirehose(t, dir, in, nil, sendArgs(emu.url, stream, "--dead-letter", dlPath, "--shutdown-timeout", "2s", input)...)
			stall := make(chan struct{})
			t.Cleanup(func() { close(stall) })
			written := pipeWriter(writer(), records+1, records, stall)
			// The writer now stalls with the input open; wait until the
			// records it wrote are stored, so the reader is blocked in read.
			waitDelivered(t, emu, records, p)
			signalled := time.Now()
			p.signal(t, syscall.SIGTERM)
			if code := p.wait(t, 30*time.Second); code != 143 {
				t.Fatalf("exit %d, want 143\n%s", code, p.output())
			}
			took := p.exited.Sub(signalled)
			t.Logf("exited %s after SIGTERM", took.Round(time.Millisecond))
			if took > 4*time.Second {
				t.Errorf("exited %s after SIGTERM, want within --shutdown-timeout 2s + 2s", took.Round(time.Millisecond))
			}
			assertEachOnce(t, records, emu.delivered(t), deadLetterIDs(t, dlPath))
			select {
			case n := <-written:
				t.Fatalf("the writer stopped early at %d records", n)
			default:
			}
		})
	}
}

// TestKillCheckpointOfAnotherFile: after an interrupted run the input
// changes; the same command is refused with exit 2 naming the checkpoint
// and --restart, sends nothing, and with --restart the whole new file is
// sent.
func TestKillCheckpointOfAnotherFile(t *testing.T) {
	t.Parallel()
	const (
		stream  = "changed"
		records = 40_000
	)
	dir := t.TempDir()
	input := writeKillInput(t, dir, records)
	ckpt := strings.TrimSuffix(input, ".ndjson") + ".checkpoint.json"
	held := startKillEmulator(t, stream, killQuota)
	proxy := newSwitchProxy(t, held.url)
	dlPath := filepath.Join(dir, "dead.ndjson")
	args := sendArgs(proxy.url, stream, "--dead-letter", dlPath, input)

	p := startFirehose(t, dir, nil, nil, args...)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(ckpt); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Fatalf("no checkpoint after 30s\n%s", p.output())
		}
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, time.Minute); code != 143 {
		t.Fatalf("exit %d, want 143\n%s", code, p.output())
	}
	if _, err := os.Stat(ckpt); err != nil {
		t.Fatalf("no checkpoint after SIGTERM: %v", err)
	}
	// Same size, other first bytes: the first record's padding changes.
	f, err := os.OpenFile(input, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(killRecord(0, 1), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	fresh := startKillEmulator(t, stream, emulator.NoQuotas())
	proxy.switchTo(t, fresh.url)
	refused := startFirehose(t, dir, nil, nil, args...)
	if code := refused.wait(t, time.Minute); code != 2 {
		t.Fatalf("exit %d with a checkpoint of another file, want 2\n%s", code, refused.output())
	}
	if msg := refused.stderr.String(); !strings.Contains(msg, ckpt) || !strings.Contains(msg, "--restart") {
		t.Errorf("the refusal names neither the checkpoint %s nor --restart:\n%s", ckpt, msg)
	}
	if got := fresh.delivered(t); len(got) != 0 {
		t.Fatalf("the refused run sent %d records", len(got))
	}

	restart := startFirehose(t, dir, nil, nil, append(args[:len(args)-1:len(args)-1], "--restart", input)...)
	if code := restart.wait(t, time.Minute); code != 0 {
		t.Fatalf("--restart: exit %d\n%s", code, restart.output())
	}
	assertEachOnce(t, records, fresh.delivered(t))
	if err := fresh.srv.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	objs := backend.ReadTree(t, filepath.Join(fresh.data, backend.Bucket))
	if !bytes.Contains(bytes.Join(objs, nil), killRecord(0, 1)) {
		t.Errorf("the modified first record was not sent as it now is")
	}
}

// TestKillBigFile: SIGTERM 2 s into a 1 GB file ends the run within
// --shutdown-timeout + 2 s and copies nothing into the dead-letter file.
// Opt-in: FIREHOSE_BIG_TESTS=1 and 3 GB free.
func TestKillBigFile(t *testing.T) {
	if os.Getenv("FIREHOSE_BIG_TESTS") != "1" {
		t.Skip("set FIREHOSE_BIG_TESTS=1 to send a 1 GB file")
	}
	t.Parallel()
	firehoseBinary(t) // skips with -short
	dir := t.TempDir()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if free := fs.Bavail * uint64(fs.Bsize); free < 3<<30 {
		t.Skipf("%d MB free, want 3 GB", free>>20)
	}
	const (
		stream  = "big"
		records = 10_000_000 // 1 GB
	)
	input := writeKillInput(t, dir, records)
	emu := startKillEmulator(t, stream)
	dlPath := filepath.Join(dir, "dead.ndjson")
	p := startFirehose(t, dir, nil, nil, sendArgs(emu.url, stream, "--dead-letter", dlPath, "--shutdown-timeout", "5s", input)...)
	waitDelivered(t, emu, 100_000, p) // mid-run: 1% of the file
	signalled := time.Now()
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, time.Minute); code != 143 {
		t.Fatalf("exit %d, want 143\n%s", code, p.output())
	}
	took := p.exited.Sub(signalled)
	sum := p.summary(t)
	t.Logf("exited %s after SIGTERM; delivered %d of %d", took.Round(time.Millisecond), sum.Delivered, records)
	if sum.CheckpointPath == "" {
		t.Errorf("the summary names no checkpoint\n%s", p.output())
	}
	if took > 7*time.Second {
		t.Errorf("exited %s after SIGTERM, want within --shutdown-timeout 5s + 2s", took.Round(time.Millisecond))
	}
	if info, err := os.Stat(dlPath); err == nil && info.Size()*100 >= int64(records*killRecordBytes) {
		t.Errorf("dead-letter file of %d bytes: at least 1%% of the input", info.Size())
	}
}
