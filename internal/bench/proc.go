package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// benchEnv is the environment of every child: fake credentials, a region,
// no shared config files and no instance metadata lookups, so nothing on
// this machine can send a request anywhere but the emulator.
func benchEnv(dir string) []string {
	env := make([]string, 0, len(os.Environ())+6)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"),
	)
}

// freeLoopbackAddr returns 127.0.0.1:PORT for a port that was free a moment
// ago; startEmulator retries when another process takes it in between.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("release port: %w", err)
	}
	return addr, nil
}

// emulatorProc is a `firehose emulator` child process.
type emulatorProc struct {
	URL     string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when stdout is drained
}

// startEmulator launches the emulator with extra flags (quotas) on a free
// loopback port, data under dir, and waits for its "listening" line.
func startEmulator(ctx context.Context, bin, dir string, extra []string) (*emulatorProc, error) {
	var lastErr error
	for attempt := range 3 {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		e, err := launchEmulator(ctx, bin, dir, addr, attempt, extra)
		if err == nil {
			return e, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launchEmulator(ctx context.Context, bin, dir, addr string, attempt int, extra []string) (*emulatorProc, error) {
	dataDir := filepath.Join(dir, "emulator-data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("emulator data dir: %w", err)
	}
	logPath := filepath.Join(dir, "emulator-"+strconv.Itoa(attempt)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("emulator log: %w", err)
	}
	defer func() { _ = logFile.Close() }() // the child holds its own descriptor

	args := append([]string{"emulator", "--addr", addr, "--data-dir", dataDir}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = benchEnv(dir)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("emulator stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	e := &emulatorProc{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	urlCh := make(chan string, 1)
	go func() {
		defer close(e.done)
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if url, ok := listeningURL(sc.Text()); ok && !sent {
				urlCh <- url
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case e.URL = <-urlCh:
		return e, nil
	case <-e.done:
		_ = cmd.Wait()
		return nil, fmt.Errorf("%w (args %v): %s", errNotListening, args, tail(logPath))
	case <-time.After(20 * time.Second):
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("%w within 20s: %s", errNotListening, tail(logPath))
}

// listeningURL finds the URL in the emulator's "emulator listening on
// http://127.0.0.1:PORT[, more words]" line.
func listeningURL(line string) (string, bool) {
	_, rest, ok := strings.Cut(line, "emulator listening on ")
	if !ok {
		return "", false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", false
	}
	url := strings.TrimRight(fields[0], ",;")
	return url, strings.HasPrefix(url, "http")
}

// stop sends SIGTERM (the emulator flushes its buffers to disk), waits up to
// grace, then kills. It returns the emulator's resource usage.
func (e *emulatorProc) stop(grace time.Duration) usage {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	waited := make(chan struct{})
	go func() {
		<-e.done
		_ = e.cmd.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-time.After(grace):
		_ = e.cmd.Process.Kill()
		<-waited
	}
	return usageOf(e.cmd.ProcessState)
}

// usage is what a finished child used.
type usage struct {
	PeakRSS int64         // bytes
	CPU     time.Duration // user + system
}

// usageOf reads a finished child's rusage (Linux reports ru_maxrss in KiB);
// zero when unknown.
func usageOf(ps *os.ProcessState) usage {
	if ps == nil {
		return usage{}
	}
	u := usage{CPU: ps.UserTime() + ps.SystemTime()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		u.PeakRSS = ru.Maxrss * 1024
	}
	return u
}

// benchBucket is the destination bucket of every stream.
const benchBucket = "bench"

// createStream makes a DirectPut stream with an S3 destination on the
// emulator, with static test credentials.
func createStream(ctx context.Context, url, name string) error {
	client := firehose.New(firehose.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	_, err := client.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(name),
		DeliveryStreamType: types.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::" + benchBucket),
			RoleARN:   aws.String("arn:aws:iam::000000000000:role/x"),
			BufferingHints: &types.BufferingHints{
				SizeInMBs:         aws.Int32(128),
				IntervalInSeconds: aws.Int32(900),
			},
		},
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	return nil
}

// putRun is the outcome of one `firehose put` child.
type putRun struct {
	Summary  putSummary
	Wall     time.Duration // start to exit, as the user waits for it
	Usage    usage
	ExitCode int
}

// runPut runs `firehose put` on input against url and reads its summary.
// Exit code 1 (some records not delivered) is a result, not an error.
func runPut(ctx context.Context, bin, dir, url, stream, input string, extra []string) (putRun, error) {
	return runPutAs(ctx, bin, dir, url, stream, stream, input, extra)
}

// runPutAs is runPut with its log and dead-letter files named after label,
// for several producers on one stream.
func runPutAs(ctx context.Context, bin, dir, url, stream, label, input string, extra []string) (putRun, error) {
	args := []string{"--endpoint-url", url, "--region", "us-east-1", "--output", "json", "put", "--stream", stream,
		"--dead-letter", filepath.Join(dir, label+".deadletter.ndjson")}
	args = append(append(args, extra...), input)
	logPath := filepath.Join(dir, "put-"+label+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return putRun{}, fmt.Errorf("put log: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = benchEnv(dir)
	cmd.Stdout = &stdout
	cmd.Stderr = logFile
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	if cmd.ProcessState == nil {
		return putRun{}, fmt.Errorf("run put: %w", runErr)
	}
	r := putRun{Wall: time.Since(start), Usage: usageOf(cmd.ProcessState), ExitCode: cmd.ProcessState.ExitCode()}
	var exitErr *exec.ExitError
	undelivered := errors.As(runErr, &exitErr) && r.ExitCode == 1 // a report, not a failure
	if runErr != nil && !undelivered {
		return r, fmt.Errorf("%w (exit %d, %v): %s", errPutFailed, r.ExitCode, runErr, tail(logPath))
	}
	r.Summary, err = parseSummary(stdout.String())
	if err != nil {
		return r, fmt.Errorf("%w; stdout: %q", err, lastBytes(stdout.Bytes(), 500))
	}
	return r, nil
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return lastBytes(b, 800)
}

func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
