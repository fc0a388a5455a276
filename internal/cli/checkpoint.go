package cli

import (
	"errors"
	"os"
	"time"

	"github.com/firehose-tools/firehose/internal/checkpoint"
	"github.com/firehose-tools/firehose/producer"
)

// checkpointState is the checkpoint of a file input: the checkpoint a run
// resumed from, the tracker of the records settled and its writer.
type checkpointState struct {
	path        string
	resumedFrom *checkpoint.Checkpoint
	skipper     *checkpoint.Skipper
	tracker     *checkpoint.Tracker
	writer      *checkpoint.Writer
}

// openCheckpoint loads the checkpoint of input at path (unless restart) and
// refuses one that belongs to another file or another version of it.
func openCheckpoint(input, path string, restart bool) (*checkpointState, error) {
	id, err := checkpoint.Identify(input)
	if err != nil {
		return nil, usageErrorf("input file %s: %w", input, err)
	}
	ck := &checkpointState{path: path}
	if restart {
		if err := checkpoint.Remove(path); err != nil {
			return nil, err
		}
	} else {
		cp, err := checkpoint.Load(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, usageErrorf("checkpoint: %w (--restart ignores it)", err)
		default:
			if err := cp.Input.Matches(id); err != nil {
				return nil, usageErrorf("checkpoint %s does not match %s: %w; use --restart to send the file from the start", path, input, err)
			}
			ck.resumedFrom = cp
			ck.skipper = cp.Skipper()
		}
	}
	if ck.resumedFrom != nil {
		ck.tracker = checkpoint.NewTrackerFrom(ck.resumedFrom)
	} else {
		ck.tracker = checkpoint.NewTracker(id, checkpoint.Beginning())
	}
	return ck, nil
}

// start saves the checkpoint about every quarter second from now on; the
// dead-letter file is synced before each save, so the checkpoint never
// moves past a dead letter that is not on disk.
func (c *checkpointState) start(sink *producer.FileSink, g *globalOptions) {
	c.writer = checkpoint.StartWriter(c.path, c.tracker,
		checkpoint.Interval(250*time.Millisecond),
		checkpoint.BeforeSave(sink.Sync),
		checkpoint.OnError(func(err error) { g.logger.Error("checkpoint not saved", "path", c.path, "error", err.Error()) }))
}

// finish writes the last checkpoint; when the whole input is settled it
// removes it instead.
func (c *checkpointState) finish(complete bool) error {
	if c.writer == nil {
		return nil
	}
	err := c.writer.Close()
	if complete {
		return checkpoint.Remove(c.path)
	}
	return err
}
