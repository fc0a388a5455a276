package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// session is one scenario's emulator and scratch directory.
type session struct {
	dir  string
	emu  *emulatorProc
	log  io.Writer
	keep bool
	// Emulator is set by stop.
	Emulator usage
	stopped  bool
}

// newSession starts an emulator with the given flags in a fresh directory
// and creates the streams.
func (c *config) newSession(ctx context.Context, name string, log io.Writer, emuFlags []string, streams ...string) (*session, error) {
	dir, err := os.MkdirTemp(c.work, name+"-")
	if err != nil {
		return nil, fmt.Errorf("scenario dir: %w", err)
	}
	emu, err := startEmulator(ctx, c.bin, dir, emuFlags)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &session{dir: dir, emu: emu, log: log, keep: c.keep}
	logf(log, "%s: emulator at %s %v", name, emu.URL, emuFlags)
	for _, st := range streams {
		if err := createStream(ctx, emu.URL, st); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// stop stops the emulator, which writes every buffered record to disk, and
// records its usage. It does nothing the second time.
func (s *session) stop() {
	if !s.stopped {
		s.Emulator = s.emu.stop(60 * time.Second)
		s.stopped = true
	}
}

// bucketDir is where the emulator writes the objects of the streams made by
// createStream.
func (s *session) bucketDir() string {
	return filepath.Join(s.dir, "emulator-data", benchBucket)
}

// close stops the emulator (see stop) and removes the scenario directory
// (emulator data included) unless -keep.
func (s *session) close() {
	s.stop()
	if !s.keep {
		_ = os.RemoveAll(s.dir)
	}
}

func (c *config) putFlags(extra ...string) []string {
	if c.concurrency > 0 {
		extra = append(extra, "--concurrency", strconv.Itoa(c.concurrency))
	}
	return extra
}

func (c *config) input(n int, log io.Writer) (inputFile, error) {
	start := time.Now()
	if _, ok := c.generatedInput.files[n]; !ok {
		logf(log, "generating %d records", n)
	}
	f, err := c.generatedInput.ndjson(n)
	if err == nil && time.Since(start) > time.Second {
		logf(log, "generated %s (%.1f MiB) in %s", filepath.Base(f.path), float64(f.bytes)/mib, time.Since(start).Round(time.Millisecond))
	}
	return f, err
}
