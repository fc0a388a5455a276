package ui

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// FormatCount writes n with thousands separators: 1234567 -> "1,234,567".
func FormatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return neg + s
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	lead := len(s) % 3
	if lead > 0 {
		out = append(out, s[:lead]...)
	}
	for i := lead; i < len(s); i += 3 {
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, s[i:i+3]...)
	}
	return neg + string(out)
}

// FormatBytes writes n in binary units with one decimal: "512 B",
// "1.5 KiB", "120.3 MiB", "2.0 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= unit
		if f < unit || u == "TiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return "" // not reached
}

// FormatRate writes a per-second rate for people: whole numbers with
// separators from 10 up ("67,231 rec/s"), one decimal below 10 ("2.5
// rec/s"), two below 1 ("0.25 rec/s"), "0 rec/s" for none. It never switches
// to a per-hour unit.
func FormatRate(perSecond float64, unit string) string {
	switch {
	case perSecond <= 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0):
		return "0 " + unit + "/s"
	case perSecond >= 10:
		return FormatCount(int64(math.Round(perSecond))) + " " + unit + "/s"
	case perSecond >= 1:
		return strconv.FormatFloat(math.Round(perSecond*10)/10, 'f', 1, 64) + " " + unit + "/s"
	default:
		return strconv.FormatFloat(math.Round(perSecond*100)/100, 'f', 2, 64) + " " + unit + "/s"
	}
}

// FormatByteRate writes bytes per second in binary units ("4.8 MiB/s").
func FormatByteRate(perSecond float64) string {
	if perSecond <= 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
		return "0 B/s"
	}
	return FormatBytes(int64(math.Round(perSecond))) + "/s"
}

// FormatDuration writes a duration for people, to the second: "0s", "42s",
// "3m07s", "2h05m" (seconds dropped from an hour up).
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	}
}

// Seconds is d in seconds rounded to the millisecond, for JSON numbers
// without float noise (1.5, not 1.5000000001).
func Seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// round1 rounds x to one decimal.
func round1(x float64) float64 { return math.Round(x*10) / 10 }
