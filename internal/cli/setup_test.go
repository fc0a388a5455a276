package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firehose-tools/firehose/internal/testutil/backend"
	"github.com/firehose-tools/firehose/internal/testutil/motoserver"
)

// runInfraCLI runs the command line in process with stdin and returns the
// exit code and both outputs.
func runInfraCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// tableRow reports whether out has a table line with these cells in order.
func tableRow(out string, cells ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(cells, " ") ||
			strings.HasPrefix(strings.Join(strings.Fields(line), " "), strings.Join(cells, " ")+" ") {
			return true
		}
	}
	return false
}

func TestSetupFlagErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no bucket", []string{"setup", "--stream", "s"}, "needs --stream and --bucket"},
		{"no stream", []string{"setup", "--bucket", "b-ok"}, "needs --stream and --bucket"},
		{"zero interval", []string{"setup", "--stream", "s", "--bucket", "b-ok", "--buffer-interval", "0s"}, "--buffer-interval must be at least 1s"},
		{"positional argument", []string{"setup", "--stream", "s", "--bucket", "b-ok", "extra"}, "unknown command"},
		{"bad buffer size", []string{"setup", "--stream", "s", "--bucket", "b-ok", "--buffer-size-mb", "200", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:1"}, "buffer size 200 MiB"},
		{"bad bucket name", []string{"setup", "--stream", "s", "--bucket", "Bad_Bucket", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:1"}, "bucket name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runInfraCLI(t, "", tt.args...)
			if code != exitFatal {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitFatal, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantErr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestSetupAndTeardownCommandsAgainstMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server; skipped with -short")
	}
	srv := motoserver.Start(t)
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--log-level", "error"}
	setup := append([]string{"setup", "--stream", "cli-stream", "--bucket", "cli-bucket"}, common...)
	teardown := append([]string{"teardown", "--stream", "cli-stream", "--bucket", "cli-bucket"}, common...)

	code, stdout, stderr := runInfraCLI(t, "", setup...)
	if code != 0 {
		t.Fatalf("setup exit %d: %s", code, stderr)
	}
	for _, row := range [][]string{
		{"S3", "bucket", "cli-bucket", "Created", "arn:aws:s3:::cli-bucket"},
		{"IAM", "role", "firehose-cli-stream-delivery", "Created", "arn:aws:iam::123456789012:role/firehose-cli-stream-delivery"},
		{"log", "group", "/aws/kinesisfirehose/cli-stream", "Referenced", "-"},
		{"delivery", "stream", "cli-stream", "Created", "arn:aws:firehose:us-east-1:123456789012:deliverystream/cli-stream"},
	} {
		if !tableRow(stdout, row...) {
			t.Errorf("setup output lacks row %q:\n%s", row, stdout)
		}
	}
	if !strings.Contains(stdout, "note: log group /aws/kinesisfirehose/cli-stream: not created by setup") {
		t.Errorf("setup output does not say the log group is not created:\n%s", stdout)
	}

	code, stdout, stderr = runInfraCLI(t, "", setup...)
	if code != 0 {
		t.Fatalf("second setup exit %d: %s", code, stderr)
	}
	for _, row := range [][]string{{"S3", "bucket", "cli-bucket", "Exists"}, {"IAM", "role", "firehose-cli-stream-delivery", "Exists"}, {"delivery", "stream", "cli-stream", "Exists"}} {
		if !tableRow(stdout, row...) {
			t.Errorf("second setup output lacks row %q:\n%s", row, stdout)
		}
	}

	// The scenario runs on what setup made: every record lands in the bucket once.
	input, want := writeInput(t, 1200, 21)
	code, stdout, stderr = runInfraCLI(t, "", append([]string{"scenario", "--stream", "cli-stream", "--data", input, "--metrics-wait", "0s"}, common...)...)
	if code != 0 {
		t.Fatalf("scenario on the set-up stream: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	assertExactlyOnce(t, deliveredLines(t, bucketObjects(t, srv.URL, "cli-bucket")), want)

	// Without a terminal and without --yes, teardown refuses and deletes nothing.
	code, stdout, stderr = runInfraCLI(t, "y\n", teardown...)
	if code != exitFatal || !strings.Contains(stderr, "pass --yes") {
		t.Errorf("teardown without --yes: exit %d, stderr %q; want exit 2 asking for --yes", code, stderr)
	}
	if stdout != "" {
		t.Errorf("teardown without --yes printed %q", stdout)
	}
	s3c := s3.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}}, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String("cli-bucket")}); err != nil {
		t.Errorf("bucket gone after a refused teardown: %v", err)
	}

	code, stdout, stderr = runInfraCLI(t, "", append(teardown, "--yes")...)
	if code != 0 {
		t.Fatalf("teardown --yes exit %d: %s", code, stderr)
	}
	for _, row := range [][]string{{"delivery", "stream", "cli-stream", "Deleted"}, {"S3", "bucket", "cli-bucket", "Deleted"}, {"IAM", "role", "firehose-cli-stream-delivery", "Deleted"}} {
		if !tableRow(stdout, row...) {
			t.Errorf("teardown output lacks row %q:\n%s", row, stdout)
		}
	}

	code, stdout, stderr = runInfraCLI(t, "", append(teardown, "--yes")...)
	if code != 0 {
		t.Fatalf("second teardown exit %d: %s", code, stderr)
	}
	for _, row := range [][]string{{"delivery", "stream", "cli-stream", "Gone"}, {"S3", "bucket", "cli-bucket", "Gone"}, {"IAM", "role", "firehose-cli-stream-delivery", "Gone"}} {
		if !tableRow(stdout, row...) {
			t.Errorf("second teardown output lacks row %q:\n%s", row, stdout)
		}
	}
}

// bucketObjects reads every object of bucket from an S3 endpoint.
func bucketObjects(t *testing.T, endpoint, bucket string) [][]byte {
	t.Helper()
	return backend.BucketObjects(t, endpoint, bucket)
}
