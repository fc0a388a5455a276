// Command firehose sends data to Amazon Data Firehose and runs the Firehose
// Common Actions scenario against a real stream or the embedded emulator.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/firehose-tools/firehose/internal/cli"
)

// defaultMemoryLimit is the Go runtime's soft memory limit for the process.
const defaultMemoryLimit = 44 << 20

func main() {
	os.Exit(run())
}

func run() int {
	// FIREHOSE_CPUPROFILE=FILE writes a CPU profile of the run, for
	// `go tool pprof` (a developer's tool; not a flag).
	if path := os.Getenv("FIREHOSE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil { //nolint:gosec // a path the developer names
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err == nil {
				defer pprof.StopCPUProfile() // before the Close above
			}
		}
	}
	// A send holds little (the records in flight and a few batches), but
	// the garbage collector lets the heap grow to twice what is live; a
	// soft limit keeps the process small on a busy host (GOMEMLIMIT
	// overrides it).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	// A closed stdout or stderr (| head) makes writes fail with EPIPE
	// instead of killing the process: the run goes on and accounts for
	// every record.
	signal.Ignore(syscall.SIGPIPE)
	return cli.Main(context.Background(), os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, cli.Signals(func(c chan<- os.Signal) {
		signal.Notify(c, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	}))
}
