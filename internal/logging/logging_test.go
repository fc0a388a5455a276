package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewFormatsAndRedaction(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		wantData   bool // record data visible
		wantSecret bool
		wantDebug  bool
		jsonOutput bool
	}{
		{name: "text info hides data", opts: Options{Format: "text", Level: "info"}},
		{name: "json info hides data", opts: Options{Format: "json", Level: "info"}, jsonOutput: true},
		{name: "debug shows data never secrets", opts: Options{Format: "text", Level: "debug"}, wantData: true, wantDebug: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			l.Info("sent", "stream", "s1", "data", "PAYLOAD-XYZ", "secret_access_key", "SECRET-ABC")
			l.Debug("debug line")
			out := buf.String()
			if got := strings.Contains(out, "PAYLOAD-XYZ"); got != tc.wantData {
				t.Errorf("payload visible = %v, want %v: %s", got, tc.wantData, out)
			}
			if got := strings.Contains(out, "SECRET-ABC"); got != tc.wantSecret {
				t.Errorf("secret visible = %v, want %v: %s", got, tc.wantSecret, out)
			}
			if got := strings.Contains(out, "debug line"); got != tc.wantDebug {
				t.Errorf("debug visible = %v, want %v", got, tc.wantDebug)
			}
			if tc.jsonOutput {
				first := strings.SplitN(out, "\n", 2)[0]
				var m map[string]any
				if err := json.Unmarshal([]byte(first), &m); err != nil {
					t.Fatalf("not JSON: %q: %v", first, err)
				}
				if m["stream"] != "s1" {
					t.Errorf("stream = %v", m["stream"])
				}
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{Format: "xml"}, {Level: "loud"}} {
		if _, err := New(&bytes.Buffer{}, o); !errors.Is(err, ErrBadOption) {
			t.Errorf("New(%+v) error = %v, want ErrBadOption", o, err)
		}
	}
}

// TestDurationsInJSON: JSON logs carry durations as seconds (numbers);
// text logs keep Go's duration text.
func TestDurationsInJSON(t *testing.T) {
	tests := []struct {
		format string
		want   string
	}{
		{"json", `"elapsed":23.579,"short":0.000002`},
		{"text", `elapsed=23.578973015s short=1.5µs`},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, Options{Format: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			l.Info("done", "elapsed", 23578973015*time.Nanosecond, "short", 1500*time.Nanosecond)
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("got %s, want it to contain %s", buf.String(), tc.want)
			}
		})
	}
}

// TestFloatsWithoutNoise: rates and sizes computed in floating point print
// as people write them.
func TestFloatsWithoutNoise(t *testing.T) {
	tests := []struct {
		format string
		want   string
	}{
		{"text", "rate=40240.9 bytes=3562755 small=0.0001235 ratio=1.5 big=1.5e+20 whole_neg=-2"},
		{"json", `"rate":40240.9,"bytes":3562755,"small":0.0001235,"ratio":1.5,"big":150000000000000000000,"whole_neg":-2`},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, Options{Format: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			l.Info("x", "rate", 40240.899999999994, "bytes", 3.562755e+06, "small", 0.000123456, "ratio", 1.5, "big", 1.5e20, "whole_neg", -2.0)
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("got %s, want it to contain %s", buf.String(), tc.want)
			}
		})
	}
}
