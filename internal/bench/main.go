// Command bench is the end-to-end benchmark behind `make bench`: it runs the
// firehose binary against the emulator running in another process on
// loopback, and reports throughput, memory, packing, quota behaviour, the
// ratio to a plain boto3 loop, CPU per record beside a naive AWS SDK for Go
// loop (cpu) and behaviour at network latency and under shared quotas
// (latency) against the targets of the project.
//
// Usage (from the module root):
//
//	go run ./internal/bench [-records 1000000] [-scenarios throughput,memory,pack,quota,boto3,cpu,latency] [-bin bin/firehose]
//
// Every scenario starts a fresh emulator on a free loopback port with its data
// directory in a temporary directory, removed afterwards. The bench exits 0
// even when a target is missed (it is a report); it exits 2 when it cannot
// run at all (bad flags, the binary does not build).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const mib = 1 << 20

// Targets of the issue (on a 2-core machine, emulator in another process).
const (
	targetRecordsPerSec = 250_000 // quotas off, ~90-byte records
	targetPeakRSS       = 64 * mib
	targetBoto3Ratio    = 10.0
	targetPackRatio     = 1.10 // billed bytes / bytes sent
	targetQuotaTimeTol  = 0.15 // |elapsed / (bytes/quota) - 1|
	targetThrottledPct  = 2.0
	targetCPURatio      = 0.8 // put CPU / naive SDK loop CPU, per record
)

// allScenarios is the default -scenarios list, in the order they run.
var allScenarios = []string{"throughput", "memory", "pack", "quota", "boto3", "cpu", "latency"}

