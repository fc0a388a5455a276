package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
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
				"--fault-latency", "20ms", "--metrics-delay", "2m", "--fsync", "--max-connections", "50",
				"--max-in-flight-bytes", "1000000", "--body-read-timeout", "5s", "--max-metric-series", "10"},
			want: emulatorOptions{Addr: "127.0.0.1:0", DataDir: "/tmp/x", Quota: "default", QuotaRecordsPerSecond: 10,
				QuotaRequestsPerSecond: 2, QuotaBytesPerSecond: 1000, FaultSeed: 7, FaultRequestErrorRate: 0.1,
				FaultRecordErrorRate: 0.2, FaultLostResponseRate: 0.3, FaultLatency: 20 * time.Millisecond, MetricsDelay: 2 * time.Minute,
				Fsync: true, MaxConnections: 50, MaxInFlightBytes: 1_000_000, BodyReadTimeout: 5 * time.Second, MaxMetricSeries: 10},
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
		{name: "negative connection cap", opts: emulatorOptions{Addr: "127.0.0.1:0", Quota: "default", MaxConnections: -1}},
		{name: "negative body timeout", opts: emulatorOptions{Addr: "127.0.0.1:0", Quota: "default", BodyReadTimeout: -time.Second}},
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

// cliChildDirEnv makes TestEmulatorChildProcess run `firehose emulator`
// on the directory it names, as a process of its own.
const cliChildDirEnv = "FIREHOSE_CLI_TEST_EMULATOR_DIR"

// TestEmulatorChildProcess is not a test: it is the emulator process of
// TestEmulatorCommandSurvivesSIGKILL, run from the test binary.
func TestEmulatorChildProcess(t *testing.T) {
	dir := os.Getenv(cliChildDirEnv)
	if dir == "" {
		t.Skip("runs only as the emulator process of TestEmulatorCommandSurvivesSIGKILL")
	}
	os.Exit(Main(context.Background(), []string{"emulator", "--addr", "127.0.0.1:0", "--data-dir", dir, "--quota", "none"},
		Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr},
		Signals(func(c chan<- os.Signal) { signal.Notify(c, os.Interrupt, syscall.SIGTERM) })))
}

// startEmulatorProcess runs `firehose emulator --data-dir dir` in a process
// of its own and returns it with its URL.
func startEmulatorProcess(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestEmulatorChildProcess$")
	cmd.Env = append(os.Environ(), cliChildDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the emulator process: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v", err)
	}
	m := regexp.MustCompile(`^emulator listening on (http://127\.0\.0\.1:\d+), data in `).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("listening line %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return cmd, m[1]
}

// `firehose emulator` killed with SIGKILL after acknowledging records, then
// started again on the same --data-dir: the stream is still there and every
// acknowledged record is delivered exactly once.
func TestEmulatorCommandSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts emulator processes")
	}
	dir := t.TempDir()
	first, url := startEmulatorProcess(t, dir)
	client := func(url string) *firehose.Client {
		return firehose.NewFromConfig(aws.Config{
			Region:           "us-east-1",
			Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
			BaseEndpoint:     aws.String(url),
			HTTPClient:       &awsconf.BufferedClient{BuildableClient: awshttp.NewBuildableClient()},
			RetryMaxAttempts: 1, // a retried batch would be delivered twice
		})
	}
	fh := client(url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("kill"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::kill-bucket"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r"),
			BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(128), IntervalInSeconds: aws.Int32(900)},
		},
	})
	if err != nil {
		t.Fatalf("CreateDeliveryStream: %v", err)
	}
	const batches, perBatch = 20, 500
	for b := range batches {
		recs := make([]types.Record, perBatch)
		for i := range recs {
			recs[i] = types.Record{Data: fmt.Appendf(nil, "id-%02d-%03d\n", b, i)}
		}
		out, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("kill"), Records: recs})
		if err != nil || aws.ToInt32(out.FailedPutCount) != 0 {
			t.Fatalf("PutRecordBatch: %v (%d failed)", err, aws.ToInt32(out.FailedPutCount))
		}
	}
	if err := first.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = first.Wait()

	second, url := startEmulatorProcess(t, dir)
	fh = client(url)
	if _, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("kill")}); err != nil {
		t.Fatalf("the stream is gone after the restart: %v", err)
	}
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("the emulator process after SIGTERM: %v, want exit 0", err)
	}
	seen := make(map[string]int)
	err = filepath.WalkDir(filepath.Join(dir, "kill-bucket"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		for line := range strings.Lines(string(b)) {
			seen[line]++
		}
		return err
	})
	if err != nil {
		t.Fatalf("read delivered objects: %v", err)
	}
	bad := 0
	for b := range batches {
		for i := range perBatch {
			if seen[fmt.Sprintf("id-%02d-%03d\n", b, i)] != 1 {
				bad++
			}
		}
	}
	if bad != 0 || len(seen) != batches*perBatch {
		t.Errorf("%d of %d records missing or duplicated (%d distinct lines delivered)", bad, batches*perBatch, len(seen))
	}
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
