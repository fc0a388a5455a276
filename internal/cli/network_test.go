package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// faultyProxy sits between the CLI and a backend and breaks the network
// the way real networks break, on a fixed schedule of PutRecordBatch calls:
// a connection reset before the request reaches the service (nothing
// delivered), a reset after the service accepted the records (delivered,
// response lost), and a stalled response that outlives the client's
// request timeout (delivered, response too late).
func faultyProxy(t *testing.T, backend string, stall time.Duration) string {
	t.Helper()
	var n atomic.Int64
	client := &http.Client{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		fault := 0
		if r.Header.Get("X-Amz-Target") == "Firehose_20150804.PutRecordBatch" {
			switch n.Add(1) % 9 {
			case 2:
				fault = 1 // reset before forwarding
			case 5:
				fault = 2 // reset after the service accepted
			case 7:
				fault = 3 // stall past the client's timeout
			}
		}
		if fault == 1 {
			resetConn(t, w)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), r.Method, backend+r.URL.Path, bytes.NewReader(body))
		if err != nil {
			t.Errorf("proxy request: %v", err)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			resetConn(t, w)
			return
		}
		respBody, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		switch fault {
		case 2:
			resetConn(t, w)
			return
		case 3:
			select {
			case <-time.After(stall):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(respBody)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func resetConn(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Error("proxy: response writer cannot hijack")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Errorf("proxy: hijack: %v", err)
		return
	}
	_ = conn.Close()
}

// TestPutSurvivesNetworkFaults: connection resets and stalled responses
// between the producer and the endpoint are retried and lose nothing; the
// duplicates they can cause are no more than the summary's "possible
// duplicates".
func TestPutSurvivesNetworkFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const stream = "flaky-network"
	endpoint, objects := startEmulatorBackend(t, stream)
	proxy := faultyProxy(t, endpoint, 2*time.Second)
	input, want := writeInput(t, 20000, 9)
	dlPath := filepath.Join(t.TempDir(), "dead.ndjson")
	code, out, errOut := runCLIContext(t, withTimeout(t, 2*time.Minute), nil, nil,
		"--endpoint-url", proxy, "--region", "us-east-1", "--request-timeout", "500ms",
		"put", "--stream", stream, "--dead-letter", dlPath, input)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	delivered := deliveredLines(t, objects())
	assertCovered(t, want, delivered, dlPath)
	if dl := readDeadLetters(t, dlPath); len(dl) != 0 {
		t.Errorf("%d records dead-lettered; every fault here is retryable", len(dl))
	}
	m := regexp.MustCompile(`possible duplicates\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no possible duplicates line:\n%s", out)
	}
	possible, _ := strconv.Atoi(m[1])
	extra := len(delivered) - len(want)
	if extra > possible {
		t.Errorf("%d duplicate lines delivered, but the summary warned of only %d possible duplicates", extra, possible)
	}
	if possible == 0 {
		t.Errorf("no possible duplicates counted although responses were lost:\n%s", out)
	}
}
