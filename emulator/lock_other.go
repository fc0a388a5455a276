//go:build !unix

package emulator

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDataDir opens DIR/.emulator/lock; without flock it cannot keep a
// second emulator off the directory.
func lockDataDir(stateDir string) (*os.File, error) {
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return nil, fmt.Errorf("emulator: create state dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(stateDir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("emulator: open lock file: %w", err)
	}
	return f, nil
}
