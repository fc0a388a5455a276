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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
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

// session is one scenario's emulator and scratch directory.
type session struct {
	dir  string
	emu  *emulatorProc
	log  io.Writer
	keep bool
	// Emulator is set by stop.
	Emulator usage
	stopped  bool
}

// newSession starts an emulator with the given flags in a fresh directory
// and creates the streams.
func (c *config) newSession(ctx context.Context, name string, log io.Writer, emuFlags []string, streams ...string) (*session, error) {
	dir, err := os.MkdirTemp(c.work, name+"-")
	if err != nil {
		return nil, fmt.Errorf("scenario dir: %w", err)
	}
	emu, err := startEmulator(ctx, c.bin, dir, emuFlags)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &session{dir: dir, emu: emu, log: log, keep: c.keep}
	logf(log, "%s: emulator at %s %v", name, emu.URL, emuFlags)
	for _, st := range streams {
		if err := createStream(ctx, emu.URL, st); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// stop stops the emulator, which writes every buffered record to disk, and
// records its usage. It does nothing the second time.
func (s *session) stop() {
	if !s.stopped {
		s.Emulator = s.emu.stop(60 * time.Second)
		s.stopped = true
	}
}

// bucketDir is where the emulator writes the objects of the streams made by
// createStream.
func (s *session) bucketDir() string {
	return filepath.Join(s.dir, "emulator-data", benchBucket)
}

// close stops the emulator (see stop) and removes the scenario directory
// (emulator data included) unless -keep.
func (s *session) close() {
	s.stop()
	if !s.keep {
		_ = os.RemoveAll(s.dir)
	}
}

func (c *config) putFlags(extra ...string) []string {
	if c.concurrency > 0 {
		extra = append(extra, "--concurrency", strconv.Itoa(c.concurrency))
	}
	return extra
}

func (c *config) input(n int, log io.Writer) (inputFile, error) {
	start := time.Now()
	if _, ok := c.generatedInput.files[n]; !ok {
		logf(log, "generating %d records", n)
	}
	f, err := c.generatedInput.ndjson(n)
	if err == nil && time.Since(start) > time.Second {
		logf(log, "generated %s (%.1f MiB) in %s", filepath.Base(f.path), float64(f.bytes)/mib, time.Since(start).Round(time.Millisecond))
	}
	return f, err
}

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

// Result statuses.
const (
	statusPass  = "PASS"
	statusMiss  = "MISS"
	statusInfo  = ""
	statusError = "ERROR"
	statusSkip  = "SKIP"
)

// result is one row of the final table.
type result struct {
	scenario, metric, measured, target, status string
}

func atLeast(v, target float64) string { return passIf(v >= target) }
func atMost(v, target float64) string  { return passIf(v <= target) }
func below(v, target float64) string   { return passIf(v < target) }

// within reports whether v is within tol (a fraction) of ideal.
func within(v, ideal, tol float64) string {
	return passIf(v >= ideal*(1-tol) && v <= ideal*(1+tol))
}

func passIf(ok bool) string {
	if ok {
		return statusPass
	}
	return statusMiss
}

func ratioOf(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// cpuString shows where the CPU went: on a 2-core machine the put process
// and the emulator compete for it.
func cpuString(r putRun, s *session) string {
	return fmt.Sprintf("%s / %s / %s", r.Usage.CPU.Round(time.Millisecond), s.Emulator.CPU.Round(time.Millisecond), r.Wall.Round(time.Millisecond))
}

func mibString(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/mib) }

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// printTable writes the results and a count of misses, which stand out as
// "MISS" in capitals both in the table and in the last line.
func printTable(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "\nSCENARIO\tMETRIC\tMEASURED\tTARGET\tSTATUS")
	misses := 0
	for _, r := range results {
		target := r.target
		if target == "" {
			target = "-"
		}
		status := r.status
		if status == statusInfo {
			status = "info"
		}
		if status == statusMiss || status == statusError {
			misses++
			status = ">>> " + status
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.scenario, r.metric, r.measured, target, status)
	}
	_ = tw.Flush()
	if misses > 0 {
		_, _ = fmt.Fprintf(w, "\nMISS: %d target(s) missed or not measured (see >>> above)\n", misses)
	} else {
		_, _ = fmt.Fprintln(w, "\nall measured targets PASS")
	}
}

func logf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, "bench %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
