package cli

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/awsconf"
)

func TestEmulatorFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      emulatorOptions
		wantUsage bool
	}{
		{
			name: "defaults",
			args: nil,
			want: emulatorOptions{Addr: "127.0.0.1:4566", Quota: "default"},
		},
		{
			name: "everything",
			args: []string{"--addr", "127.0.0.1:0", "--data-dir", "/tmp/x", "--quota-records-per-second", "10",
				"--quota-requests-per-second", "2", "--quota-bytes-per-second", "1000", "--fault-seed", "7",
				"--fault-request-error-rate", "0.1", "--fault-record-error-rate", "0.2", "--fault-lost-response-rate", "0.3",
				"--fault-latency", "20ms", "--metrics-delay", "2m"},
			want: emulatorOptions{Addr: "127.0.0.1:0", DataDir: "/tmp/x", Quota: "default", QuotaRecordsPerSecond: 10,
				QuotaRequestsPerSecond: 2, QuotaBytesPerSecond: 1000, FaultSeed: 7, FaultRequestErrorRate: 0.1,
				FaultRecordErrorRate: 0.2, FaultLostResponseRate: 0.3, FaultLatency: 20 * time.Millisecond, MetricsDelay: 2 * time.Minute},
		},
		{
			name: "streams and create delay",
			args: []string{"--stream", "a", "--stream", "b=bkt", "--stream", "c=bkt/logs/", "--create-delay", "3s"},
			want: emulatorOptions{Addr: "127.0.0.1:4566", Quota: "default", Streams: []string{"a", "b=bkt", "c=bkt/logs/"}, CreateDelay: 3 * time.Second},
		},
		{
			name:      "stream without a name",
			args:      []string{"--stream", "=bkt"},
			want:      emulatorOptions{Addr: "127.0.0.1:4566", Quota: "default", Streams: []string{"=bkt"}},
			wantUsage: true,
		},
		{
			name:      "stream with an empty bucket",
			args:      []string{"--stream", "a=/logs/"},
			want:      emulatorOptions{Addr: "127.0.0.1:4566", Quota: "default", Streams: []string{"a=/logs/"}},
			wantUsage: true,
		},
		{
			name: "quota none",
			args: []string{"--quota", "none"},
			want: emulatorOptions{Addr: "127.0.0.1:4566", Quota: "none"},
		},
		{
			name:      "quota none with a quota value",
			args:      []string{"--quota", "none", "--quota-records-per-second", "5"},
			want:      emulatorOptions{Addr: "127.0.0.1:4566", Quota: "none", QuotaRecordsPerSecond: 5},
			wantUsage: true,
		},
		{
			name:      "unknown quota mode",
			args:      []string{"--quota", "some"},
			want:      emulatorOptions{Addr: "127.0.0.1:4566", Quota: "some"},
			wantUsage: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got emulatorOptions
			fs := pflag.NewFlagSet("emulator", pflag.ContinueOnError)
			got.addFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
			_, err := got.serverOptions(fs)
			if tt.wantUsage != (err != nil) {
				t.Fatalf("serverOptions error = %v, want usage error %v", err, tt.wantUsage)
			}
			if err != nil && exitCode(err, newSignalState(nil)) != exitFatal {
				t.Errorf("exit code for %v = %d, want %d", err, exitCode(err, newSignalState(nil)), exitFatal)
			}
		})
	}
}

func TestRunEmulatorRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts emulatorOptions
	}{
		{name: "rate over 1", opts: emulatorOptions{Addr: "127.0.0.1:0", Quota: "default", FaultRecordErrorRate: 1.5}},
		{name: "negative latency", opts: emulatorOptions{Addr: "127.0.0.1:0", Quota: "default", FaultLatency: -time.Second}},
		{name: "negative quota", opts: emulatorOptions{Addr: "127.0.0.1:0", Quota: "default", QuotaBytesPerSecond: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &globalOptions{stdio: Stdio{Out: io.Discard, Err: io.Discard}, signals: newSignalState(nil)}
			tt.opts.DataDir = t.TempDir()
			err := runEmulator(context.Background(), g, tt.opts)
			if err == nil {
				t.Fatal("runEmulator accepted bad options")
			}
			if code := exitCode(err, g.signals); code != exitFatal {
				t.Errorf("exit code %d, want %d (%v)", code, exitFatal, err)
			}
		})
	}
}

// startEmulatorCommand runs runEmulator in the background and returns the
// URL from its listening line and the channel its result arrives on.
func startEmulatorCommand(t *testing.T, ctx context.Context, opts emulatorOptions) (url string, done <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	g := &globalOptions{stdio: Stdio{Out: pw, Err: io.Discard}, signals: newSignalState(nil)}
	errc := make(chan error, 1)
	go func() {
		err := runEmulator(ctx, g, opts)
		_ = pw.Close()
		errc <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v (run error: %v)", err, <-errc)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	m := regexp.MustCompile(`^emulator listening on (http://127\.0\.0\.1:\d+), data in (.+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("listening line %q", line)
	}
	if m[2] != opts.DataDir {
		t.Errorf("data dir in the line %q, want %q", m[2], opts.DataDir)
	}
	return m[1], errc
}

func TestEmulatorCommandFlushesOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	url, done := startEmulatorCommand(t, ctx, emulatorOptions{Addr: "127.0.0.1:0", DataDir: dir, Quota: "default"})

	fh := firehose.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   &awsconf.BufferedClient{BuildableClient: awshttp.NewBuildableClient()},
		// No retries: a retried batch would be delivered twice.
		RetryMaxAttempts: 1,
	})
	reqCtx, reqCancel := context.WithTimeout(ctx, 20*time.Second)
	defer reqCancel()
	_, err := fh.CreateDeliveryStream(reqCtx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("cmd"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::cmd-bucket"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r"),
			BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(128), IntervalInSeconds: aws.Int32(900)},
		},
	})
	if err != nil {
		t.Fatalf("CreateDeliveryStream: %v", err)
	}
	var want strings.Builder
	for b := range 5 {
		recs := make([]types.Record, 100)
		for i := range recs {
			line := "record-" + string(rune('a'+b)) + "-" + string(rune('0'+i%10)) + "\n"
			want.WriteString(line)
			recs[i] = types.Record{Data: []byte(line)}
		}
		out, err := fh.PutRecordBatch(reqCtx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("cmd"), Records: recs})
		if err != nil || aws.ToInt32(out.FailedPutCount) != 0 {
			t.Fatalf("PutRecordBatch: %v", err)
		}
	}

	cancel() // what SIGINT/SIGTERM do
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runEmulator after cancel = %v, want nil (exit 0)", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("runEmulator did not return after cancel")
	}

	var got strings.Builder
	err = filepath.WalkDir(filepath.Join(dir, "cmd-bucket"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		got.Write(b)
		return err
	})
	if err != nil {
		t.Fatalf("read delivered files: %v", err)
	}
	if got.String() != want.String() {
		t.Errorf("delivered %d bytes, want every accepted record (%d bytes)", got.Len(), want.Len())
	}
}

func TestEmulatorCommandExitsZeroAfterASignal(t *testing.T) {
	sig := make(chan chan<- os.Signal, 1)
	var stdout, stderr emulatorOutput
	done := make(chan int, 1)
	go func() {
		done <- Main(context.Background(), []string{"emulator", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()},
			Stdio{In: strings.NewReader(""), Out: &stdout, Err: &stderr},
			Signals(func(c chan<- os.Signal) { sig <- c }))
	}()
	c := <-sig
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "emulator listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("no listening line; stderr: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c <- os.Interrupt
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code %d, want 0; stderr: %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("emulator command did not stop on SIGINT")
	}
}

// emulatorOutput is a strings.Builder safe for the command goroutine to
// write while the test reads.
type emulatorOutput struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *emulatorOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *emulatorOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

func TestEmulatorCommandCreatesStreams(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, done := startEmulatorCommand(t, ctx, emulatorOptions{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Quota: "default",
		Streams: []string{"plain", "custom=my-bucket/logs/", "bare=other-bucket"}})
	fh := firehose.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   &awsconf.BufferedClient{BuildableClient: awshttp.NewBuildableClient()},
	})
	tests := []struct {
		stream, wantBucketARN, wantPrefix string
	}{
		{"plain", "arn:aws:s3:::firehose-emulator", "plain/"},
		{"custom", "arn:aws:s3:::my-bucket", "logs/"},
		{"bare", "arn:aws:s3:::other-bucket", ""},
	}
	for _, tt := range tests {
		out, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(tt.stream)})
		if err != nil {
			t.Fatalf("DescribeDeliveryStream %s: %v", tt.stream, err)
		}
		d := out.DeliveryStreamDescription
		s3 := d.Destinations[0].ExtendedS3DestinationDescription
		if d.DeliveryStreamStatus != types.DeliveryStreamStatusActive || aws.ToString(s3.BucketARN) != tt.wantBucketARN || aws.ToString(s3.Prefix) != tt.wantPrefix {
			t.Errorf("%s: %s %s %q, want ACTIVE %s %q", tt.stream, d.DeliveryStreamStatus, aws.ToString(s3.BucketARN), aws.ToString(s3.Prefix), tt.wantBucketARN, tt.wantPrefix)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runEmulator: %v", err)
	}

	// A stream the emulator cannot create is a usage error.
	g := &globalOptions{stdio: Stdio{Out: io.Discard, Err: io.Discard}, signals: newSignalState(nil)}
	err := runEmulator(context.Background(), g, emulatorOptions{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Quota: "default",
		Streams: []string{"s=Not_A_Bucket"}})
	if err == nil || exitCode(err, g.signals) != exitFatal {
		t.Errorf("runEmulator with a bad bucket: %v, want a usage error", err)
	}
}
