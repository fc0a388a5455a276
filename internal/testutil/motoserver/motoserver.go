// Package motoserver starts moto_server on a free loopback port for tests,
// so integration tests talk to a real HTTP AWS emulator through the SDK.
package motoserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is a running moto_server.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:PORT.
	URL string
	cmd *exec.Cmd
}

// Start launches moto_server on a free loopback port and stops it when the
// test ends. It also sets fake credentials and a region in the environment
// (AWS_ACCESS_KEY_ID=test, AWS_SECRET_ACCESS_KEY=test, AWS_REGION=us-east-1),
// so the test must not be parallel with tests that need other values.
// Without moto_server on PATH the test is skipped, except under CI=true,
// where it fails: CI must run every integration test.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("moto_server not found on PATH (install with: pip install 'moto[server]'): %v", err)
		}
		tb.Skipf("moto_server not found on PATH: %v", err)
	}
	tb.Setenv("AWS_ACCESS_KEY_ID", "test")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	tb.Setenv("AWS_REGION", "us-east-1")
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tb.Setenv("AWS_CONFIG_FILE", filepath.Join(tb.TempDir(), "none"))
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(tb.TempDir(), "none"))

	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("find a free port: %v", err)
		}
		srv, err := launch(tb, bin, port)
		if err == nil {
			return srv
		}
		lastErr = err
	}
	tb.Fatalf("start moto_server: %v", lastErr)
	return nil
}

func launch(tb testing.TB, bin string, port int) (*Server, error) {
	logPath := filepath.Join(tb.TempDir(), "moto.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// The process must outlive the test's context; it is stopped in Cleanup.
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port)) // lives until Cleanup, not a context
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	srv := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); _ = logFile.Close() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited //nolint:errcheck // killed: its exit status says nothing
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logPath)
			exited <- err
			return nil, fmt.Errorf("moto_server exited: %v: %s", err, out)
		default:
		}
		if ready(srv.URL) {
			tb.Cleanup(stop)
			return srv, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("moto_server did not answer on %s within 30s", srv.URL)
}

func ready(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
