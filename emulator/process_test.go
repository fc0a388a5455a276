package emulator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a standalone emulator process, so tests can
// kill a real emulator process with SIGKILL and measure its memory.
const (
	childDirEnv  = "FIREHOSE_EMULATOR_TEST_CHILD_DIR"
	childSyncEnv = "FIREHOSE_EMULATOR_TEST_CHILD_SYNC"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(m.Run())
}

// runChild runs an emulator on dir, prints its URL, and serves until its
// stdin is closed; then it closes the emulator and exits.
func runChild(dir string) int {
	opts := []Option{DataDir(dir), NoQuotas()}
	if os.Getenv(childSyncEnv) != "" {
		opts = append(opts, SyncWrites())
	}
	srv, err := New(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(url)
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := srv.Close(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// child is an emulator running in a process of its own.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
}

// startChild starts an emulator process on dir and waits for its URL. The
// process is killed when the test ends, if it still runs.
func startChild(t *testing.T, dir string, sync bool) *child {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	if sync {
		cmd.Env = append(cmd.Env, childSyncEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start emulator process: %v", err)
	}
	c := &child{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("emulator process gave no URL: %v", err)
	}
	c.url = strings.TrimSpace(line)
	return c
}

// kill ends the process with SIGKILL: nothing of it runs after the signal.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	_ = c.cmd.Wait()
}

// stop closes the process's stdin, which makes it close the emulator, and
// waits for it to exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	_ = c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("emulator process exited with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("emulator process did not stop within a minute")
	}
}

// rssBytes reads a process's resident set size from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to measure memory: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				t.Fatalf("parse VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}
