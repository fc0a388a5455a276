package emulator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Limits of the file system the objects are written to (Linux's NAME_MAX
// and PATH_MAX), and of the prefixes the service takes.
const (
	maxPathComponent = 255
	maxPath          = 4095
	maxPrefixLength  = 1024
	// objectKeyTail is the longest part of a key after the prefix:
	// "YYYY/MM/DD/HH/" + a 64-character stream name + "-<version>-" (a
	// version id of up to 10 digits) + the time "YYYY-MM-DD-HH-MM-SS-" + a
	// 36-character UUID.
	objectKeyTail = 14 + 64 + 12 + 20 + 36
	// yearLength: the first key part after the prefix is the year, which
	// extends the prefix's last path component.
	yearLength = 4
)

// checkPrefix says why objects under prefix could not be written as files
// below a bucket directory, or returns nil. What it accepts maps one to one
// onto a file path: no component is empty, "." or "..", none is too long.
func checkPrefix(prefix string) error {
	if strings.ContainsRune(prefix, 0) {
		return errors.New("it holds a NUL byte")
	}
	if strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "\\") {
		return errors.New("it leaves the bucket directory")
	}
	parts := strings.Split(prefix, "/")
	for i, c := range parts {
		last := i == len(parts)-1
		switch {
		case last:
			// The year follows: "a" becomes "a2026", "" becomes "2026".
			if len(c)+yearLength > maxPathComponent {
				return fmt.Errorf("its last path component is %d bytes; with the year after it, that is over the file system's %d", len(c), maxPathComponent)
			}
		case c == "..":
			return errors.New("it leaves the bucket directory")
		case c == "" || c == ".":
			return fmt.Errorf("path component %d is %q, which a file path cannot keep", i+1, c)
		case len(c) > maxPathComponent:
			return fmt.Errorf("path component %d is %d bytes, over the file system's %d", i+1, len(c), maxPathComponent)
		}
	}
	return nil
}

// validateObjectPath refuses a destination whose objects could not be
// written under dataDir, with InvalidArgumentException: what the emulator
// accepts, it always writes.
func validateObjectPath(dataDir string, d destination) error {
	for _, p := range []struct{ field, value string }{{"Prefix", d.prefix}, {"ErrorOutputPrefix", d.errorOutputPrefix}} {
		if err := checkPrefix(p.value); err != nil {
			return invalidArgument(fmt.Sprintf("the emulator cannot write objects under %s %q: %v", p.field, p.value, err))
		}
	}
	bucketDir := filepath.Join(dataDir, d.bucket)
	if abs, err := filepath.Abs(bucketDir); err == nil {
		longest := max(len(d.prefix), len(d.errorOutputPrefix))
		if n := len(abs) + 1 + longest + objectKeyTail; n > maxPath {
			return invalidArgument(fmt.Sprintf("the emulator cannot write objects of bucket %s: their paths under the data directory would be up to %d bytes, over the file system's %d", d.bucket, n, maxPath))
		}
	}
	if fi, err := os.Stat(bucketDir); err == nil && !fi.IsDir() {
		return invalidArgument(fmt.Sprintf("the emulator cannot write objects of bucket %s: %s is a file, not a directory", d.bucket, bucketDir))
	}
	return nil
}
