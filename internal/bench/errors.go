package main

import "errors"

var (
	// errNoSummary: the put output had no summary table to read.
	errNoSummary = errors.New("no summary table in the put output")
	// errNotListening: the emulator exited or stayed silent before printing
	// its "emulator listening on" line.
	errNotListening = errors.New("emulator did not report its address")
	// errPutFailed: the put process exited with a code other than 0 (all
	// delivered) or 1 (some records not delivered).
	errPutFailed = errors.New("put failed")
	// errUnknownScenario: -scenarios named something this bench does not run.
	errUnknownScenario = errors.New("unknown scenario")
)

// errNoRate: the boto3 baseline printed no positive records/s.
var errNoRate = errors.New("no records_per_second")

// errNoRecords: the naive loop reported no records read.
var errNoRecords = errors.New("no records")