// config holds the flags.
type config struct {
	bin            string
	records        int
	scenarios      []string
	bigMB          int
	packMB         int
	packQuotaBytes int64
	quotaBytes     int64
	quotaRecords   int
	quotaRequests  int
	quotaInput     int
	boto3Records   int
	boto3Script    string
	python         string
	concurrency    int
	timeout        time.Duration
	keep           bool
	cpuRecords     int
	cpuRuns        int
	naiveBin       string
	latencyRecords int
	latencyBoto3   int
	producerInput  int
	emulatorFlags  string // `firehose emulator --help`, to pass only flags it has
	work           string
	generatedInput *inputs
	idInput        *idInputs
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scenarios string
	fs.StringVar(&c.bin, "bin", "", "path to the firehose binary (default: go build ./cmd/firehose into a temp dir)")
	fs.IntVar(&c.records, "records", 1_000_000, "records sent by the throughput and pack scenarios")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run")
	fs.IntVar(&c.bigMB, "big-mb", 1024, "size in MiB of the memory scenario's input")
	fs.IntVar(&c.packMB, "pack-mb", 1024, "pack scenario: size in MiB of the throttled run's input (~90-byte records; about 3.5 minutes per GiB at 5 MiB/s)")
	fs.Int64Var(&c.packQuotaBytes, "pack-quota-bytes", 0, "pack scenario: emulator bytes/s quota of the throttled run (0: the emulator's default, 5 MiB/s)")
	fs.Int64Var(&c.quotaBytes, "quota-bytes", 2*mib, "quota scenario: emulator bytes/s quota")
	fs.IntVar(&c.quotaRecords, "quota-records", 100_000, "quota scenario: emulator records/s quota, high so that the bytes quota binds (if the emulator has the flag)")
	fs.IntVar(&c.quotaRequests, "quota-requests", 2_000, "quota scenario: emulator requests/s quota (if the emulator has the flag)")
	fs.IntVar(&c.quotaInput, "quota-records-input", 250_000, "quota scenario: records sent (~20 MiB)")
	fs.IntVar(&c.boto3Records, "boto3-records", 200_000, "boto3 scenario: records sent by the boto3 loop and by firehose put")
	fs.StringVar(&c.boto3Script, "boto3-script", "scripts/boto3_baseline.py", "the boto3 baseline script")
	fs.StringVar(&c.python, "python", "python3", "Python interpreter with boto3")
	fs.IntVar(&c.cpuRecords, "cpu-records", 1_000_000, "cpu scenario: records per run (figures are per million)")
	fs.IntVar(&c.cpuRuns, "cpu-runs", 3, "cpu scenario: runs of each sender, interleaved")
	fs.StringVar(&c.naiveBin, "naive-bin", "", "cpu scenario: the naive SDK loop binary (default: go build ./internal/bench/naiveloop into a temp dir)")
	fs.IntVar(&c.latencyRecords, "latency-records", 300_000, "latency scenario: ~90-byte records per single-producer case")
	fs.IntVar(&c.latencyBoto3, "latency-boto3-records", 50_000, "latency scenario: records sent by the boto3 loop at 50 ms (its rate is steady, so fewer suffice)")
	fs.IntVar(&c.producerInput, "producer-records", 60_000, "latency scenario: ~200-byte records per producer in the four-producer case")
	fs.IntVar(&c.concurrency, "concurrency", 0, "pass --concurrency N to firehose put (0: its default)")
	fs.DurationVar(&c.timeout, "timeout", 15*time.Minute, "limit on each scenario")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (inputs, logs, emulator data)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, s := range strings.Split(scenarios, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !contains(allScenarios, s) {
			return nil, fmt.Errorf("%w %q (want some of %s)", errUnknownScenario, s, strings.Join(allScenarios, ","))
		}
		c.scenarios = append(c.scenarios, s)
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		_, _ = fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	c.work, err = os.MkdirTemp("", "firehose-bench-")
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if c.keep {
		logf(stderr, "keeping %s", c.work)
	} else {
		defer func() { _ = os.RemoveAll(c.work) }()
	}
	c.generatedInput = &inputs{dir: c.work, files: map[int]inputFile{}}
	c.idInput = &idInputs{dir: c.work, files: map[idRecordSpec]inputFile{}}
	if c.naiveBin == "" && contains(c.scenarios, "cpu") {
		c.naiveBin = filepath.Join(c.work, "naiveloop")
		logf(stderr, "building %s", c.naiveBin)
		build := exec.CommandContext(ctx, "go", "build", "-o", c.naiveBin, "./internal/bench/naiveloop")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			_, _ = fmt.Fprintf(stderr, "bench: go build ./internal/bench/naiveloop (run from the module root, or pass -naive-bin): %v\n", err)
			return 2
		}
	}
	if c.bin == "" {
		c.bin = filepath.Join(c.work, "firehose")
		logf(stderr, "building %s", c.bin)
		build := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "./cmd/firehose")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			_, _ = fmt.Fprintf(stderr, "bench: go build ./cmd/firehose (run from the module root, or pass -bin): %v\n", err)
			return 2
		}
	}
	help, _ := exec.CommandContext(ctx, c.bin, "emulator", "--help").CombinedOutput()
	c.emulatorFlags = string(help)

	var results []result
	for _, name := range c.scenarios {
		if ctx.Err() != nil {
			results = append(results, result{scenario: name, status: statusSkip, measured: "interrupted"})
			continue
		}
		logf(stderr, "scenario %s", name)
		sctx, cancel := context.WithTimeout(ctx, c.timeout)
		rs, err := c.runScenario(sctx, name, stderr)
		cancel()
		if err != nil {
			logf(stderr, "%s: %v", name, err)
			rs = append(rs, result{scenario: name, metric: "run", measured: "error: " + oneLine(err.Error(), 70), status: statusError})
		}
		for _, r := range rs {
			logf(stderr, "%s: %s = %s (target %s) %s", r.scenario, r.metric, r.measured, r.target, r.status)
		}
		results = append(results, rs...)
	}
	printTable(stdout, results)
	return 0
}

func (c *config) runScenario(ctx context.Context, name string, log io.Writer) ([]result, error) {
	switch name {
	case "throughput":
		return c.throughput(ctx, log)
	case "memory":
		return c.memory(ctx, log)
	case "pack":
		return c.pack(ctx, log)
	case "quota":
		return c.quota(ctx, log)
	case "boto3":
		return c.boto3(ctx, log)
	case "cpu":
		return c.cpu(ctx, log)
	case "latency":
		return c.latency(ctx, log)
	}
	return nil, fmt.Errorf("%w %q", errUnknownScenario, name)
}
