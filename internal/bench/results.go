package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

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
