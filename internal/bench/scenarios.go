package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func (c *config) throughput(ctx context.Context, log io.Writer) ([]result, error) {
	in, err := c.input(c.records, log)
	if err != nil {
		return nil, err
	}
	s, err := c.newSession(ctx, "throughput", log, []string{"--quota", "none"}, "bench")
	if err != nil {
		return nil, err
	}
	r, err := runPut(ctx, c.bin, s.dir, s.emu.URL, "bench", in.path, c.putFlags())
	s.close()
	if err != nil {
		return nil, err
	}
	wallRate := float64(r.Summary.Delivered) / r.Wall.Seconds()
	return []result{
		{"throughput", "records/s (wall, put process)", fmt.Sprintf("%.0f", wallRate), fmt.Sprintf(">= %d", targetRecordsPerSec), atLeast(wallRate, targetRecordsPerSec)},
		{"throughput", "records/s (put summary)", fmt.Sprintf("%.0f", r.Summary.RecordsPerSec), fmt.Sprintf(">= %d", targetRecordsPerSec), atLeast(r.Summary.RecordsPerSec, targetRecordsPerSec)},
		{"throughput", "MiB/s (wall, input bytes)", fmt.Sprintf("%.2f", float64(in.bytes)/mib/r.Wall.Seconds()), "-", statusInfo},
		{"throughput", "MiB/s (put summary)", fmt.Sprintf("%.2f", r.Summary.MiBPerSec), "-", statusInfo},
		{"throughput", "delivered", fmt.Sprintf("%d of %d", r.Summary.Delivered, c.records), fmt.Sprintf("%d", c.records), atLeast(float64(r.Summary.Delivered), float64(c.records))},
		{"throughput", "peak RSS put", mibString(r.Usage.PeakRSS), "-", statusInfo},
		{"throughput", "peak RSS emulator", mibString(s.Emulator.PeakRSS), "-", statusInfo},
		{"throughput", "CPU put / emulator / wall", cpuString(r, s), "-", statusInfo},
	}, nil
}

func (c *config) memory(ctx context.Context, log io.Writer) ([]result, error) {
	n, err := recordsForBytes(int64(c.bigMB) * mib)
	if err != nil {
		return nil, err
	}
	in, err := c.input(n, log)
	if err != nil {
		return nil, err
	}
	// The big file is only used here: free the disk space afterwards.
	defer func() { _ = os.Remove(in.path); delete(c.generatedInput.files, n) }()
	s, err := c.newSession(ctx, "memory", log, []string{"--quota", "none"}, "bench")
	if err != nil {
		return nil, err
	}
	r, err := runPut(ctx, c.bin, s.dir, s.emu.URL, "bench", in.path, c.putFlags())
	s.close()
	if err != nil {
		return nil, err
	}
	return []result{
		{"memory", fmt.Sprintf("peak RSS put, %.0f MiB input", float64(in.bytes)/mib), mibString(r.Usage.PeakRSS), "<= " + mibString(targetPeakRSS), atMost(float64(r.Usage.PeakRSS), targetPeakRSS)},
		{"memory", "delivered", fmt.Sprintf("%d of %d", r.Summary.Delivered, n), fmt.Sprintf("%d", n), atLeast(float64(r.Summary.Delivered), float64(n))},
		{"memory", "records/s (wall)", fmt.Sprintf("%.0f", float64(r.Summary.Delivered)/r.Wall.Seconds()), "-", statusInfo},
		{"memory", "peak RSS emulator", mibString(s.Emulator.PeakRSS), "-", statusInfo},
		{"memory", "CPU put / emulator / wall", cpuString(r, s), "-", statusInfo},
	}, nil
}

