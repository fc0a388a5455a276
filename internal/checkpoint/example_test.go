package checkpoint_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/firehose-tools/firehose/internal/checkpoint"
)

// A run is interrupted after settling records 1, 2 and 4 of five; the next
// run resumes at record 3 and skips record 4.
func Example() {
	dir, err := os.MkdirTemp("", "checkpoint-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	input := filepath.Join(dir, "data.json")
	data := []byte("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n")
	if err := os.WriteFile(input, data, 0o600); err != nil {
		fmt.Println(err)
		return
	}
	cpPath := checkpoint.DefaultPath(input)

	// First run: records settle out of order; the run stops early.
	id, err := checkpoint.Identify(input)
	if err != nil {
		fmt.Println(err)
		return
	}
	tracker := checkpoint.NewTracker(id, checkpoint.Beginning())
	w := checkpoint.StartWriter(cpPath, tracker, checkpoint.BeforeSave(func() error {
		return nil // sync the dead-letter file here
	}))
	for _, rec := range []int64{2, 4, 1} {
		// Each line is 8 bytes: record r ends at byte 8*r, line r+1.
		tracker.Settled(rec, checkpoint.Position{Offset: 8 * rec, Line: rec + 1})
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	// Second run: load, check the input, resume.
	cp, err := checkpoint.Load(cpPath)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Println("nothing to resume")
		return
	} else if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := cp.Input.Verify(input); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("resuming at record %d (byte %d): %d settled before\n",
		cp.Watermark.Record, cp.Watermark.Offset, cp.SettledCount())
	skip := cp.Skipper()
	sc := bufio.NewScanner(bytes.NewReader(data[cp.Watermark.Offset:]))
	for rec := cp.Watermark.Record; sc.Scan(); rec++ {
		if skip.Skip(rec) {
			continue
		}
		fmt.Printf("send record %d: %s\n", rec, sc.Text())
	}
	// Output:
	// resuming at record 3 (byte 16): 3 settled before
	// send record 3: {"n":3}
	// send record 5: {"n":5}
}
