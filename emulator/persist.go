package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The emulator's own state lives in DIR/.emulator, a name no bucket can
// take (bucket names start with a letter or digit):
//
//	DIR/.emulator/streams.json   the stream definitions
//	DIR/.emulator/spool/         one spool file per stream with buffered records
const (
	stateDirName    = ".emulator"
	streamsFileName = "streams.json"
	spoolDirName    = "spool"
)

func (c *config) stateDir() string { return filepath.Join(c.dataDir, stateDirName) }
func (c *config) spoolDir() string { return filepath.Join(c.stateDir(), spoolDirName) }

// persistedStream is one stream as streams.json keeps it. The ARN is not
// kept: it follows the region and account of the emulator that reads it.
type persistedStream struct {
	Name        string               `json:"name"`
	Type        string               `json:"type"`
	CreatedAt   time.Time            `json:"createdAt"`
	Destination persistedDestination `json:"destination"`
	Tags        map[string]string    `json:"tags,omitempty"`
}

type persistedDestination struct {
	Extended          bool   `json:"extended"`
	RoleARN           string `json:"roleArn,omitempty"`
	BucketARN         string `json:"bucketArn"`
	Bucket            string `json:"bucket"`
	Prefix            string `json:"prefix,omitempty"`
	ErrorOutputPrefix string `json:"errorOutputPrefix,omitempty"`
	SizeInMBs         int    `json:"sizeInMBs"`
	IntervalInSeconds int    `json:"intervalInSeconds"`
	CompressionFormat string `json:"compressionFormat"`
}

type streamsFile struct {
	Version int               `json:"version"`
	Streams []persistedStream `json:"streams"`
}

func (d destination) persisted() persistedDestination {
	return persistedDestination{
		Extended: d.extended, RoleARN: d.roleARN, BucketARN: d.bucketARN, Bucket: d.bucket, Prefix: d.prefix,
		ErrorOutputPrefix: d.errorOutputPrefix, SizeInMBs: d.sizeInMBs, IntervalInSeconds: d.intervalInSeconds,
		CompressionFormat: d.compressionFormat,
	}
}

func (p persistedDestination) destination() destination {
	return destination{
		extended: p.Extended, roleARN: p.RoleARN, bucketARN: p.BucketARN, bucket: p.Bucket, prefix: p.Prefix,
		errorOutputPrefix: p.ErrorOutputPrefix, sizeInMBs: p.SizeInMBs, intervalInSeconds: p.IntervalInSeconds,
		compressionFormat: p.CompressionFormat,
	}
}

// newStream builds a stream of this server; the caller registers it.
func (s *Server) newStream(name, typ string, createdAt time.Time, dest destination, tags map[string]string) *stream {
	st := &stream{
		name: name, arn: s.streamARN(name), typ: typ, createdAt: createdAt, dest: dest,
		dims:    []dimension{{Name: "DeliveryStreamName", Value: name}},
		dataDir: s.cfg.dataDir, spoolDir: s.cfg.spoolDir(), sync: s.cfg.syncWrites,
		now: s.cfg.now, metrics: s.metrics, log: s.log,
		tags: make(map[string]string, len(tags)),
	}
	for k, v := range tags {
		st.tags[k] = v
	}
	if !s.cfg.quotasOff {
		st.quota = newStreamQuota(s.cfg.effectiveQuotas())
	}
	return st
}

// saveStreams writes every stream's definition to streams.json, through a
// temporary file and a rename so a reader (or a restart) sees the old or
// the new file, never part of one. Call it after any change to a stream's
// definition.
func (s *Server) saveStreams() error {
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	file := streamsFile{Version: 1, Streams: []persistedStream{}}
	for _, st := range s.streamList() {
		st.mu.Lock()
		tags := make(map[string]string, len(st.tags))
		for k, v := range st.tags {
			tags[k] = v
		}
		st.mu.Unlock()
		file.Streams = append(file.Streams, persistedStream{
			Name: st.name, Type: st.typ, CreatedAt: st.createdAt, Destination: st.dest.persisted(), Tags: tags,
		})
	}
	slices.SortFunc(file.Streams, func(a, b persistedStream) int { return strings.Compare(a.Name, b.Name) })
	body, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return fmt.Errorf("emulator: encode streams: %w", err)
	}
	dir := s.cfg.stateDir()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("emulator: create state dir: %w", err)
	}
	f, err := os.CreateTemp(dir, streamsFileName+".*")
	if err != nil {
		return fmt.Errorf("emulator: save streams: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(body, '\n'))
	var serr error
	if s.cfg.syncWrites && werr == nil {
		serr = f.Sync()
	}
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("emulator: save streams: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, streamsFileName)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("emulator: save streams: %w", err)
	}
	if s.cfg.syncWrites {
		return syncDir(dir)
	}
	return nil
}

// loadStreams recreates the streams a previous emulator on this data
// directory defined.
func (s *Server) loadStreams() error {
	body, err := os.ReadFile(filepath.Join(s.cfg.stateDir(), streamsFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: load streams: %w", err)
	}
	var file streamsFile
	if err := json.Unmarshal(body, &file); err != nil {
		return fmt.Errorf("emulator: load streams from %s: %w", streamsFileName, err)
	}
	if file.Version != 1 {
		return fmt.Errorf("emulator: load streams: unknown version %d of %s", file.Version, streamsFileName)
	}
	for _, p := range file.Streams {
		if err := validateStreamName(p.Name, "deliveryStreamName"); err != nil {
			return fmt.Errorf("emulator: load streams: %w", err)
		}
		dest := p.Destination.destination()
		if err := validateObjectPath(s.cfg.dataDir, dest); err != nil {
			return fmt.Errorf("emulator: load stream %s: %w", p.Name, err)
		}
		s.streams[p.Name] = s.newStream(p.Name, p.Type, p.CreatedAt, dest, p.Tags)
	}
	return nil
}
