package emulator

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awsCLI runs the AWS CLI against url with fake credentials and no user
// configuration; it returns stdout, stderr and the exit code.
func awsCLI(t *testing.T, url string, args ...string) (string, string, int) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("aws CLI not on PATH: %v", err)
		}
		t.Skipf("aws CLI not on PATH: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctxTimeout(t), bin, append([]string{"--endpoint-url", url, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+empty, "AWS_SHARED_CREDENTIALS_FILE="+empty, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run aws %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

func mustAWS(t *testing.T, url string, args ...string) map[string]any {
	t.Helper()
	stdout, stderr, code := awsCLI(t, url, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	out := map[string]any{}
	if strings.TrimSpace(stdout) != "" {
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("aws %s: output %q: %v", strings.Join(args, " "), stdout, err)
		}
	}
	return out
}

func TestAWSCLIAgainstTheEmulator(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil && os.Getenv("CI") == "" {
		t.Skipf("aws CLI not on PATH: %v", err)
	}
	srv, url := startServer(t)

	mustAWS(t, url, "firehose", "create-delivery-stream", "--delivery-stream-name", "cli",
		"--extended-s3-destination-configuration",
		`{"BucketARN":"arn:aws:s3:::cli-bucket","RoleARN":"arn:aws:iam::000000000000:role/r","Prefix":"in/","BufferingHints":{"SizeInMBs":1,"IntervalInSeconds":60}}`)
	desc := mustAWS(t, url, "firehose", "describe-delivery-stream", "--delivery-stream-name", "cli")
	d, _ := desc["DeliveryStreamDescription"].(map[string]any)
	if d["DeliveryStreamStatus"] != "ACTIVE" || d["DeliveryStreamName"] != "cli" {
		t.Errorf("describe-delivery-stream = %v", desc)
	}

	put := mustAWS(t, url, "firehose", "put-record", "--delivery-stream-name", "cli", "--record", `{"Data":"one,"}`)
	if id, _ := put["RecordId"].(string); len(id) < 56 {
		t.Errorf("put-record = %v", put)
	}
	batch := mustAWS(t, url, "firehose", "put-record-batch", "--delivery-stream-name", "cli", "--records", `[{"Data":"two,"},{"Data":"three,"}]`)
	if batch["FailedPutCount"] != float64(0) {
		t.Errorf("put-record-batch = %v", batch)
	}

	// 501 records: refused whole, with the documented message.
	records := make([]map[string]string, 501)
	for i := range records {
		records[i] = map[string]string{"Data": "x"}
	}
	input, _ := json.Marshal(map[string]any{"DeliveryStreamName": "cli", "Records": records})
	inputFile := filepath.Join(t.TempDir(), "batch.json")
	if err := os.WriteFile(inputFile, input, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := awsCLI(t, url, "firehose", "put-record-batch", "--cli-input-json", "file://"+inputFile)
	if code == 0 || !strings.Contains(stderr, "ValidationException") || !strings.Contains(stderr, "less than or equal to 500") {
		t.Errorf("501-record batch: exit %d, stderr %q; want a ValidationException about 500", code, stderr)
	}

	now := time.Now().UTC()
	stats := mustAWS(t, url, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Firehose",
		"--metric-name", "IncomingRecords", "--dimensions", "Name=DeliveryStreamName,Value=cli",
		"--start-time", now.Add(-10*time.Minute).Format(time.RFC3339), "--end-time", now.Add(time.Minute).Format(time.RFC3339),
		"--period", "60", "--statistics", "Sum")
	var sum float64
	points, _ := stats["Datapoints"].([]any)
	for _, p := range points {
		dp, _ := p.(map[string]any)
		v, _ := dp["Sum"].(float64)
		sum += v
	}
	if sum != 3 {
		t.Errorf("IncomingRecords sum = %v, want 3 (response %v)", sum, stats)
	}

	queries := `[{"Id":"r","MetricStat":{"Metric":{"Namespace":"AWS/Firehose","MetricName":"IncomingRecords","Dimensions":[{"Name":"DeliveryStreamName","Value":"cli"}]},"Period":300,"Stat":"Sum"}}]`
	data := mustAWS(t, url, "cloudwatch", "get-metric-data", "--metric-data-queries", queries,
		"--start-time", now.Add(-10*time.Minute).Format(time.RFC3339), "--end-time", now.Add(time.Minute).Format(time.RFC3339))
	results, _ := data["MetricDataResults"].([]any)
	sum = 0
	for _, r := range results {
		res, _ := r.(map[string]any)
		values, _ := res["Values"].([]any)
		for _, v := range values {
			f, _ := v.(float64)
			sum += f
		}
		if ts, _ := res["Timestamps"].([]any); len(ts) != len(values) || res["StatusCode"] != "Complete" {
			t.Errorf("get-metric-data result %v", res)
		}
	}
	if sum != 3 {
		t.Errorf("get-metric-data IncomingRecords sum = %v, want 3 (response %v)", sum, data)
	}

	if err := srv.Flush(ctxTimeout(t)); err != nil {
		t.Fatal(err)
	}
	if got := allDelivered(t, srv.DataDir(), "cli-bucket"); got != "one,two,three," {
		t.Errorf("delivered %q, want %q", got, "one,two,three,")
	}
}
