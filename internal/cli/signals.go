package cli

import (
	"context"
	"os"
	"sync"
	"syscall"
)

// signalState turns the first SIGINT/SIGTERM/SIGHUP into a cancelled context
// (graceful stop) and the second into a call of the hard-stop functions
// registered by the running command. It remembers the first signal for
// the exit code (130 for SIGINT, 143 for SIGTERM).
type signalState struct {
	notify func(chan<- os.Signal)

	mu       sync.Mutex
	first    os.Signal
	hardStop []func()
}

func newSignalState(notify func(chan<- os.Signal)) *signalState {
	return &signalState{notify: notify}
}

// context returns ctx cancelled on the first signal.
func (s *signalState) context(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	if s.notify == nil {
		return ctx, cancel
	}
	ch := make(chan os.Signal, 2)
	s.notify(ch)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-ch:
				s.mu.Lock()
				if s.first == nil {
					s.first = sig
					s.mu.Unlock()
					cancel()
					continue
				}
				stops := append([]func(){}, s.hardStop...)
				s.mu.Unlock()
				for _, f := range stops {
					f()
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() { close(done); cancel() }
}

// onHardStop registers f to run on the second signal.
func (s *signalState) onHardStop(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hardStop = append(s.hardStop, f)
}

// exitCode is 128+signal number after a signal (129 SIGHUP, 130 SIGINT,
// 143 SIGTERM), else 0.
func (s *signalState) exitCode() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.first {
	case nil:
		return 0
	case syscall.SIGTERM:
		return 143
	case syscall.SIGHUP:
		return 129
	default:
		return 130
	}
}

// clearExitCode forgets the signal for the exit code: a command that
// handles the signal as its normal way to stop (the emulator) exits 0.
func (s *signalState) clearExitCode() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.first = nil
}
