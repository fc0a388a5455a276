package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/mockdata"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
	"github.com/firehose-tools/firehose/internal/ui"
)

// backends are the endpoints every sending test runs against.
var backends = backend.All

func testAWSConfig(endpoint string) aws.Config { return backend.AWSConfig(endpoint) }

func createTestStream(t *testing.T, endpoint, stream string) {
	t.Helper()
	backend.CreateStream(t, endpoint, stream)
}

func startEmulatorBackend(t *testing.T, stream string, opts ...emulator.Option) (string, func() [][]byte) {
	t.Helper()
	return backend.StartEmulator(t, stream, opts...)
}

// callCounter is a reverse proxy in front of a backend that counts the
// Firehose operations by X-Amz-Target.
type callCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *callCounter) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts["Firehose_20150804."+op]
}

func countingProxy(t *testing.T, target string) (string, *callCounter) {
	t.Helper()
	c := &callCounter{counts: map[string]int{}}
	url := proxyTo(t, target, func(w http.ResponseWriter, r *http.Request, forward http.Handler) {
		c.mu.Lock()
		c.counts[r.Header.Get("X-Amz-Target")]++
		c.mu.Unlock()
		forward.ServeHTTP(w, r)
	})
	return url, c
}

// proxyTo starts a server in front of target whose handle sees every
// request and forwards it or not; it returns the server's URL. The server
// closes at cleanup, waiting for its handlers: one that holds a request
// must be released by a cleanup registered after proxyTo.
func proxyTo(t *testing.T, target string, handle func(w http.ResponseWriter, r *http.Request, forward http.Handler)) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	forward := readWholeBody(httputil.NewSingleHostReverseProxy(u))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handle(w, r, forward) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// readWholeBody reads a request's body into memory before h forwards it. A
// ReverseProxy that streams the body races the HTTP/1 server: when the
// upstream answers before the proxy's transport has read the body's end
// (it reads once more after Content-Length bytes), writing the answer's
// headers closes the inbound body, that last read fails, the transport
// drops the upstream connection, and the client gets a broken response to a
// request the emulator stored (golang/go#40747). Under load that made a
// test's put resend a delivered batch: 500 duplicates in 2 of 40 runs of
// TestKillGracefulSignalThenResume.
func readWholeBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
}

// runCLI runs the firehose command line in process.
func runCLI(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIContext(t, context.Background(), stdin, nil, args...)
}

func runCLIContext(t *testing.T, ctx context.Context, stdin io.Reader, opts []MainOption, args ...string) (int, string, string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	code := Main(ctx, args, Stdio{In: stdin, Out: &out, Err: &errb}, opts...)
	return code, out.String(), errb.String()
}

// writeInput writes n generated records as a JSON array (indent 2, as the
// reference generator does) and returns the path and the records.
func writeInput(t *testing.T, n int, seed int64) (string, []string) {
	t.Helper()
	var buf bytes.Buffer
	if err := mockdata.WriteNDJSON(&buf, seed, n); err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if n == 0 {
		want = nil
	}
	path := filepath.Join(t.TempDir(), "sample_records.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := mockdata.WriteJSON(f, seed, n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// deliveredLines splits every object into JSON lines, failing on a line
// that is not JSON or an object that does not end with a newline.
func deliveredLines(t *testing.T, objects [][]byte) []string {
	t.Helper()
	var lines []string
	for i, obj := range objects {
		if len(obj) == 0 {
			continue
		}
		if obj[len(obj)-1] != '\n' {
			t.Errorf("object %d does not end with a newline", i)
		}
		sc := bufio.NewScanner(bytes.NewReader(obj))
		sc.Buffer(make([]byte, 0, 1<<20), 2<<20)
		for sc.Scan() {
			line := sc.Text()
			if !json.Valid([]byte(line)) {
				t.Fatalf("object %d: line is not JSON: %.80q", i, line)
			}
			lines = append(lines, line)
		}
	}
	return lines
}

// assertExactlyOnce checks every wanted record arrived exactly once and
// nothing else arrived.
func assertExactlyOnce(t *testing.T, got, want []string) {
	t.Helper()
	counts := map[string]int{}
	for _, l := range got {
		counts[l]++
	}
	missing, dup := 0, 0
	for _, w := range want {
		switch counts[w] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
		delete(counts, w)
	}
	if missing > 0 || dup > 0 || len(counts) > 0 || len(got) != len(want) {
		extra := make([]string, 0, len(counts))
		for k := range counts {
			extra = append(extra, k)
		}
		sort.Strings(extra)
		if len(extra) > 3 {
			extra = extra[:3]
		}
		t.Fatalf("delivered %d lines for %d records: %d missing, %d duplicated, %d unexpected (e.g. %q)",
			len(got), len(want), missing, dup, len(counts), extra)
	}
}

// readDeadLetters parses a dead-letter file into its objects.
func readDeadLetters(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("dead-letter line %d: %v", i+1, err)
		}
		out = append(out, m)
	}
	return out
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var _ = fmt.Sprint

// when returns a channel closed once cond holds, polled every few
// milliseconds; if it does not hold within a minute the test fails and the
// channel is closed anyway, so nothing waits for ever.
func when(t *testing.T, what string, cond func() bool) <-chan struct{} {
	t.Helper()
	done, stop := make(chan struct{}), make(chan struct{})
	// A test that ends first stops the poll: an error after the end of a
	// test panics.
	stopped := make(chan struct{})
	t.Cleanup(func() { close(stop); <-stopped })
	go func() {
		defer close(stopped)
		defer close(done)
		for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
			select {
			case <-stop:
				return
			default:
			}
			if time.Now().After(deadline) {
				t.Errorf("gave up waiting until %s", what)
				return
			}
		}
	}()
	return done
}

// callsTaken counts the calls the server's scripted faults have taken, of
// the scripted total: a fault is taken when its call arrives, so a delay
// taken is a call held in flight now. A test waiting for a PutRecordBatch
// in flight watches this, not the requests in flight: those include the
// DescribeDeliveryStream a put sends first, and a signal or a close sent
// during it stops the run before it sends anything.
func callsTaken(srv *emulator.Server, scripted int) int {
	left := 0
	for _, f := range srv.PendingFaults() {
		left += f.Times
	}
	return scripted - left
}

// summaryJSON parses the summary that --output json prints on stdout.
func summaryJSON(t *testing.T, stdout string) ui.SummaryJSON {
	t.Helper()
	var doc ui.SummaryJSON
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	return doc
}
