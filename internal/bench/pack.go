package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Targets of the pack scenario under throttling (issue "Throughput at real
// network latency"): `put --pack` on a 1 GiB input at the emulator's default
// quota.
const (
	targetPackResentRatio = 1.10 // resent bytes / bytes over the quota (estimated)
	packStream            = "pack"
	packThrottledStream   = "pack-throttled"
	packRecordPrefix      = "PK"
)

// errNoCallLog: the put log had no PutRecordBatch call lines at debug level.
var errNoCallLog = errors.New("no PutRecordBatch lines in the put log (run at --log-level debug)")

// pack runs `put --pack` twice: without quotas on -records records, for the
// billing ratio, and on a -pack-mb input of ~90-byte records carrying ids at
// the emulator's default quota (5 MiB/s, so it throttles), for peak memory,
// resends and a record-by-record check of what was delivered.
func (c *config) pack(ctx context.Context, log io.Writer) ([]result, error) {
	rows, err := c.packBilling(ctx, log)
	if err != nil {
		return rows, err
	}
	throttled, err := c.packThrottled(ctx, log)
	return append(rows, throttled...), err
}

func (c *config) packBilling(ctx context.Context, log io.Writer) ([]result, error) {
	in, err := c.input(c.records, log)
	if err != nil {
		return nil, err
	}
	s, err := c.newSession(ctx, "pack", log, []string{"--quota", "none"}, packStream)
	if err != nil {
		return nil, err
	}
	r, err := runPut(ctx, c.bin, s.dir, s.emu.URL, packStream, in.path, c.putFlags("--pack"))
	s.close()
	if err != nil {
		return nil, err
	}
	ratio := ratioOf(r.Summary.BilledBytes, r.Summary.BytesSent)
	return []result{
		{"pack", "billed / bytes sent", fmt.Sprintf("%.3f (%d / %d)", ratio, r.Summary.BilledBytes, r.Summary.BytesSent), fmt.Sprintf("<= %.2f", targetPackRatio), atMost(ratio, targetPackRatio)},
		{"pack", "billed / input bytes", fmt.Sprintf("%.3f", ratioOf(r.Summary.BilledBytes, in.bytes)), "-", statusInfo},
		{"pack", "Firehose records", fmt.Sprintf("%d for %d input records", r.Summary.FirehoseRecords, r.Summary.Read), "-", statusInfo},
		{"pack", "records/s (wall)", fmt.Sprintf("%.0f", float64(r.Summary.Delivered)/r.Wall.Seconds()), "-", statusInfo},
		{"pack", "peak RSS put", mibString(r.Usage.PeakRSS), "-", statusInfo},
		{"pack", "delivered", fmt.Sprintf("%d of %d", r.Summary.Delivered, c.records), fmt.Sprintf("%d", c.records), atLeast(float64(r.Summary.Delivered), float64(c.records))},
	}, nil
}

func (c *config) packThrottled(ctx context.Context, log io.Writer) ([]result, error) {
	const name = "pack throttled"
	spec := idRecordSpec{prefix: packRecordPrefix, size: smallRecordBytes,
		n: recordsFor(int64(c.packMB)*mib, smallRecordBytes, 1)}
	start := time.Now()
	in, err := c.idInput.file(spec)
	if err != nil {
		return nil, err
	}
	logf(log, "%s: input of %d records (%.0f MiB) in %s", name, spec.n, float64(in.bytes)/mib, time.Since(start).Round(time.Millisecond))
	// The input is only used here: free the disk space afterwards.
	defer func() { _ = os.Remove(in.path); delete(c.idInput.files, spec) }()
	var emuFlags []string
	quota := int64(defaultQuotaBytes)
	if c.packQuotaBytes > 0 {
		quota = c.packQuotaBytes
		emuFlags = append(emuFlags, "--quota-bytes-per-second", strconv.FormatInt(quota, 10))
	}
	s, err := c.newSession(ctx, "pack-throttled", log, emuFlags, packThrottledStream)
	if err != nil {
		return nil, err
	}
	defer s.close()
	// At debug level put logs every PutRecordBatch call with its bytes and
	// failed records: what was offered, and what each throttled request
	// refused.
	r, err := runPut(ctx, c.bin, s.dir, s.emu.URL, packThrottledStream, in.path, c.putFlags("--pack", "--log-level", "debug"))
	if err != nil {
		return nil, err
	}
	calls, err := readCallLog(filepath.Join(s.dir, "put-"+packThrottledStream+".log"))
	if err != nil {
		return nil, err
	}
	s.stop()
	count, err := countDelivered(s.bucketDir(), packThrottledStream, spec)
	if err != nil {
		return nil, err
	}
	resent := calls.offered - r.Summary.BytesSent
	resentRatio := ratioOf(resent, int64(calls.overQuota))
	ideal := idealTime(r.Summary.BytesSent, quota)
	return []result{
		{name, fmt.Sprintf("peak RSS put --pack, %.0f MiB input", float64(in.bytes)/mib), mibString(r.Usage.PeakRSS),
			"<= " + mibString(targetPeakRSS), atMost(float64(r.Usage.PeakRSS), targetPeakRSS)},
		{name, "resent bytes / bytes over quota (est.)",
			fmt.Sprintf("%.3f (%s resent; %s over quota in %d throttled requests)", resentRatio, mibString(resent), mibString(int64(calls.overQuota)), calls.throttledCalls),
			fmt.Sprintf("<= %.2f", targetPackResentRatio), packResentStatus(resent, calls.overQuota)},
		{name, "resent bytes / input bytes", fmt.Sprintf("%.4f", ratioOf(resent, in.bytes)), "-", statusInfo},
		{name, "wall / (bytes / quota)", fmt.Sprintf("%.3f (%s / %s)", r.Wall.Seconds()/ideal.Seconds(), r.Wall.Round(time.Millisecond), ideal.Round(time.Millisecond)), "-", statusInfo},
		{name, "Firehose records, billed / bytes sent", fmt.Sprintf("%d, %.3f", r.Summary.FirehoseRecords, ratioOf(r.Summary.BilledBytes, r.Summary.BytesSent)), "-", statusInfo},
		deliveredRow(name, count),
	}, nil
}

// packResentStatus passes when nothing was resent, or when the resent bytes
// are within the target of the bytes over the quota.
func packResentStatus(resent int64, overQuota float64) string {
	if resent <= 0 {
		return statusPass
	}
	if overQuota <= 0 {
		return statusMiss
	}
	return atMost(float64(resent)/overQuota, targetPackResentRatio)
}

// callTotals sums the PutRecordBatch calls of a put log.
type callTotals struct {
	calls, throttledCalls int
	offered               int64 // bytes of every call, resends included
	// overQuota estimates the bytes the quota refused, as if the service
	// throttled byte by byte: a throttled request's failed records less
	// half a record. The emulator (like Firehose) refuses whole records: a
	// request's records are accepted while they fit in what is left of the
	// quota, so the bytes it refused beyond the quota are under one record
	// (half on average, with records of one size). The records of one
	// request are taken to be of its mean size: packs are all near their
	// target.
	overQuota float64
}

// readCallLog reads the "msg=PutRecordBatch" lines (records, failed, bytes)
// of a text-format put log.
func readCallLog(path string) (callTotals, error) {
	f, err := os.Open(path)
	if err != nil {
		return callTotals{}, fmt.Errorf("put log: %w", err)
	}
	defer func() { _ = f.Close() }()
	return parseCallLog(f)
}

func parseCallLog(r io.Reader) (callTotals, error) {
	var t callTotals
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, " msg=PutRecordBatch ") {
			continue
		}
		records, okR := logInt(line, "records")
		failed, okF := logInt(line, "failed")
		bytes, okB := logInt(line, "bytes")
		if !okR || !okF || !okB || records <= 0 {
			continue
		}
		t.calls++
		t.offered += bytes
		if failed > 0 {
			size := float64(bytes) / float64(records)
			t.throttledCalls++
			t.overQuota += float64(failed)*size - size/2
		}
	}
	if err := sc.Err(); err != nil {
		return t, fmt.Errorf("put log: %w", err)
	}
	if t.calls == 0 {
		return t, errNoCallLog
	}
	return t, nil
}

// logInt reads " key=123" from a text log line.
func logInt(line, key string) (int64, bool) {
	_, rest, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return 0, false
	}
	if i := strings.IndexByte(rest, ' '); i >= 0 {
		rest = rest[:i]
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil
}
