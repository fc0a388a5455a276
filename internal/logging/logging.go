// Package logging sets up the CLI's slog logger (text or JSON on stderr)
// and keeps record contents and credentials out of the logs.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
)

// ErrBadOption is returned for an unknown format or level.
var ErrBadOption = errors.New("bad logging option")

// Options selects the handler.
type Options struct {
	// Format is "text" (default) or "json".
	Format string
	// Level is "debug", "info" (default), "warn" or "error".
	Level string
}

// sensitiveKeys are attribute keys whose values never reach a log line
// above debug level: record payloads and anything credential-shaped.
var sensitiveKeys = map[string]bool{
	"data": true, "record_data": true, "payload": true,
	"secret_access_key": true, "session_token": true, "access_key_id": true, "authorization": true,
}

// New returns a logger writing to w: lines of key=value pairs for "text",
// one JSON object per line for "json" (durations in seconds, as numbers).
// Give it the ui.Console that the progress display shares, so that log
// lines are printed above a live progress area.
func New(w io.Writer, o Options) (*slog.Logger, error) {
	level, err := ParseLevel(o.Level)
	if err != nil {
		return nil, err
	}
	hide := redact(level)
	ho := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		return tidyFloat(hide(groups, a))
	}}
	switch strings.ToLower(o.Format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		ho.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			return tidyFloat(durationSeconds(hide(groups, a)))
		}
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	default:
		return nil, fmt.Errorf("%w: --log-format %q: want text or json", ErrBadOption, o.Format)
	}
}

// ParseLevel maps a level name to a slog.Level; "" is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", ErrBadOption, s)
	}
}

// redact replaces sensitive attributes with "[redacted]" unless the
// logger runs at debug level, where a user asked to see payloads.
// Credentials are redacted at every level.
func redact(level slog.Level) func([]string, slog.Attr) slog.Attr {
	return func(_ []string, a slog.Attr) slog.Attr {
		if !sensitiveKeys[a.Key] {
			return a
		}
		if level <= slog.LevelDebug && !isCredential(a.Key) {
			return a
		}
		return slog.String(a.Key, "[redacted]")
	}
}

func isCredential(key string) bool {
	switch key {
	case "secret_access_key", "session_token", "access_key_id", "authorization":
		return true
	}
	return false
}

// durationSeconds writes a time.Duration as a number of seconds (to the
// microsecond) for JSON logs, where slog would write integer nanoseconds.
func durationSeconds(a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	return slog.Float64(a.Key, math.Round(a.Value.Duration().Seconds()*1e6)/1e6)
}

// tidyFloat writes a float without binary noise: a whole number as an
// integer (3562755, not 3.562755e+06), others to three decimals from 1 up
// (40240.9, not 40240.899999999994) and to four significant digits below.
func tidyFloat(a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindFloat64 {
		return a
	}
	v := a.Value.Float64()
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return a
	case v == math.Trunc(v) && math.Abs(v) < 1<<53:
		return slog.Int64(a.Key, int64(v))
	case math.Abs(v) >= 1:
		return slog.Float64(a.Key, math.Round(v*1000)/1000)
	default:
		r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
		if err != nil {
			return a
		}
		return slog.Float64(a.Key, r)
	}
}
