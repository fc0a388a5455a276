package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/firehose-tools/firehose/producer"
)

// Exit codes, one place: 0 all delivered, 1 some records not delivered
// (dead-lettered or rejected), 2 could not run or fatal, 130/143 interrupted.
const (
	exitOK          = 0
	exitUndelivered = 1
	exitFatal       = 2
)

// errSilent marks an error whose message was already shown to the user
// (for example in the run summary); Main prints nothing more for it.
var errSilent = errors.New("already reported")

// exitError carries an exit code chosen by a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a bad flag or argument: exit 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitFatal, err: fmt.Errorf(format, args...)}
}

// undeliveredError reports that the run finished but some records were not
// delivered; the summary already said which, so Main prints msg only.
func undeliveredError(msg string) error {
	return &exitError{code: exitUndelivered, err: errors.New(msg)}
}

func exitCode(err error, sig *signalState) int {
	if code := sig.exitCode(); code != 0 {
		return code
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	return exitFatal
}

// sendErrFor maps a send's error to the command's: an interrupt is
// reported by the exit code (129/130/143) after the summary, a fatal error
// exits 2 with its message (and how to resume, with a checkpoint), records
// not delivered exit 1 through the summary, and a dead-letter write failure
// is always said.
func sendErrFor(err error, checkpointed bool) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, producer.ErrDeadLetterWrite) {
		return err // records lost: say so, whatever else happened
	}
	if errors.Is(err, context.Canceled) {
		if checkpointed {
			return &exitError{code: 130, err: errors.New("interrupted: run the same command again to resume")}
		}
		return &exitError{code: 130, err: errors.New("interrupted: records not yet delivered were written to the dead-letter file")}
	}
	var fatal *producer.FatalError
	if checkpointed && errors.As(err, &fatal) {
		return &exitError{code: exitFatal, err: fmt.Errorf("%w; once fixed, run the same command again to resume", err)}
	}
	if errors.Is(err, producer.ErrNotDelivered) {
		return nil // reported by the summary, exit 1
	}
	return err
}

func userMessage(err error) string {
	return err.Error()
}