func (c *config) quota(ctx context.Context, log io.Writer) ([]result, error) {
	in, err := c.input(c.quotaInput, log)
	if err != nil {
		return nil, err
	}
	flags := []string{"--quota-bytes-per-second", strconv.FormatInt(c.quotaBytes, 10)}
	if strings.Contains(c.emulatorFlags, "--quota-records-per-second") {
		flags = append(flags, "--quota-records-per-second", strconv.Itoa(c.quotaRecords))
	}
	if strings.Contains(c.emulatorFlags, "--quota-requests-per-second") {
		flags = append(flags, "--quota-requests-per-second", strconv.Itoa(c.quotaRequests))
	}
	s, err := c.newSession(ctx, "quota", log, flags, "bench")
	if err != nil {
		return nil, err
	}
	r, err := runPut(ctx, c.bin, s.dir, s.emu.URL, "bench", in.path, c.putFlags())
	s.close()
	if err != nil {
		return nil, err
	}
	ideal := time.Duration(float64(r.Summary.BytesSent) / float64(c.quotaBytes) * float64(time.Second))
	timeRatio := r.Wall.Seconds() / ideal.Seconds()
	throttledPct := 100 * float64(r.Summary.Throttled) / float64(max(r.Summary.Read, 1))
	return []result{
		{"quota", "wall / (bytes sent / quota)", fmt.Sprintf("%.3f (%s / %s)", timeRatio, r.Wall.Round(time.Millisecond), ideal.Round(time.Millisecond)), fmt.Sprintf("1 ± %.2f", targetQuotaTimeTol), within(timeRatio, 1, targetQuotaTimeTol)},
		{"quota", "throttled records %", fmt.Sprintf("%.2f%% (%d of %d)", throttledPct, r.Summary.Throttled, r.Summary.Read), fmt.Sprintf("< %.0f%%", targetThrottledPct), below(throttledPct, targetThrottledPct)},
		{"quota", "delivered", fmt.Sprintf("%d of %d", r.Summary.Delivered, c.quotaInput), fmt.Sprintf("%d", c.quotaInput), atLeast(float64(r.Summary.Delivered), float64(c.quotaInput))},
		{"quota", "MiB/s (put summary)", fmt.Sprintf("%.2f", r.Summary.MiBPerSec), fmt.Sprintf("quota %.2f", float64(c.quotaBytes)/mib), statusInfo},
	}, nil
}

// boto3Result is the JSON line printed by scripts/boto3_baseline.py.
type boto3Result struct {
	Records          int64   `json:"records"`
	Failed           int64   `json:"failed"`
	Seconds          float64 `json:"seconds"`
	RecordsPerSecond float64 `json:"records_per_second"`
}

func (c *config) boto3(ctx context.Context, log io.Writer) ([]result, error) {
	in, err := c.input(c.boto3Records, log)
	if err != nil {
		return nil, err
	}
	s, err := c.newSession(ctx, "boto3", log, []string{"--quota", "none"}, "bench-boto3", "bench-go")
	if err != nil {
		return nil, err
	}
	defer s.close()
	b, err := c.runBoto3(ctx, s, "bench-boto3", in.path)
	if err != nil {
		return nil, err
	}
	r, err := runPut(ctx, c.bin, s.dir, s.emu.URL, "bench-go", in.path, c.putFlags())
	if err != nil {
		return nil, err
	}
	goRate := float64(r.Summary.Delivered) / r.Wall.Seconds()
	ratio := goRate / b.RecordsPerSecond
	rs := []result{
		{"boto3", "boto3 loop records/s (loop time only)", fmt.Sprintf("%.0f (%d records, %d failed)", b.RecordsPerSecond, b.Records, b.Failed), "-", statusInfo},
		{"boto3", "firehose put records/s (wall)", fmt.Sprintf("%.0f", goRate), "-", statusInfo},
		{"boto3", "ratio firehose / boto3", fmt.Sprintf("%.1fx", ratio), fmt.Sprintf(">= %.0fx", targetBoto3Ratio), atLeast(ratio, targetBoto3Ratio)},
	}
	// For context only: with --pack the same input is sent in a few large
	// Firehose records, so it is not the same work as the boto3 loop.
	if err := createStream(ctx, s.emu.URL, "bench-go-pack"); err != nil {
		return rs, err
	}
	rp, err := runPut(ctx, c.bin, s.dir, s.emu.URL, "bench-go-pack", in.path, c.putFlags("--pack"))
	if err != nil {
		return rs, err
	}
	packRate := float64(rp.Summary.Delivered) / rp.Wall.Seconds()
	return append(rs, result{"boto3", "ratio firehose put --pack / boto3 (not like for like)",
		fmt.Sprintf("%.1fx (%.0f records/s)", packRate/b.RecordsPerSecond, packRate), "-", statusInfo}), nil
}

// runBoto3 runs the boto3 baseline script on input against the session's
// emulator.
func (c *config) runBoto3(ctx context.Context, s *session, stream, input string) (boto3Result, error) {
	py := exec.CommandContext(ctx, c.python, c.boto3Script, "--endpoint-url", s.emu.URL, "--region", "us-east-1",
		"--stream", stream, input)
	py.Env = benchEnv(s.dir)
	py.Stderr = s.log
	out, err := py.Output()
	if err != nil {
		return boto3Result{}, fmt.Errorf("boto3 baseline %s: %w", c.boto3Script, err)
	}
	return parseBoto3(out)
}

// parseBoto3 reads the last JSON line of the baseline's stdout.
func parseBoto3(out []byte) (boto3Result, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var b boto3Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &b); err != nil {
		return b, fmt.Errorf("boto3 baseline output %q: %w", lastBytes(out, 300), err)
	}
	if b.RecordsPerSecond <= 0 {
		return b, fmt.Errorf("boto3 baseline output %q: %w", lastBytes(out, 300), errNoRate)
	}
	return b, nil
}
