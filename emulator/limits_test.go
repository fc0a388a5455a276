package emulator

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"
)

// openSlowPut opens a connection to url and sends the headers of a
// PutRecordBatch declaring contentLength bytes, and then body only.
func openSlowPut(t *testing.T, url string, contentLength int, body string) net.Conn {
	t.Helper()
	var d net.Dialer
	conn, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: emulator\r\nX-Amz-Target: Firehose_20150804.PutRecordBatch\r\n"+
		"Content-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n%s", contentLength, body)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("write: %v", err)
	}
	return conn
}

// waitUntil polls cond until it holds; it gives up after 30 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond) // a poll interval, not a wait for an event
	}
}

// httpStats reads the stats of the emulator at url over HTTP.
func httpStats(t *testing.T, url string) Stats {
	t.Helper()
	var st Stats
	if code := controlRequest(t, http.MethodGet, url+"/_emulator/stats", "", &st); code != http.StatusOK {
		t.Fatalf("GET stats: %d", code)
	}
	return st
}

func putOneErr(ctx context.Context, fh *firehose.Client, stream, data string) error {
	_, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String(stream), Record: &types.Record{Data: []byte(data)}})
	return err
}

// 300 connections that declare 12 MiB bodies and send one byte hold next
// to nothing: the emulator process stays under 256 MiB and serves a normal
// PutRecord meanwhile.
func TestSlowBodiesDoNotExhaustMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an emulator process")
	}
	const conns = 300
	c := startChild(t, t.TempDir(), false)
	fh := firehoseClient(c.url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "s", "bkt", "", 5, 300)
	for range conns {
		openSlowPut(t, c.url, 12<<20, "{")
	}
	// Every slow request is in its handler, reading its body.
	waitUntil(t, "every slow request is being served", func() bool { return httpStats(t, c.url).RequestsInFlight >= conns+1 })
	if err := putOneErr(ctx, fh, "s", "normal\n"); err != nil {
		t.Fatalf("PutRecord beside the slow connections: %v", err)
	}
	if rss := rssBytes(t, c.cmd.Process.Pid); rss > 256<<20 {
		t.Errorf("RSS %d MiB with %d slow connections, want under 256 MiB", rss>>20, conns)
	} else {
		t.Logf("RSS %d MiB with %d slow connections", rss>>20, conns)
	}
}

// Past MaxConnections a connection is answered 503 ServiceUnavailable and
// closed; once a connection closes, a new one is served again.
func TestConnectionsOverTheCapAreRefused(t *testing.T) {
	srv, url := startServer(t, NoQuotas(), ServerLimits(Limits{MaxConnections: 2}))
	ctx := ctxTimeout(t)
	holders := []net.Conn{openSlowPut(t, url, 100, "{"), openSlowPut(t, url, 100, "{")}
	waitUntil(t, "both connections are open", func() bool { return srv.Stats().OpenConnections == 2 })

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer of a connection over the cap: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "ServiceUnavailableException") {
		t.Errorf("over the cap: %d %s, want 503 ServiceUnavailableException", resp.StatusCode, body)
	}

	_ = holders[0].Close()
	_ = holders[1].Close()
	waitUntil(t, "the connections are closed", func() bool { return srv.Stats().OpenConnections == 0 })
	fh := firehoseClient(url, 1)
	createStream(t, fh, "s", "bkt", "", 5, 300)
	if err := putOneErr(ctx, fh, "s", "after\n"); err != nil {
		t.Errorf("PutRecord once connections closed: %v", err)
	}
}

// Request bodies past MaxInFlightBytes are refused with
// ServiceUnavailableException, which the SDKs retry; once the bytes are
// given back, requests are served again.
func TestBodyBytesOverTheBudgetAreRefused(t *testing.T) {
	srv, url := startServer(t, NoQuotas(), ServerLimits(Limits{MaxInFlightBytes: 64 << 10}))
	ctx := ctxTimeout(t)
	fh := firehoseClient(url, 1)
	createStream(t, fh, "s", "bkt", "", 5, 300)
	// The hog holds most of the budget; a record that needs more than the
	// rest is refused.
	hog := openSlowPut(t, url, 1<<20, "{"+strings.Repeat(" ", 60<<10))
	waitUntil(t, "the hog holds its bytes", func() bool { return srv.Stats().RequestBytesHeld >= 60<<10 })

	record := strings.Repeat("r", 10<<10) + "\n"
	err := putOneErr(ctx, fh, "s", record)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailableException" {
		t.Fatalf("PutRecord over the budget: %v, want ServiceUnavailableException", err)
	}
	_ = hog.Close()
	waitUntil(t, "the bytes are given back", func() bool { return srv.Stats().RequestBytesHeld == 0 })
	if err := putOneErr(ctx, fh, "s", record); err != nil {
		t.Fatalf("PutRecord once the bytes are back: %v", err)
	}
	if err := srv.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := allDelivered(t, srv.DataDir(), "bkt"); got != record {
		t.Errorf("delivered %q, want only the served record", got)
	}
}

// A body that stops arriving is cut off after BodyReadTimeout, and a
// request whose headers stop arriving after ReadHeaderTimeout: the server
// closes the connection.
func TestStalledRequestsAreCutOff(t *testing.T) {
	tests := []struct {
		name    string
		request string
	}{
		{name: "stalled body", request: "POST / HTTP/1.1\r\nHost: e\r\nX-Amz-Target: Firehose_20150804.PutRecord\r\nContent-Length: 1000\r\n\r\n{"},
		{name: "stalled headers", request: "POST / HTTP/1.1\r\nHost: e\r\nX-Amz-Tar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := startServer(t, ServerLimits(Limits{BodyReadTimeout: 200 * time.Millisecond, ReadHeaderTimeout: 200 * time.Millisecond}))
			var d net.Dialer
			conn, err := d.DialContext(ctxTimeout(t), "tcp", strings.TrimPrefix(url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tt.request); err != nil {
				t.Fatal(err)
			}
			// The server must end the connection long before this deadline.
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.Copy(io.Discard, conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept a stalled request open for 20s")
			}
		})
	}
}

// Past MaxMetricSeries the series written to least recently is forgotten.
func TestMetricSeriesAreCapped(t *testing.T) {
	now := func() time.Time { return fixedTime }
	m := newMetricStore(now, 0)
	m.maxSeries = 3
	dims := func(v string) []dimension { return []dimension{{Name: "D", Value: v}} }
	for _, v := range []string{"a", "b", "c"} {
		m.put("NS", dims(v), fixedTime, sample{name: "M", value: 1, unit: unitCount})
	}
	m.put("NS", dims("a"), fixedTime, sample{name: "M", value: 1, unit: unitCount}) // a is now the newest
	m.put("NS", dims("d"), fixedTime, sample{name: "M", value: 1, unit: unitCount}) // forgets b
	var got []string
	for _, id := range m.list("NS", "M", nil) {
		got = append(got, id.dims[0].Value)
	}
	if strings.Join(got, ",") != "a,c,d" {
		t.Errorf("series kept %v, want a,c,d", got)
	}
	if b, _ := m.query("NS", "M", dims("a"), fixedTime.Add(-time.Hour), fixedTime.Add(time.Hour), 60); len(b) != 1 || b[0].agg.sum != 2 {
		t.Errorf("series a = %+v, want its two samples", b)
	}
}
