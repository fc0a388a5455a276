package ui

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// demoEnv makes the test binary run demoMain instead of the tests: the
// program the tmux test watches.
const demoEnv = "FIREHOSE_UI_DEMO"

func TestMain(m *testing.M) {
	if os.Getenv(demoEnv) != "" {
		demoMain()
		return
	}
	os.Exit(m.Run())
}

// demoMain shows progress on stderr, logs a numbered line every 50 ms
// through the same Console, and ends the display when the file named by
// FIREHOSE_UI_DEMO_STOP appears; then it prints "demo done" and waits for
// tmux to kill it.
func demoMain() {
	console := NewConsole(os.Stderr)
	logger := slog.New(slog.NewTextHandler(console, nil))
	var delivered atomic.Int64
	total := int64(2_000_000)
	if os.Getenv(demoEnv+"_NO_TOTAL") != "" {
		total = 0
	}
	p := StartProgress(context.Background(), console, logger, ProgressOptions{
		Label: "big-input.ndjson", Total: total,
		Poll: func() Counts {
			n := delivered.Load()
			return Counts{Delivered: n, Bytes: n * 90, Throttled: n / 1000, Retries: n / 2000}
		},
	})
	stop := os.Getenv(demoEnv + "_STOP")
	for i := 1; ; i++ {
		if _, err := os.Stat(stop); err == nil {
			break
		}
		delivered.Add(5000)
		logger.Info("demo log line", "n", i)
		time.Sleep(50 * time.Millisecond)
	}
	p.Stop()
	fmt.Fprintln(console, "demo done")
	select {}
}

// TestLiveAreaInTmux runs demoMain in a tmux pane at 160x50 and 80x24 and
// reads the screen: the bar and its counts stay on the last rows while log
// lines scroll above them, and no log line is ever drawn through the bar.
func TestLiveAreaInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	if testing.Short() {
		t.Skip("starts tmux")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []struct {
		w, h    int
		noTotal bool
	}{{160, 50, false}, {80, 24, false}, {80, 24, true}} {
		name := fmt.Sprintf("%dx%d", size.w, size.h)
		if size.noTotal {
			name += " without a total"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "tmux.sock")
			stop := filepath.Join(dir, "stop")
			tmux := func(args ...string) string {
				t.Helper()
				out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("tmux %v: %v\n%s", args, err, out)
				}
				return string(out)
			}
			cmd := fmt.Sprintf("env %s=1 %s_STOP=%s TERM=xterm-256color %s", demoEnv, demoEnv, stop, exe)
			bar := barRE
			if size.noTotal {
				cmd = fmt.Sprintf("env %s_NO_TOTAL=1 ", demoEnv) + cmd
				bar = spinnerRE
			}
			tmux("-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(size.w), "-y", fmt.Sprint(size.h), cmd)
			t.Cleanup(func() { _ = exec.Command("tmux", "-S", sock, "kill-server").Run() })

			screen := func() []string {
				return strings.Split(strings.TrimRight(tmux("capture-pane", "-p"), "\n"), "\n")
			}
			// Wait until more log lines were written than the pane has rows,
			// on a whole frame: the area is redrawn with two writes (erase,
			// then draw), which a capture can fall between.
			lines := waitFor(t, screen, func(l []string) bool {
				return len(l) >= size.h-1 && lastLogLine(l) > size.h+5 && bar.MatchString(l[len(l)-2])
			})
			checkLive(t, lines, bar, size.w, size.h, false)

			if err := os.WriteFile(stop, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			lines = waitFor(t, screen, func(l []string) bool { return strings.TrimSpace(l[len(l)-1]) == "demo done" })
			checkLive(t, lines[:len(lines)-1], bar, size.w, size.h, true)
		})
	}
}

var (
	logLineRE      = regexp.MustCompile(`^time=\S+ level=INFO msg="demo log line" n=(\d+)$`)
	spinnerRE      = regexp.MustCompile(`^big-input\.ndjson +\S \d+s$`)
	barRE          = regexp.MustCompile(`^big-input\.ndjson +\[[=>-]+\] +\d+\.\d% +(ETA (\d+s|\d+m\d\ds|-)|in \d+s)$`)
	compactStatsRE = regexp.MustCompile(`^  [\d,]+ rec  [\d.]+ (B|KiB|MiB)  [\d,.]+ rec/s(  throttled [\d,]+)?(  retries [\d,]+)?$`)
	statsRE        = regexp.MustCompile(`^  [\d,]+ of 2,000,000 records delivered, [\d.]+ (B|KiB|MiB)  [\d,.]+ rec/s, [\d.]+ (B|KiB|MiB)/s  throttled [\d,]+  retries [\d,]+  failed 0$`)
)

// checkLive asserts the screen's shape: numbered log lines in order, then
// the bar row and the counts row as the last two rows, each once.
func checkLive(t *testing.T, lines []string, barRE *regexp.Regexp, width, height int, final bool) {
	t.Helper()
	dump := strings.Join(lines, "\n")
	if len(lines) < 3 {
		t.Fatalf("screen too short:\n%s", dump)
	}
	bar, stats := lines[len(lines)-2], lines[len(lines)-1]
	re := statsRE
	if width < 120 {
		re = compactStatsRE
	}
	if !re.MatchString(stats) || len([]rune(stats)) > width {
		t.Errorf("last row is not the counts row: %q\nscreen:\n%s", stats, dump)
	}
	if !barRE.MatchString(bar) {
		t.Errorf("row above it is not the bar: %q\nscreen:\n%s", bar, dump)
	}
	// The demo stops before its total: the final bar stays where it stopped.
	if final && barRE != spinnerRE && (strings.Contains(bar, "100.0%") || !strings.Contains(bar, "%")) {
		t.Errorf("final bar %q does not show where it stopped", bar)
	}
	prev := -1
	for _, l := range lines[:len(lines)-2] {
		if l == "" {
			continue
		}
		m := logLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("row above the bar is not a whole log line: %q\nscreen:\n%s", l, dump)
			continue
		}
		var n int
		fmt.Sscan(m[1], &n)
		if prev >= 0 && n != prev+1 {
			t.Errorf("log line %d follows %d: a line was lost or overdrawn\nscreen:\n%s", n, prev, dump)
		}
		prev = n
	}
	// The cursor waits on the row below the area, the last of the pane.
	if !final && len(lines) != height-1 {
		t.Errorf("live screen has %d rows above the cursor, want %d", len(lines), height-1)
	}
}

func lastLogLine(lines []string) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if m := logLineRE.FindStringSubmatch(lines[i]); m != nil {
			var n int
			fmt.Sscan(m[1], &n)
			return n
		}
	}
	return 0
}

// waitFor captures the screen until ok accepts it (20 s at most).
func waitFor(t *testing.T, screen func() []string, ok func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var lines []string
	for time.Now().Before(deadline) {
		lines = screen()
		if len(lines) > 0 && ok(lines) {
			return lines
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("screen never reached the expected state:\n%s", strings.Join(lines, "\n"))
	return nil
}
