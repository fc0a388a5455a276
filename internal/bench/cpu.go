package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// naiveResult is the JSON line printed by internal/bench/naiveloop.
type naiveResult struct {
	Records          int64   `json:"records"`
	Delivered        int64   `json:"delivered"`
	Resent           int64   `json:"resent"`
	Calls            int64   `json:"calls"`
	Seconds          float64 `json:"seconds"`
	RecordsPerSecond float64 `json:"records_per_second"`
}

// parseNaive reads the last line of the naive loop's stdout.
func parseNaive(out []byte) (naiveResult, error) {
	var r naiveResult
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil {
		return r, fmt.Errorf("naive loop output %q: %w", lastBytes(out, 300), err)
	}
	if r.Records <= 0 {
		return r, fmt.Errorf("naive loop output %q: %w", lastBytes(out, 300), errNoRecords)
	}
	return r, nil
}

// naiveRun is the outcome of one naive loop child.
type naiveRun struct {
	Result naiveResult
	Wall   time.Duration
	Usage  usage
}

// runNaive runs the naive SDK loop on input; label names its log file.
func runNaive(ctx context.Context, bin, dir, url, stream, label, input string) (naiveRun, error) {
	logPath := filepath.Join(dir, "naive-"+label+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return naiveRun{}, fmt.Errorf("naive loop log: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-endpoint-url", url, "-region", "us-east-1", "-stream", stream, input)
	cmd.Env = benchEnv(dir)
	cmd.Stdout = &stdout
	cmd.Stderr = logFile
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	r := naiveRun{Wall: time.Since(start)}
	if cmd.ProcessState != nil {
		r.Usage = usageOf(cmd.ProcessState)
	}
	if runErr != nil {
		return r, fmt.Errorf("naive loop: %w: %s", runErr, tail(logPath))
	}
	r.Result, err = parseNaive(stdout.Bytes())
	return r, err
}

// cpuSamples collects per-run figures of one sender.
type cpuSamples struct {
	cpuPerMillion, emuPerMillion, recordsPerSec []float64
	shortRuns                                   int // runs that did not deliver every record
}

func (s *cpuSamples) add(records, delivered int64, cpu, emu time.Duration, emuKnown bool, wall time.Duration, want int64) {
	s.cpuPerMillion = append(s.cpuPerMillion, perMillion(cpu, records))
	if emuKnown {
		s.emuPerMillion = append(s.emuPerMillion, perMillion(emu, records))
	}
	s.recordsPerSec = append(s.recordsPerSec, float64(delivered)/wall.Seconds())
	if delivered != want {
		s.shortRuns++
	}
}

// emulatorCPU is the emulator's CPU so far; ok is false where /proc is not
// readable.
func (s *session) emulatorCPU() (time.Duration, bool) {
	d, err := processCPU(s.emu.cmd.Process.Pid)
	return d, err == nil
}

// cpu compares the CPU time per record of `firehose put` with the naive
// SDK loop's, on one emulator without quotas, runs interleaved (put, loop,
// put, loop, ...) so that drift on a shared machine hits both alike. The
// emulator's CPU is measured apart and not counted.
func (c *config) cpu(ctx context.Context, log io.Writer) ([]result, error) {
	in, err := c.input(c.cpuRecords, log)
	if err != nil {
		return nil, err
	}
	s, err := c.newSession(ctx, "cpu", log, []string{"--quota", "none"}, "cpu")
	if err != nil {
		return nil, err
	}
	defer s.close()
	want := int64(c.cpuRecords)
	var put, naive cpuSamples
	for i := range c.cpuRuns {
		e0, ok0 := s.emulatorCPU()
		r, err := runPutAs(ctx, c.bin, s.dir, s.emu.URL, "cpu", fmt.Sprintf("cpu-%d", i), in.path, c.putFlags())
		if err != nil {
			return nil, err
		}
		e1, ok1 := s.emulatorCPU()
		put.add(r.Summary.Read, r.Summary.Delivered, r.Usage.CPU, e1-e0, ok0 && ok1, r.Wall, want)
		logf(log, "cpu: put run %d: %.2f CPU-s per million, %.0f records/s", i+1, put.cpuPerMillion[i], put.recordsPerSec[i])

		n, err := runNaive(ctx, c.naiveBin, s.dir, s.emu.URL, "cpu", fmt.Sprintf("cpu-%d", i), in.path)
		if err != nil {
			return nil, err
		}
		e2, ok2 := s.emulatorCPU()
		naive.add(n.Result.Records, n.Result.Delivered, n.Usage.CPU, e2-e1, ok1 && ok2, n.Wall, want)
		logf(log, "cpu: naive loop run %d: %.2f CPU-s per million, %.0f records/s", i+1, naive.cpuPerMillion[i], naive.recordsPerSec[i])
	}
	return cpuResults(put, naive, c.cpuRuns, want), nil
}

// cpuResults turns the samples into rows: the ratio of the median CPU per
// record is the target; the rest is context.
func cpuResults(put, naive cpuSamples, runs int, want int64) []result {
	p, n := spreadOf(put.cpuPerMillion), spreadOf(naive.cpuPerMillion)
	ratio := 0.0
	if n.Median > 0 {
		ratio = p.Median / n.Median
	}
	emu := "n/a"
	if len(put.emuPerMillion) > 0 && len(naive.emuPerMillion) > 0 {
		emu = fmt.Sprintf("%.2f / %.2f", spreadOf(put.emuPerMillion).Median, spreadOf(naive.emuPerMillion).Median)
	}
	short := put.shortRuns + naive.shortRuns
	return []result{
		{"cpu", fmt.Sprintf("put CPU-s per million records (min/median/max of %d)", runs), p.format("%.2f"), "-", statusInfo},
		{"cpu", fmt.Sprintf("naive SDK loop CPU-s per million (min/median/max of %d)", runs), n.format("%.2f"), "-", statusInfo},
		{"cpu", "CPU ratio put / naive loop (medians)", fmt.Sprintf("%.2fx", ratio), fmt.Sprintf("<= %.2fx", targetCPURatio), passIf(ratio > 0 && ratio <= targetCPURatio)},
		{"cpu", "put records/s (wall, min/median/max)", spreadOf(put.recordsPerSec).format("%.0f"), "-", statusInfo},
		{"cpu", "naive loop records/s (wall, min/median/max)", spreadOf(naive.recordsPerSec).format("%.0f"), "-", statusInfo},
		{"cpu", "emulator CPU-s per million during put / naive (medians, not counted)", emu, "-", statusInfo},
		{"cpu", "runs that delivered every record", fmt.Sprintf("%d of %d (%d records each)", 2*runs-short, 2*runs, want), fmt.Sprintf("%d", 2*runs), passIf(short == 0)},
	}
}
