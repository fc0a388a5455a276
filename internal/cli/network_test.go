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

// Network faults a faultyProxy injects.
const (
	faultNone        = iota
	faultResetBefore // connection reset before the request reaches the service: nothing delivered
	faultResetAfter  // reset after the service accepted the records: delivered, response lost
	faultStall       // response held past the client's timeout: delivered, response too late
)

// everyNinth is the default schedule: of every nine PutRecordBatch calls,
// one reset before, one reset after and one stall.
func everyNinth(k int64) int {
	switch k % 9 {
	case 2:
		return faultResetBefore
	case 5:
		return faultResetAfter
	case 7:
		return faultStall
	}
	return faultNone
}

// faultyProxy sits between the CLI and a backend and breaks the network
// the way real networks break, on the schedule of PutRecordBatch calls
// (the k-th call, from 1) given by schedule.
func faultyProxy(t *testing.T, backend string, stall time.Duration, schedule func(k int64) int) string {
	t.Helper()
	var n atomic.Int64
	client := &http.Client{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		fault := faultNone
		if r.Header.Get("X-Amz-Target") == "Firehose_20150804.PutRecordBatch" {
			fault = schedule(n.Add(1))
		}
		if fault == faultResetBefore {
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
		case faultResetAfter:
			resetConn(t, w)
			return
		case faultStall:
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
	proxy := faultyProxy(t, endpoint, 2*time.Second, everyNinth)
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
	m := regexp.MustCompile(`possible duplicates\s+(\d+)`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no possible duplicates line:\n%s", errOut)
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
