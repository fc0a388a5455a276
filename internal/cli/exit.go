package cli

import (
	"context"
	"errors"
	"fmt"
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

func userMessage(err error) string {
	return err.Error()
}
