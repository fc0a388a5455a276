package main

import (
	"errors"
	"math"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseProcStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 125 ticks below.
	const tail = " S 1 2 3 4 5 6 7 8 9 10 250 125 0 0 20 0 8 0 100 2000 300"
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain name", "1234 (firehose)" + tail, 3750 * time.Millisecond, false},
		{"name with spaces and parentheses", "1234 (a (b) c)" + tail, 3750 * time.Millisecond, false},
		{"no name", "1234 firehose" + tail, 0, true},
		{"too few fields", "1234 (firehose) S 1 2 3", 0, true},
		{"not a number", "1234 (firehose) S 1 2 3 4 5 6 7 8 9 10 x 125 0", 0, true},
		{"negative", "1234 (firehose) S 1 2 3 4 5 6 7 8 9 10 -1 125 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStatCPU(tt.stat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, errProcStat) {
				t.Errorf("err = %v, want errProcStat", err)
			}
			if got != tt.want {
				t.Errorf("CPU = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestProcessCPUMatchesRusage checks the field positions on the real /proc:
// this process's CPU read there agrees with getrusage.
func TestProcessCPUMatchesRusage(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	burnCPU(t, 300*time.Millisecond)
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		t.Fatal(err)
	}
	got, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		t.Fatal(err)
	}
	lo, hi := rusageCPU(before), rusageCPU(after)
	// /proc counts in 10 ms ticks, rusage in microseconds.
	if got < lo-30*time.Millisecond || got > hi+30*time.Millisecond {
		t.Errorf("processCPU = %v, getrusage says %v..%v", got, lo, hi)
	}
	if got < 250*time.Millisecond {
		t.Errorf("processCPU = %v after burning 300ms of CPU", got)
	}
}

func rusageCPU(ru syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// burnCPU spins until this process has used at least d of CPU.
func burnCPU(t *testing.T, d time.Duration) {
	t.Helper()
	x := 0
	for {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		if rusageCPU(ru) >= d {
			break
		}
		for i := range 1_000_000 {
			x ^= i
		}
	}
	_ = x
}

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want spread
	}{
		{"none", nil, spread{}},
		{"one", []float64{2.5}, spread{2.5, 2.5, 2.5}},
		{"odd count, unsorted", []float64{2.42, 2.31, 2.38}, spread{2.31, 2.38, 2.42}},
		{"even count: mean of the middle two", []float64{4, 1, 3, 2}, spread{1, 2.5, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			if got := spreadOf(tt.in); got != tt.want {
				t.Errorf("spreadOf(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("spreadOf reordered its input: %v", tt.in)
				}
			}
		})
	}
	if got := (spread{1.234, 2.345, 3.456}).format("%.2f"); got != "1.23 / 2.35 / 3.46" {
		t.Errorf("format = %q", got)
	}
}

