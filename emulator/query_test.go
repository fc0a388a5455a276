package emulator

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
)

// putRecords sends n records of size bytes each to stream in batches of
// at most 500.
func putRecords(t *testing.T, fh *firehose.Client, stream string, n, size int) {
	t.Helper()
	ctx := ctxTimeout(t)
	for n > 0 {
		k := min(n, 500)
		recs := make([]string, k)
		for i := range recs {
			recs[i] = strings.Repeat("r", size)
		}
		out, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: batchOf(recs...)})
		if err != nil || aws.ToInt32(out.FailedPutCount) != 0 {
			t.Fatalf("PutRecordBatch: %v (failed %d)", err, aws.ToInt32(out.FailedPutCount))
		}
		n -= k
	}
}

// postForm sends an awsQuery request as a raw form POST.
func postForm(t *testing.T, endpoint string, form url.Values) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxTimeout(t), http.MethodPost, endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

type queryStatisticsResponse struct {
	XMLName xml.Name `xml:"http://monitoring.amazonaws.com/doc/2010-08-01/ GetMetricStatisticsResponse"`
	Label   string   `xml:"GetMetricStatisticsResult>Label"`
	Points  []struct {
		Timestamp   string  `xml:"Timestamp"`
		Sum         float64 `xml:"Sum"`
		SampleCount float64 `xml:"SampleCount"`
		Unit        string  `xml:"Unit"`
	} `xml:"GetMetricStatisticsResult>Datapoints>member"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
}

func TestQueryRawFormPost(t *testing.T) {
	_, endpoint := startServer(t, NoQuotas())
	fh := firehoseClient(endpoint, 1)
	createStream(t, fh, "q", "q-bucket", "", 5, 300)
	putRecords(t, fh, "q", 1234, 10)
	now := time.Now().UTC()

	form := url.Values{
		"Action": {"GetMetricStatistics"}, "Version": {"2010-08-01"},
		"Namespace": {"AWS/Firehose"}, "MetricName": {"IncomingRecords"},
		"Dimensions.member.1.Name": {"DeliveryStreamName"}, "Dimensions.member.1.Value": {"q"},
		"StartTime": {now.Add(-10 * time.Minute).Format(time.RFC3339)}, "EndTime": {now.Add(time.Minute).Format(time.RFC3339)},
		"Period": {"60"}, "Statistics.member.1": {"Sum"}, "Statistics.member.2": {"SampleCount"},
	}
	status, ctype, body := postForm(t, endpoint, form)
	if status != http.StatusOK || !strings.Contains(ctype, "xml") {
		t.Fatalf("GetMetricStatistics: %d %s %s", status, ctype, body)
	}
	var res queryStatisticsResponse
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	var sum, requests float64
	for _, p := range res.Points {
		sum += p.Sum
		requests += p.SampleCount
		if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil || p.Unit != "Count" {
			t.Errorf("datapoint timestamp %q unit %q", p.Timestamp, p.Unit)
		}
	}
	if res.Label != "IncomingRecords" || sum != 1234 || requests != 3 || res.RequestID == "" {
		t.Errorf("label %q sum %v samples %v request id %q; want IncomingRecords 1234 3 and an id", res.Label, sum, requests, res.RequestID)
	}

	errorCases := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantType   string
		wantCode   string
	}{
		{name: "unknown action", form: url.Values{"Action": {"DescribeAlarms"}, "Version": {"2010-08-01"}},
			wantStatus: 400, wantType: "Sender", wantCode: "InvalidAction"},
		{name: "no action", form: url.Values{"Version": {"2010-08-01"}},
			wantStatus: 400, wantType: "Sender", wantCode: "InvalidAction"},
		{name: "AWS namespace", form: url.Values{"Action": {"PutMetricData"}, "Version": {"2010-08-01"}, "Namespace": {"AWS/Firehose"},
			"MetricData.member.1.MetricName": {"X"}, "MetricData.member.1.Value": {"1"}},
			wantStatus: 400, wantType: "Sender", wantCode: "InvalidParameterValue"},
		{name: "missing namespace", form: url.Values{"Action": {"GetMetricStatistics"}, "Version": {"2010-08-01"}},
			wantStatus: 400, wantType: "Sender", wantCode: "MissingParameter"},
		{name: "bad period", form: url.Values{"Action": {"GetMetricStatistics"}, "Namespace": {"N"}, "MetricName": {"M"},
			"StartTime": {"2026-01-01T00:00:00Z"}, "EndTime": {"2026-01-01T01:00:00Z"}, "Period": {"sixty"}},
			wantStatus: 400, wantType: "Sender", wantCode: "InvalidParameterValue"},
		{name: "bad timestamp", form: url.Values{"Action": {"GetMetricStatistics"}, "Namespace": {"N"}, "MetricName": {"M"},
			"StartTime": {"yesterday"}, "EndTime": {"2026-01-01T01:00:00Z"}, "Period": {"60"}},
			wantStatus: 400, wantType: "Sender", wantCode: "InvalidParameterValue"},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := postForm(t, endpoint, tt.form)
			var e queryErrorResponse
			if err := xml.Unmarshal(body, &e); err != nil {
				t.Fatalf("parse %s: %v", body, err)
			}
			if status != tt.wantStatus || e.Type != tt.wantType || e.Code != tt.wantCode || e.Message == "" {
				t.Errorf("got %d %s %s %q, want %d %s %s", status, e.Type, e.Code, e.Message, tt.wantStatus, tt.wantType, tt.wantCode)
			}
		})
	}
}

// TestQueryBotocore runs botocore's own awsQuery serializer and XML parser
// against the emulator (testdata/cloudwatch_query.py).
func TestQueryBotocore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH: the botocore awsQuery test needs python3 with botocore")
	}
	if err := exec.CommandContext(ctxTimeout(t), python, "-c", "import botocore").Run(); err != nil {
		t.Skipf("botocore is not importable by %s (%v): pip install botocore to run the awsQuery client test", python, err)
	}
	_, endpoint := startServer(t, NoQuotas())
	fh := firehoseClient(endpoint, 1)
	createStream(t, fh, "boto-q", "q-bucket", "", 5, 300)
	createStream(t, fh, "boto-other", "q-bucket", "", 5, 300)
	putRecords(t, fh, "boto-q", 777, 20)
	putRecords(t, fh, "boto-other", 5, 20)

	cmd := exec.CommandContext(ctxTimeout(t), python, "testdata/cloudwatch_query.py", endpoint, "boto-q", t.TempDir())
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cloudwatch_query.py: %v\n%s", err, stderr.String())
	}
	var got struct {
		Protocol string `json:"protocol"`
		Sent     []struct {
			ContentType string `json:"content_type"`
			Action      string `json:"action"`
		} `json:"sent"`
		StatisticsSum   float64    `json:"statistics_sum"`
		StatisticsLabel string     `json:"statistics_label"`
		DataSum         float64    `json:"data_sum"`
		DataStatus      []string   `json:"data_status"`
		Listed          [][]string `json:"listed"`
		CustomSum       float64    `json:"custom_sum"`
		CustomCount     float64    `json:"custom_count"`
		CustomMax       float64    `json:"custom_max"`
		Error           *struct {
			Code   string `json:"code"`
			Type   string `json:"type"`
			Status int    `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("script output %q: %v", stdout.String(), err)
	}
	if got.Protocol != "query" || len(got.Sent) == 0 {
		t.Fatalf("botocore used protocol %q and sent %d requests", got.Protocol, len(got.Sent))
	}
	for _, s := range got.Sent {
		if !strings.HasPrefix(s.ContentType, "application/x-www-form-urlencoded") || !strings.HasPrefix(s.Action, "Action=") {
			t.Errorf("botocore sent %+v, want a form with Action first", s)
		}
	}
	if got.StatisticsSum != 777 || got.StatisticsLabel != "IncomingRecords" || got.DataSum != 777 || !slices.Equal(got.DataStatus, []string{"Complete"}) {
		t.Errorf("IncomingRecords read back: statistics %v (%q), data %v %v; want 777", got.StatisticsSum, got.StatisticsLabel, got.DataSum, got.DataStatus)
	}
	if !slices.EqualFunc(got.Listed, [][]string{{"boto-other"}, {"boto-q"}}, slices.Equal) {
		t.Errorf("ListMetrics dimensions %v", got.Listed)
	}
	// 1.5 + 2*1 + 3*4 = 15.5 over 1 + 5 samples.
	if got.CustomSum != 15.5 || got.CustomCount != 6 || got.CustomMax != 3 {
		t.Errorf("PutMetricData read back: sum %v count %v max %v, want 15.5 6 3", got.CustomSum, got.CustomCount, got.CustomMax)
	}
	if got.Error == nil || got.Error.Code != "InvalidParameterValue" || got.Error.Type != "Sender" || got.Error.Status != 400 {
		t.Errorf("PutMetricData to AWS/Firehose: error %+v, want InvalidParameterValue Sender 400", got.Error)
	}
}
