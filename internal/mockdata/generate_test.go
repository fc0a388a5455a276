package mockdata

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func generateAll(t *testing.T, seed int64, n int) []Alert {
	t.Helper()
	var out []Alert
	if err := Generate(seed, n, func(a Alert) error { out = append(out, a); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateFields(t *testing.T) {
	t.Parallel()
	alerts := generateAll(t, 42, 500)
	if len(alerts) != 500 {
		t.Fatalf("got %d alerts, want 500", len(alerts))
	}
	levels := map[string]int{}
	for i, a := range alerts {
		ip, err := netipParse(a.IPAddress)
		if err != nil || !ip {
			t.Errorf("alert %d: IPAddress %q is not IPv4", i, a.IPAddress)
		}
		ts, err := time.Parse(time.RFC3339, a.Timestamp)
		if err != nil {
			t.Errorf("alert %d: Timestamp %q is not RFC 3339: %v", i, a.Timestamp, err)
		} else if ts.Before(generatorEpoch.Add(-generatorWindow)) || ts.After(generatorEpoch) {
			t.Errorf("alert %d: Timestamp %s outside the fixed window", i, ts)
		}
		if !slices.Contains(AlertLevels, a.AlertLevel) {
			t.Errorf("alert %d: AlertLevel %q not in %v", i, a.AlertLevel, AlertLevels)
		}
		levels[a.AlertLevel]++
	}
	if len(levels) != len(AlertLevels) {
		t.Errorf("500 alerts used levels %v, want all of %v", levels, AlertLevels)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		seedA    int64
		seedB    int64
		wantSame bool
	}{
		{"same seed", 1234, 1234, true},
		{"seed zero is fixed too", 0, 0, true},
		{"different seeds", 1234, 1235, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, write := range []func(*bytes.Buffer, int64) error{
				func(b *bytes.Buffer, s int64) error { return WriteJSON(b, s, 20) },
				func(b *bytes.Buffer, s int64) error { return WriteNDJSON(b, s, 20) },
			} {
				var a, b bytes.Buffer
				if err := write(&a, tc.seedA); err != nil {
					t.Fatal(err)
				}
				if err := write(&b, tc.seedB); err != nil {
					t.Fatal(err)
				}
				if same := bytes.Equal(a.Bytes(), b.Bytes()); same != tc.wantSame {
					t.Errorf("outputs equal = %v, want %v", same, tc.wantSame)
				}
			}
		})
	}
}

func TestGenerateStopsOnError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	calls := 0
	err := Generate(1, 10, func(Alert) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("err = %v after %d calls, want stop after 3", err, calls)
	}
}

// TestWriteJSONLayout compares with encoding/json's indent=2 layout of the
// whole slice, which is the layout of Python's json.dump(..., indent=2).
func TestWriteJSONLayout(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 3} {
		alerts := generateAll(t, 9, n)
		if alerts == nil {
			alerts = []Alert{}
		}
		want, err := json.MarshalIndent(alerts, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := WriteJSON(&got, 9, n); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("n=%d: got\n%s\nwant\n%s", n, got.String(), want)
		}
	}
}

// TestWriteJSONMatchesPython re-dumps our output with Python's own json module
// when python3 is available.
func TestWriteJSONMatchesPython(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts python3")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	var got bytes.Buffer
	if err := WriteJSON(&got, 5, 4); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), python, "-c", "import json,sys; json.dump(json.load(sys.stdin), sys.stdout, indent=2)")
	cmd.Stdin = bytes.NewReader(got.Bytes())
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("got\n%s\npython\n%s", got.String(), want)
	}
}

func TestWriteNDJSON(t *testing.T) {
	t.Parallel()
	alerts := generateAll(t, 3, 5)
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, 3, 5); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(alerts) || !strings.HasSuffix(buf.String(), "\n") {
		t.Fatalf("got %d lines (%q), want %d newline-terminated", len(lines), buf.String(), len(alerts))
	}
	for i, line := range lines {
		var a Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil || a != alerts[i] {
			t.Errorf("line %d = %q (%v), want %+v", i, line, err, alerts[i])
		}
	}
}

func netipParse(s string) (bool, error) {
	addr, err := netip.ParseAddr(s)
	return addr.Is4(), err
}
