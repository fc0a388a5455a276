package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Targets of the latency scenario (issue "Throughput at real network
// latency"), default put flags, emulator in another process.
const (
	defaultQuotaBytes      = 5 * mib // the emulator's default bytes/s quota
	targetLatencyTimeRatio = 1.10    // wall / (bytes / quota)
	targetLatencyThrottled = 1.0     // % of records, one producer
	targetSharedThrottled  = 2.0     // % of records, four producers on one stream
	targetFinishSpread     = 1.25    // last / first producer's finish time
	targetRaisedBoto3Ratio = 25.0    // put records/s / boto3 loop records/s at 50 ms, raised quota
	smallRecordBytes       = 90      // "~90-byte records", newline included
	producerRecordBytes    = 200     // "~200-byte records" of the four-producer case
	raisedQuotaBytes       = 50 * mib
	raisedQuotaRecords     = 500_000
	raisedQuotaRequests    = 10_000
	sharedQuotaBytes       = 2 * mib
	sharedProducers        = 4
	crowdProducers         = 8 // the crowd case: shares at the producer's rate floor (256 KiB/s)
	latencyStream          = "lat"
	latencyBoto3Stream     = "lat-boto3"
)

// errNoLatencyFlag: the emulator binary cannot add latency.
var errNoLatencyFlag = errors.New("the emulator has no --fault-latency flag")

// latencyCase is one emulator set up with a latency and quotas, and some
// `put` producers sending to one stream at once.
type latencyCase struct {
	name          string        // row prefix
	prefix        string        // record id prefix (the producer's index is appended when several)
	latency       time.Duration // --fault-latency
	quotaBytes    int64         // bytes/s quota; 0: the emulator's default (5 MiB/s)
	quotaRecords  int           // 0: the emulator's default
	quotaRequests int           // 0: the emulator's default
	producers     int
	records       int // per producer
	size          int // bytes per record, newline included
	timeTarget    bool
	throttleLimit float64 // % of records; 0: no target, the row is for information
	spreadTarget  bool
	// usedBefore sends a small warm-up input first, as a stream in use
	// has had traffic: its limit metrics are then in CloudWatch, and put
	// reads the quota from them.
	usedBefore bool
}

// usedBeforeSuffix names the rows of a case run on a stream used before.
const usedBeforeSuffix = ", stream used before"

// warmUpRecords is the size of the warm-up input of a stream used before.
const warmUpRecords = 1000

// warmUp is the warm-up input of a stream used before.
func (lc latencyCase) warmUp() idRecordSpec {
	return idRecordSpec{prefix: "W" + lc.prefix, n: warmUpRecords, size: lc.size}
}

// emulatorFlags are the emulator's quota and latency flags for the case.
func (lc latencyCase) emulatorFlags() []string {
	var f []string
	if lc.latency > 0 {
		f = append(f, "--fault-latency", lc.latency.String())
	}
	if lc.quotaBytes > 0 {
		f = append(f, "--quota-bytes-per-second", strconv.FormatInt(lc.quotaBytes, 10))
	}
	if lc.quotaRecords > 0 {
		f = append(f, "--quota-records-per-second", strconv.Itoa(lc.quotaRecords))
	}
	if lc.quotaRequests > 0 {
		f = append(f, "--quota-requests-per-second", strconv.Itoa(lc.quotaRequests))
	}
	return f
}

func (lc latencyCase) bytesQuota() int64 {
	if lc.quotaBytes > 0 {
		return lc.quotaBytes
	}
	return defaultQuotaBytes
}

// specs are the inputs of the case's producers, one id prefix each.
func (lc latencyCase) specs() []idRecordSpec {
	if lc.producers <= 1 {
		return []idRecordSpec{{prefix: lc.prefix, n: lc.records, size: lc.size}}
	}
	specs := make([]idRecordSpec, lc.producers)
	for i := range specs {
		specs[i] = idRecordSpec{prefix: lc.prefix + strconv.Itoa(i), n: lc.records, size: lc.size}
	}
	return specs
}

// latencyCases are the cases of the latency scenario, in the order they run:
// each on a new stream, then on a stream used before.
func (c *config) latencyCases() []latencyCase {
	fresh := []latencyCase{
		{name: "25 ms, 5 MiB/s", prefix: "L25", latency: 25 * time.Millisecond, producers: 1,
			records: c.latencyRecords, size: smallRecordBytes, timeTarget: true, throttleLimit: targetLatencyThrottled},
		{name: "100 ms, 5 MiB/s", prefix: "L100", latency: 100 * time.Millisecond, producers: 1,
			records: c.latencyRecords, size: smallRecordBytes, timeTarget: true, throttleLimit: targetLatencyThrottled},
		// The far end of the "loopback to 200 ms": the same
		// targets as at 25 and 100 ms.
		{name: "200 ms, 5 MiB/s", prefix: "L200", latency: 200 * time.Millisecond, producers: 1,
			records: c.latencyRecords, size: smallRecordBytes, timeTarget: true, throttleLimit: targetLatencyThrottled},
		{name: "0 ms, 2 MiB/s", prefix: "Z2", quotaBytes: sharedQuotaBytes, producers: 1,
			records: c.latencyRecords, size: smallRecordBytes, throttleLimit: targetLatencyThrottled},
		{name: "4 producers, 20 ms, 2 MiB/s", prefix: "P", latency: 20 * time.Millisecond, quotaBytes: sharedQuotaBytes,
			producers: sharedProducers, records: c.producerInput, size: producerRecordBytes,
			timeTarget: true, throttleLimit: targetSharedThrottled, spreadTarget: true},
	}
	cases := make([]latencyCase, 0, 2*len(fresh))
	for _, lc := range fresh {
		used := lc
		used.name += usedBeforeSuffix
		used.usedBefore = true
		cases = append(cases, lc, used)
	}
	// Eight producers share the four producers' stream and input size,
	// on a stream used before, with no targets of their own: their shares
	// sit at the rate floor, where a producer cut under it once kept a
	// small step and they finished up to 2.5x apart.
	return append(cases, latencyCase{name: "8 producers, 20 ms, 2 MiB/s" + usedBeforeSuffix, prefix: "E",
		latency: 20 * time.Millisecond, quotaBytes: sharedQuotaBytes, producers: crowdProducers,
		records: c.producerInput * sharedProducers / crowdProducers, size: producerRecordBytes, usedBefore: true})
}

// latencyOutcome sums up the producers of one case.
type latencyOutcome struct {
	wall      time.Duration   // start of the first to exit of the last
	finishes  []time.Duration // each producer's exit, from the common start
	read      int64
	throttled int64
	bytesSent int64
	delivered deliveryCount
}

// latency runs every latency case, then the raised quota beside the boto3
// loop.
func (c *config) latency(ctx context.Context, log io.Writer) ([]result, error) {
	if !strings.Contains(c.emulatorFlags, "--fault-latency") {
		return nil, errNoLatencyFlag
	}
	var rows []result
	for _, lc := range c.latencyCases() {
		out, err := c.runLatencyCase(ctx, log, lc)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", lc.name, err)
		}
		rows = append(rows, latencyResults(lc, out)...)
	}
	for _, usedBefore := range []bool{false, true} {
		raised, err := c.raisedQuota(ctx, log, usedBefore)
		rows = append(rows, raised...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// runLatencyCase starts the case's emulator, runs its producers at once and
// counts what was delivered.
func (c *config) runLatencyCase(ctx context.Context, log io.Writer, lc latencyCase) (latencyOutcome, error) {
	specs := lc.specs()
	paths := make([]string, len(specs))
	for i, spec := range specs {
		f, err := c.idInput.file(spec)
		if err != nil {
			return latencyOutcome{}, err
		}
		paths[i] = f.path
	}
	s, err := c.newSession(ctx, "latency", log, lc.emulatorFlags(), latencyStream)
	if err != nil {
		return latencyOutcome{}, err
	}
	defer s.close()
	counted, err := c.warmUp(ctx, s, lc, specs)
	if err != nil {
		return latencyOutcome{}, err
	}
	out := latencyOutcome{finishes: make([]time.Duration, len(specs))}
	runs := make([]putRun, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range specs {
		wg.Go(func() {
			runs[i], errs[i] = runPutAs(ctx, c.bin, s.dir, s.emu.URL, latencyStream, specs[i].prefix, paths[i], c.putFlags())
			out.finishes[i] = time.Since(start)
		})
	}
	wg.Wait()
	out.wall = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return out, err
	}
	for _, r := range runs {
		out.read += r.Summary.Read
		out.throttled += r.Summary.Throttled
		out.bytesSent += r.Summary.BytesSent
	}
	s.stop()
	out.delivered, err = countDelivered(s.bucketDir(), latencyStream, counted...)
	logf(log, "latency: %s: %s, %d throttled, delivered %s", lc.name, out.wall.Round(time.Millisecond), out.throttled, out.delivered)
	return out, err
}

// warmUp makes the case's stream one used before: for a case with
// usedBefore it sends the warm-up input and waits for it to finish, so that
// the stream's limit metrics are in CloudWatch. It returns the inputs to
// count in the delivered files: specs, and the warm-up if it was sent.
func (c *config) warmUp(ctx context.Context, s *session, lc latencyCase, specs []idRecordSpec) ([]idRecordSpec, error) {
	if !lc.usedBefore {
		return specs, nil
	}
	warm := lc.warmUp()
	f, err := c.idInput.file(warm)
	if err != nil {
		return nil, err
	}
	if _, err := runPutAs(ctx, c.bin, s.dir, s.emu.URL, latencyStream, warm.prefix, f.path, c.putFlags()); err != nil {
		return nil, fmt.Errorf("warm-up put: %w", err)
	}
	return append(slices.Clone(specs), warm), nil
}

// idealTime is how long bytes take at quota bytes/s.
func idealTime(bytes, quota int64) time.Duration {
	if quota <= 0 {
		return 0
	}
	return time.Duration(float64(bytes) / float64(quota) * float64(time.Second))
}

// pct is 100 * part / whole (0 when whole is 0).
func pct(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// finishSpread is the last producer's finish time over the first's (1 for
// one producer, 0 when unknown).
func finishSpread(finishes []time.Duration) float64 {
	if len(finishes) == 0 {
		return 0
	}
	first, last := finishes[0], finishes[0]
	for _, f := range finishes[1:] {
		first, last = min(first, f), max(last, f)
	}
	if first <= 0 {
		return 0
	}
	return last.Seconds() / first.Seconds()
}

// latencyResults are the rows of one case: time against the ideal,
// throttled records, the finish spread of several producers and the
// record-by-record delivery check.
func latencyResults(lc latencyCase, out latencyOutcome) []result {
	name := "latency " + lc.name
	ideal := idealTime(out.bytesSent, lc.bytesQuota())
	timeRatio := 0.0
	if ideal > 0 {
		timeRatio = out.wall.Seconds() / ideal.Seconds()
	}
	timeRow := result{name, "time / ideal (bytes / quota)",
		fmt.Sprintf("%.2f (%s / %s)", timeRatio, out.wall.Round(time.Millisecond), ideal.Round(time.Millisecond)), "-", statusInfo}
	if lc.timeTarget {
		timeRow.target = fmt.Sprintf("<= %.2f", targetLatencyTimeRatio)
		timeRow.status = passIf(timeRatio > 0 && timeRatio <= targetLatencyTimeRatio)
	}
	throttled := pct(out.throttled, out.read)
	throttledRow := result{name, "throttled records %", fmt.Sprintf("%.2f%% (%d of %d)", throttled, out.throttled, out.read), "-", statusInfo}
	if lc.throttleLimit > 0 {
		throttledRow.target, throttledRow.status = fmt.Sprintf("< %.0f%%", lc.throttleLimit), below(throttled, lc.throttleLimit)
	}
	rows := []result{timeRow, throttledRow}
	if lc.producers > 1 {
		spreadRow := result{name, "last / first producer finish", fmt.Sprintf("%.2f (%s)", finishSpread(out.finishes), durations(out.finishes)), "-", statusInfo}
		if lc.spreadTarget {
			spreadRow.target = fmt.Sprintf("<= %.2f", targetFinishSpread)
			spreadRow.status = atMost(finishSpread(out.finishes), targetFinishSpread)
		}
		rows = append(rows, spreadRow)
	}
	return append(rows, deliveredRow(name, out.delivered))
}

// deliveredRow checks that every record reached the files: none lost, none
// unexpected. Duplicates are shown but allowed (a lost response is resent).
func deliveredRow(scenario string, d deliveryCount) result {
	return result{scenario, "records found by id in the delivered files", d.String(), "0 lost",
		passIf(d.Expected > 0 && d.Lost == 0 && d.Foreign == 0)}
}

func durations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(100 * time.Millisecond).String()
	}
	return strings.Join(parts, " ")
}

// raisedQuota runs put and the boto3 loop at 50 ms against a raised quota
// (50 MiB/s, 500k records/s, 10k requests/s). The boto3 loop is bound by
// the round trip, one call at a time, so its rate is steady and it sends
// fewer records.
func (c *config) raisedQuota(ctx context.Context, log io.Writer, usedBefore bool) ([]result, error) {
	caseName := "50 ms, raised quota"
	if usedBefore {
		caseName += usedBeforeSuffix
	}
	name := "latency " + caseName
	lc := latencyCase{prefix: "R50", latency: 50 * time.Millisecond, quotaBytes: raisedQuotaBytes,
		quotaRecords: raisedQuotaRecords, quotaRequests: raisedQuotaRequests, producers: 1,
		records: c.latencyRecords, size: smallRecordBytes, usedBefore: usedBefore}
	putSpec := lc.specs()[0]
	botoSpec := idRecordSpec{prefix: "R50b", n: c.latencyBoto3, size: smallRecordBytes}
	putIn, err := c.idInput.file(putSpec)
	if err != nil {
		return nil, err
	}
	botoIn, err := c.idInput.file(botoSpec)
	if err != nil {
		return nil, err
	}
	s, err := c.newSession(ctx, "latency", log, lc.emulatorFlags(), latencyStream, latencyBoto3Stream)
	if err != nil {
		return nil, err
	}
	defer s.close()
	counted, err := c.warmUp(ctx, s, lc, []idRecordSpec{putSpec})
	if err != nil {
		return nil, err
	}
	r, err := runPutAs(ctx, c.bin, s.dir, s.emu.URL, latencyStream, putSpec.prefix, putIn.path, c.putFlags())
	if err != nil {
		return nil, err
	}
	b, err := c.runBoto3(ctx, s, latencyBoto3Stream, botoIn.path)
	if err != nil {
		return nil, err
	}
	s.stop()
	putCount, err := countDelivered(s.bucketDir(), latencyStream, counted...)
	if err != nil {
		return nil, err
	}
	botoCount, err := countDelivered(s.bucketDir(), latencyBoto3Stream, botoSpec)
	if err != nil {
		return nil, err
	}
	putRate := float64(r.Summary.Delivered) / r.Wall.Seconds()
	ratio := putRate / b.RecordsPerSecond
	ideal := idealTime(r.Summary.BytesSent, raisedQuotaBytes)
	logf(log, "latency: %s: put %.0f records/s, boto3 %.0f records/s", caseName, putRate, b.RecordsPerSecond)
	return []result{
		{name, "put records/s (wall)", fmt.Sprintf("%.0f (%d records in %s, %.1fx ideal)", putRate, r.Summary.Delivered,
			r.Wall.Round(time.Millisecond), r.Wall.Seconds()/ideal.Seconds()), "-", statusInfo},
		{name, "boto3 loop records/s (loop time only)", fmt.Sprintf("%.0f (%d records, %d failed)", b.RecordsPerSecond, b.Records, b.Failed), "-", statusInfo},
		{name, "ratio put / boto3 loop", fmt.Sprintf("%.1fx", ratio), fmt.Sprintf(">= %.0fx", targetRaisedBoto3Ratio), atLeast(ratio, targetRaisedBoto3Ratio)},
		{name, "throttled records % (put)", fmt.Sprintf("%.2f%% (%d of %d)", pct(r.Summary.Throttled, r.Summary.Read), r.Summary.Throttled, r.Summary.Read), "-", statusInfo},
		deliveredRow(name, putCount),
		{name, "boto3 loop records found by id (it does not resend)", botoCount.String(), "-", statusInfo},
	}, nil
}
