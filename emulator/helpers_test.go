package emulator

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// startServer starts an emulator on a loopback port with a test data dir
// and closes it when the test ends.
func startServer(t *testing.T, opts ...Option) (*Server, string) {
	t.Helper()
	opts = append([]Option{DataDir(t.TempDir())}, opts...)
	srv, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv, url
}

// bufferedHTTPClient reads each response body completely before the SDK
// sees the response. The SDK closes the request body as soon as Do returns;
// if net/http's write loop has not yet read that body to EOF, it closes the
// connection under the unread response ("deserialization failed ... use of
// closed network connection" on a 200, aws/aws-sdk-go-v2#2737). It happens
// mostly under -race; the SDK retries it by default, which would duplicate
// records here, so the tests take the response off the wire first.
type bufferedHTTPClient struct{ c *http.Client }

func (b bufferedHTTPClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := b.c.Do(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
}

func awsConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  bufferedHTTPClient{c: &http.Client{}},
	}
}

// firehoseClient is the real SDK client pointed at url, with retries as given
// (1 means no retry).
func firehoseClient(url string, maxAttempts int) *firehose.Client {
	return firehose.NewFromConfig(awsConfig(), func(o *firehose.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = maxAttempts
	})
}

func cloudwatchClient(url string) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(awsConfig(), func(o *cloudwatch.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
}

// createStream creates a DirectPut stream to bucket with prefix and the
// given buffering size (MiB) and interval (s).
func createStream(t *testing.T, fh *firehose.Client, name, bucket, prefix string, sizeMB, intervalS int32) {
	t.Helper()
	_, err := fh.CreateDeliveryStream(context.Background(), &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(name),
		DeliveryStreamType: types.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN:      aws.String("arn:aws:s3:::" + bucket),
			RoleARN:        aws.String("arn:aws:iam::000000000000:role/test"),
			Prefix:         aws.String(prefix),
			BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(sizeMB), IntervalInSeconds: aws.Int32(intervalS)},
		},
	})
	if err != nil {
		t.Fatalf("CreateDeliveryStream %s: %v", name, err)
	}
}

// deliveredFiles returns the paths (relative to dir/bucket, slash form) and
// contents of every delivered file of bucket, sorted by path.
func deliveredFiles(t *testing.T, dir, bucket string) ([]string, [][]byte) {
	t.Helper()
	root := filepath.Join(dir, bucket)
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	slices.Sort(paths)
	contents := make([][]byte, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		contents[i] = b
	}
	return paths, contents
}

// allDelivered concatenates every delivered file of bucket in the order the
// files were written (their names sort by time; ties keep write order only
// within one file, so tests compare multisets of records where it matters).
func allDelivered(t *testing.T, dir, bucket string) string {
	t.Helper()
	_, contents := deliveredFiles(t, dir, bucket)
	var b strings.Builder
	for _, c := range contents {
		b.Write(c)
	}
	return b.String()
}

func ctxTimeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
