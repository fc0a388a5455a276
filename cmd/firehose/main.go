// Command firehose sends data to Amazon Data Firehose and runs the Firehose
// Common Actions scenario against a real stream or the embedded emulator.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/firehose-tools/firehose/internal/cli"
)

func main() {
	// A closed stdout or stderr (| head) makes writes fail with EPIPE
	// instead of killing the process: the run goes on and accounts for
	// every record.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, cli.Signals(func(c chan<- os.Signal) {
		signal.Notify(c, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	})))
}
