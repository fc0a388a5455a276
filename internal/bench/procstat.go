package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicksPerSecond is USER_HZ, the unit of /proc/PID/stat's times: 100 on
// every Linux architecture Go supports.
const clockTicksPerSecond = 100

// errProcStat: a /proc/PID/stat line that does not have the expected fields.
var errProcStat = errors.New("unexpected /proc/PID/stat format")

// processCPU is the user+system CPU a running process has used so far,
// from /proc (Linux). The bench reads the emulator's before and after each
// run, since the emulator outlives the runs its rusage would sum up.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("process CPU: %w", err)
	}
	return parseProcStatCPU(string(b))
}

// parseProcStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/PID/stat line. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so fields are counted after the last
// ')'.
func parseProcStatCPU(stat string) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errProcStat
	}
	fields := strings.Fields(stat[end+1:]) // fields[0] is field 3, state
	if len(fields) < 13 {
		return 0, fmt.Errorf("%w: %d fields after the name", errProcStat, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: time %q", errProcStat, f)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicksPerSecond, nil
}

// spread is the minimum, median and maximum of a few measurements.
type spread struct{ Min, Median, Max float64 }

// spreadOf returns the spread of vs (zero for none); the median of an even
// count is the mean of the two middle values.
func spreadOf(vs []float64) spread {
	if len(vs) == 0 {
		return spread{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	mid := len(s) / 2
	med := s[mid]
	if len(s)%2 == 0 {
		med = (s[mid-1] + s[mid]) / 2
	}
	return spread{Min: s[0], Median: med, Max: s[len(s)-1]}
}

// format prints "min/median/max" with the verb for one value, e.g. "%.2f".
func (s spread) format(verb string) string {
	return fmt.Sprintf(verb+" / "+verb+" / "+verb, s.Min, s.Median, s.Max)
}

// perMillion is CPU seconds per million records.
func perMillion(cpu time.Duration, records int64) float64 {
	if records <= 0 {
		return 0
	}
	return cpu.Seconds() * 1e6 / float64(records)
}
