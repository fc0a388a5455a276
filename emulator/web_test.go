package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// webFixture starts an emulator with one stream that received n records
// (delivered as one object) and returns the URL, the object's key and its
// first record.
func webFixture(t *testing.T, n int) (*Server, string, string, string) {
	t.Helper()
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	createStream(t, fh, "web-stream", "web-bucket", "web/", 5, 300)
	createStream(t, fh, "idle-stream", "web-bucket", "idle/", 5, 300)
	recs := make([]string, n)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"n":%d}`+"\n", i)
	}
	out, err := fh.PutRecordBatch(ctxTimeout(t), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("web-stream"), Records: batchOf(recs...)})
	if err != nil || aws.ToInt32(out.FailedPutCount) != 0 {
		t.Fatalf("PutRecordBatch: %v", err)
	}
	if err := srv.Flush(ctxTimeout(t)); err != nil {
		t.Fatal(err)
	}
	keys, _ := deliveredFiles(t, srv.DataDir(), "web-bucket")
	if len(keys) != 1 {
		t.Fatalf("delivered %v, want one file", keys)
	}
	return srv, url, keys[0], strings.TrimSpace(recs[0])
}

// getBody GETs url and returns the status, the headers and the body.
func getBody(t *testing.T, url string, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxTimeout(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestWebStateAPI(t *testing.T) {
	_, url, key, first := webFixture(t, 321)
	status, header, body := getBody(t, url+webStatePath, nil)
	if status != http.StatusOK || header.Get("Content-Type") != "application/json" {
		t.Fatalf("state: %d %s", status, header.Get("Content-Type"))
	}
	var st webState
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("state %s: %v", body, err)
	}
	names := make([]string, 0, len(st.Streams))
	for _, s := range st.Streams {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"idle-stream", "web-stream"}) {
		t.Fatalf("streams %v", names)
	}
	ws := st.Streams[1]
	var charted int64
	for _, v := range ws.Series["IncomingRecords"] {
		charted += v
	}
	if ws.Status != "ACTIVE" || ws.Totals["IncomingRecords"] != 321 || charted != 321 || ws.Totals["DeliveryToS3.Records"] != 321 || len(ws.Minutes) != webChartMinutes {
		t.Errorf("stream %+v: want ACTIVE, 321 records in the totals, the chart and the delivery", ws)
	}
	if len(st.Objects) != 1 || st.Objects[0].Key != key || st.Objects[0].Bucket != "web-bucket" ||
		len(st.Objects[0].Preview) != webPreviewLines || st.Objects[0].Preview[0] != first {
		t.Errorf("objects %+v, want %s with a preview starting %s", st.Objects, key, first)
	}
	if st.Quotas.Enabled || st.Totals.Count != 1 {
		t.Errorf("quotas %+v (want off), object totals %+v", st.Quotas, st.Totals)
	}

	tests := []struct {
		path, wantType string
		wantStatus     int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{webPathPrefix + "app.js", "text/javascript; charset=utf-8", 200},
		{webPathPrefix + "style.css", "text/css; charset=utf-8", 200},
		{webPathPrefix + "nothing", "text/plain; charset=utf-8", 404},
	}
	for _, tt := range tests {
		status, header, _ := getBody(t, url+tt.path, http.Header{"Accept": {"text/html"}})
		if status != tt.wantStatus || header.Get("Content-Type") != tt.wantType {
			t.Errorf("GET %s: %d %s, want %d %s", tt.path, status, header.Get("Content-Type"), tt.wantStatus, tt.wantType)
		}
	}
	// The page's object links are unsigned S3 GETs of the same endpoint.
	status, _, body = getBody(t, url+"/web-bucket/"+key, nil)
	if status != http.StatusOK || !strings.HasPrefix(string(body), first+"\n") {
		t.Errorf("GET object link: %d %.40q", status, body)
	}
}

// chromium finds a headless-capable Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not on PATH (CI installs it: apt-get install -y chromium)")
	}
	t.Skip("chromium is not on PATH: install it (Debian: apt-get install -y chromium) to test the web page in a headless browser")
	return ""
}

var dataValuePattern = regexp.MustCompile(`data-value="(\d+)"`)

// TestWebPageInHeadlessChromium loads the page in a real browser, lets its
// script fetch the state and render, and reads the resulting DOM.
func TestWebPageInHeadlessChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chromium")
	}
	bin := chromium(t)
	srv, url, key, _ := webFixture(t, 321)
	// The page is served through a wrapper that puts 100 more records just
	// before the page's second poll, so the chart must update to show them.
	fh := firehoseClient(url, 1)
	var polls atomic.Int32
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == webStatePath && polls.Add(1) == 2 {
			recs := make([]string, 100)
			for i := range recs {
				recs[i] = "more\n"
			}
			if _, err := fh.PutRecordBatch(r.Context(), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("web-stream"), Records: batchOf(recs...)}); err != nil {
				t.Errorf("PutRecordBatch during the page's polling: %v", err)
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(page.Close)
	cmd := exec.CommandContext(ctxTimeout(t), bin, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=7000", "--dump-dom", page.URL+"/")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := stdout.String()
	for _, want := range []string{`data-stream="web-stream"`, `data-stream="idle-stream"`, `data-key="` + key + `"`, `{"n":0}`, "s3://web-bucket/web/"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %s", want)
		}
	}
	// The IncomingRecords chart of the busiest stream, bar by bar.
	start := strings.Index(dom, `data-metric="IncomingRecords"`)
	if start < 0 {
		t.Fatalf("no IncomingRecords chart in the rendered page:\n%s", dom)
	}
	chart := dom[start:]
	chart = chart[:strings.Index(chart, "</svg>")]
	var bars, sum int
	for _, m := range dataValuePattern.FindAllStringSubmatch(chart, -1) {
		v, _ := strconv.Atoi(m[1])
		sum += v
		bars++
	}
	if bars != webChartMinutes || sum != 421 {
		t.Errorf("IncomingRecords chart: %d bars adding up to %d, want %d bars adding up to 421 (321, then 100 more while the page polled)", bars, sum, webChartMinutes)
	}
	if n := polls.Load(); n < 3 {
		t.Errorf("the page fetched the state %d times in 7 s of virtual time, want a poll every 2 s", n)
	}
}

// The web page's state lists the scripted faults not yet used up, as the
// control API does, and both live under /_emulator/ side by side.
func TestWebStateShowsScriptedFaults(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	createStream(t, fh, "scripted", "scripted-bucket", "", 5, 300)
	scripted := func() []faultJSON {
		t.Helper()
		status, _, body := getBody(t, url+webStatePath, nil)
		var st webState
		if err := json.Unmarshal(body, &st); status != http.StatusOK || err != nil {
			t.Fatalf("state: %d %v", status, err)
		}
		return st.Faults.Scripted
	}
	if got := scripted(); len(got) != 0 {
		t.Fatalf("scripted faults %+v before any, want none", got)
	}
	if err := srv.Control(FailNext("PutRecord", 2, FaultInternalFailure)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		wantTimes []int
	}{
		{"as scripted", []int{2}},
		{"after one call took it", []int{1}},
		{"after the second", nil},
	}
	for i, tt := range tests {
		if i > 0 {
			if _, err := putOne(ctxTimeout(t), fh, "scripted", "x\n"); errorCode(err) != string(FaultInternalFailure) {
				t.Fatalf("PutRecord: %v, want %s", err, FaultInternalFailure)
			}
		}
		got := scripted()
		var times []int
		for _, f := range got {
			if f.Operation != "PutRecord" || f.Action != "fail" || f.Code != string(FaultInternalFailure) {
				t.Errorf("%s: fault %+v", tt.name, f)
			}
			times = append(times, f.Times)
		}
		if !slices.Equal(times, tt.wantTimes) {
			t.Errorf("%s: times left %v, want %v", tt.name, times, tt.wantTimes)
		}
	}
	// The control API still answers next to the page.
	if status, _, body := getBody(t, url+"/_emulator/faults", nil); status != http.StatusOK || !strings.Contains(string(body), `"faults":[]`) {
		t.Errorf("GET /_emulator/faults: %d %s", status, body)
	}
}