func TestRatiosAndRates(t *testing.T) {
	tests := []struct {
		name      string
		got, want float64
	}{
		{"per million: 2.38 s for 1M", perMillion(2380*time.Millisecond, 1_000_000), 2.38},
		{"per million: 1.19 s for 500k", perMillion(1190*time.Millisecond, 500_000), 2.38},
		{"per million: no records", perMillion(time.Second, 0), 0},
		{"pct", pct(3, 300), 1},
		{"pct of nothing", pct(3, 0), 0},
		{"ideal: 5 MiB at 5 MiB/s", idealTime(5*mib, 5*mib).Seconds(), 1},
		{"ideal: 27 MB at 2 MiB/s", idealTime(27_000_000, 2*mib).Seconds(), 27_000_000.0 / (2 * mib)},
		{"ideal: no quota", idealTime(1, 0).Seconds(), 0},
		{"finish spread: one producer", finishSpread([]time.Duration{3 * time.Second}), 1},
		{"finish spread: last over first", finishSpread([]time.Duration{5 * time.Second, 4 * time.Second, 6 * time.Second, 4500 * time.Millisecond}), 1.5},
		{"finish spread: none", finishSpread(nil), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if math.Abs(tt.got-tt.want) > 1e-9 {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestCPUResultsVerdicts(t *testing.T) {
	samples := func(cpu ...float64) cpuSamples {
		return cpuSamples{cpuPerMillion: cpu, recordsPerSec: []float64{1, 2, 3}, emuPerMillion: []float64{1, 1, 1}}
	}
	tests := []struct {
		name       string
		put, naive cpuSamples
		wantRatio  string
		wantStatus string
	}{
		{"today: 1.45x misses", samples(2.31, 2.38, 2.42), samples(1.60, 1.64, 1.66), "1.45x", statusMiss},
		{"0.8x passes", samples(1.2, 1.3, 1.4), samples(1.5, 1.625, 1.7), "0.80x", statusPass},
		{"medians, not means", samples(0.1, 1.0, 9.0), samples(1.0, 2.0, 2.1), "0.50x", statusPass},
		{"no naive figure misses", samples(1), cpuSamples{}, "0.00x", statusMiss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := cpuResults(tt.put, tt.naive, 3, 1000)
			r := findRow(t, rows, "CPU ratio")
			if r.measured != tt.wantRatio || r.status != tt.wantStatus {
				t.Errorf("ratio row = %q %s, want %q %s", r.measured, r.status, tt.wantRatio, tt.wantStatus)
			}
		})
	}
	short := samples(1, 1, 1)
	short.shortRuns = 1
	if r := findRow(t, cpuResults(short, samples(2, 2, 2), 3, 1000), "delivered every record"); r.status != statusMiss || r.measured != "5 of 6 (1000 records each)" {
		t.Errorf("a run short of records: %q %s, want a MISS", r.measured, r.status)
	}
}

func TestCPUSamplesAdd(t *testing.T) {
	var s cpuSamples
	s.add(500_000, 500_000, time.Second, 400*time.Millisecond, true, 2*time.Second, 500_000)
	s.add(500_000, 499_000, time.Second, 0, false, time.Second, 500_000)
	if s.cpuPerMillion[0] != 2 || s.recordsPerSec[0] != 250_000 || s.recordsPerSec[1] != 499_000 {
		t.Errorf("samples = %+v", s)
	}
	if len(s.emuPerMillion) != 1 || s.emuPerMillion[0] != 0.8 {
		t.Errorf("emulator samples = %v, want [0.8] (the unknown one left out)", s.emuPerMillion)
	}
	if s.shortRuns != 1 {
		t.Errorf("short runs = %d, want 1", s.shortRuns)
	}
}

func TestLatencyResultsVerdicts(t *testing.T) {
	one := latencyCase{name: "100 ms", producers: 1, timeTarget: true, throttleLimit: 1}
	four := latencyCase{name: "4 producers", producers: 4, quotaBytes: 2 * mib, timeTarget: true, throttleLimit: 2, spreadTarget: true}
	noTime := latencyCase{name: "0 ms", producers: 1, quotaBytes: 2 * mib, throttleLimit: 1}
	crowd := latencyCase{name: "8 producers", producers: 8, quotaBytes: 2 * mib}
	all := deliveryCount{Expected: 1000}
	tests := []struct {
		name string
		lc   latencyCase
		out  latencyOutcome
		want map[string]string // metric prefix -> status
	}{
		{"100 ms at 1.05x, 0.5% throttled", one,
			latencyOutcome{wall: 1050 * time.Millisecond, bytesSent: 5 * mib, read: 1000, throttled: 5, delivered: all},
			map[string]string{"time / ideal": statusPass, "throttled": statusPass, "records found": statusPass}},
		{"3x ideal, 1% throttled, one lost", one,
			latencyOutcome{wall: 3 * time.Second, bytesSent: 5 * mib, read: 1000, throttled: 10, delivered: deliveryCount{Expected: 1000, Lost: 1}},
			map[string]string{"time / ideal": statusMiss, "throttled": statusMiss, "records found": statusMiss}},
		{"four producers, fair", four,
			latencyOutcome{wall: 2100 * time.Millisecond, bytesSent: 4 * mib, read: 1000, throttled: 19, delivered: all,
				finishes: []time.Duration{1900 * time.Millisecond, 2 * time.Second, 2050 * time.Millisecond, 2100 * time.Millisecond}},
			map[string]string{"time / ideal": statusPass, "throttled": statusPass, "last / first": statusPass, "records found": statusPass}},
		{"four producers, last finishes 1.4x later", four,
			latencyOutcome{wall: 2800 * time.Millisecond, bytesSent: 4 * mib, read: 1000, throttled: 50, delivered: all,
				finishes: []time.Duration{2 * time.Second, 2200 * time.Millisecond, 2500 * time.Millisecond, 2800 * time.Millisecond}},
			map[string]string{"time / ideal": statusMiss, "throttled": statusMiss, "last / first": statusMiss}},
		{"time is context only at 0 ms", noTime,
			latencyOutcome{wall: 5 * time.Second, bytesSent: 2 * mib, read: 1000, delivered: all},
			map[string]string{"time / ideal": statusInfo, "throttled": statusPass}},
		{"a crowd without targets is information, its delivery is not", crowd,
			latencyOutcome{wall: 9 * time.Second, bytesSent: 4 * mib, read: 1000, throttled: 90, delivered: deliveryCount{Expected: 1000, Lost: 1},
				finishes: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second, 6 * time.Second, 7 * time.Second, 9 * time.Second}},
			map[string]string{"time / ideal": statusInfo, "throttled": statusInfo, "last / first": statusInfo, "records found": statusMiss}},
		{"duplicates are allowed, unexpected lines are not", one,
			latencyOutcome{wall: time.Second, bytesSent: 5 * mib, read: 1000, delivered: deliveryCount{Expected: 1000, Duplicates: 3, Foreign: 1}},
			map[string]string{"records found": statusMiss}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := latencyResults(tt.lc, tt.out)
			for prefix, want := range tt.want {
				if r := findRow(t, rows, prefix); r.status != want {
					t.Errorf("%s: %q status %q, want %q", prefix, r.measured, r.status, want)
				}
			}
			hasSpread := false
			for _, r := range rows {
				hasSpread = hasSpread || strings.HasPrefix(r.metric, "last / first")
			}
			if hasSpread != (tt.lc.producers > 1) {
				t.Errorf("finish spread row present = %v with %d producers", hasSpread, tt.lc.producers)
			}
		})
	}
}

func TestLatencyCaseSetup(t *testing.T) {
	c := &config{latencyRecords: 300_000, producerInput: 60_000}
	cases := c.latencyCases()
	tests := []struct {
		name      string
		lc        latencyCase
		wantFlags string
		wantSpecs int
		wantQuota int64
	}{
		{"default quota at 25 ms", cases[0], "--fault-latency 25ms", 1, 5 * mib},
		{"default quota at 100 ms", cases[2], "--fault-latency 100ms", 1, 5 * mib},
		{"default quota at 200 ms", cases[4], "--fault-latency 200ms", 1, 5 * mib},
		{"2 MiB/s, no latency", cases[6], "--quota-bytes-per-second 2097152", 1, 2 * mib},
		{"four producers", cases[8], "--fault-latency 20ms --quota-bytes-per-second 2097152", 4, 2 * mib},
		{"eight producers", cases[10], "--fault-latency 20ms --quota-bytes-per-second 2097152", 8, 2 * mib},
		{"raised quota", latencyCase{latency: 50 * time.Millisecond, quotaBytes: raisedQuotaBytes, quotaRecords: raisedQuotaRecords,
			quotaRequests: raisedQuotaRequests, producers: 1},
			"--fault-latency 50ms --quota-bytes-per-second 52428800 --quota-records-per-second 500000 --quota-requests-per-second 10000", 1, 50 * mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.lc.emulatorFlags(), " "); got != tt.wantFlags {
				t.Errorf("flags %q, want %q", got, tt.wantFlags)
			}
			if got := tt.lc.bytesQuota(); got != tt.wantQuota {
				t.Errorf("bytes quota %d, want %d", got, tt.wantQuota)
			}
			specs := tt.lc.specs()
			if len(specs) != tt.wantSpecs {
				t.Fatalf("%d inputs, want %d", len(specs), tt.wantSpecs)
			}
			prefixes := map[string]bool{}
			for _, s := range specs {
				prefixes[s.prefix] = true
				if s.n != tt.lc.records || s.size != tt.lc.size {
					t.Errorf("spec %+v, want %d records of %d bytes", s, tt.lc.records, tt.lc.size)
				}
			}
			if len(prefixes) != len(specs) {
				t.Errorf("producers share an id prefix: %+v", specs)
			}
			if warm := tt.lc.warmUp(); prefixes[warm.prefix] || warm.n != warmUpRecords {
				t.Errorf("warm-up input %+v: its ids must differ from the producers' %+v", warm, specs)
			}
		})
	}
	// Each case runs on a new stream, then on a stream used before; the
	// eight producers only on a stream used before, with the four's input
	// split among them.
	if len(cases) != 11 {
		t.Fatalf("%d cases, want 11", len(cases))
	}
	if crowd := cases[10]; !crowd.usedBefore || crowd.records*crowd.producers != cases[8].records*cases[8].producers ||
		crowd.throttleLimit != 0 || crowd.timeTarget || crowd.spreadTarget {
		t.Errorf("the crowd case %+v: used before, the four producers' input, no targets", crowd)
	}
	for i := 0; i+1 < len(cases)-1; i += 2 {
		fresh, used := cases[i], cases[i+1]
		if fresh.usedBefore || !used.usedBefore || used.name != fresh.name+usedBeforeSuffix {
			t.Errorf("cases %d and %d: %q (used before %v), %q (used before %v)", i, i+1, fresh.name, fresh.usedBefore, used.name, used.usedBefore)
		}
		used.name, used.usedBefore = fresh.name, false
		if used != fresh {
			t.Errorf("case %q on a stream used before differs otherwise: %+v", fresh.name, cases[i+1])
		}
	}
}

func TestParseNaive(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    int64
		wantErr error
	}{
		{"json line", `{"records":500000,"delivered":500000,"resent":0,"calls":1000,"seconds":1.9,"records_per_second":263157.9}` + "\n", 500000, nil},
		{"after other output", "note\n" + `{"records":7,"delivered":7}`, 7, nil},
		{"no records", `{"records":0}`, 0, errNoRecords},
		{"not json", "panic: boom\n", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNaive([]byte(tt.out))
			if tt.want > 0 {
				if err != nil || got.Delivered != tt.want {
					t.Errorf("parseNaive = %+v, %v; want %d delivered", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func findRow(t *testing.T, rows []result, metricPrefix string) result {
	t.Helper()
	for _, r := range rows {
		if strings.HasPrefix(r.metric, metricPrefix) || strings.Contains(r.metric, metricPrefix) {
			return r
		}
	}
	t.Fatalf("no row %q in %+v", metricPrefix, rows)
	return result{}
}
