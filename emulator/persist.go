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
//
// A DELETING stream is not kept (a restart finds it deleted); a CREATING
// one is, with the time it becomes ACTIVE. Files written before
// UpdateDestination and encryption existed have no version (read as 1) and
// no encryption (DISABLED).
type persistedStream struct {
	Name        string               `json:"name"`
	Type        string               `json:"type"`
	CreatedAt   time.Time            `json:"createdAt"`
	Destination persistedDestination `json:"destination"`
	Tags        map[string]string    `json:"tags,omitempty"`
	VersionID   int                  `json:"versionId,omitempty"`
	UpdatedAt   time.Time            `json:"updatedAt,omitzero"`
	ActiveAt    time.Time            `json:"activeAt,omitzero"` // CREATING before this
	Encryption  *persistedEncryption `json:"encryption,omitempty"`
}

// persistedEncryption is a stream's encryption settings; ChangedAt makes a
// restart within CreateDelay of a change still answer ENABLING/DISABLING.
type persistedEncryption struct {
	Enabled   bool      `json:"enabled"`
	KeyType   string    `json:"keyType,omitempty"`
	KeyARN    string    `json:"keyArn,omitempty"`
	ChangedAt time.Time `json:"changedAt,omitzero"`
}

type persistedDestination struct {
	ID                string `json:"id,omitempty"` // destinationID; absent in older files
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
		ID: destinationID, Extended: d.extended, RoleARN: d.roleARN, BucketARN: d.bucketARN, Bucket: d.bucket, Prefix: d.prefix,
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

// persisted is st as streams.json keeps it, or false for a DELETING
// stream; the caller holds st.mu.
func (st *stream) persistedLocked() (persistedStream, bool) {
	if !st.state.deletingAt.IsZero() {
		return persistedStream{}, false
	}
	tags := make(map[string]string, len(st.tags))
	for k, v := range st.tags {
		tags[k] = v
	}
	p := persistedStream{
		Name: st.name, Type: st.typ, CreatedAt: st.createdAt, Destination: st.dest.persisted(), Tags: tags,
		VersionID: st.state.version, UpdatedAt: st.state.updatedAt, ActiveAt: st.state.activeAt,
	}
	if e := st.state.encryption; e.enabled || !e.changedAt.IsZero() {
		p.Encryption = &persistedEncryption{Enabled: e.enabled, KeyType: e.keyType, KeyARN: e.keyARN, ChangedAt: e.changedAt}
	}
	return p, true
}

// restoreState sets the state of a stream loaded from p; nothing else
// holds st yet.
func (st *stream) restoreState(p persistedStream) {
	st.state = streamState{version: max(1, p.VersionID), updatedAt: p.UpdatedAt, activeAt: p.ActiveAt}
	if st.state.updatedAt.IsZero() {
		st.state.updatedAt = p.CreatedAt
	}
	if st.state.activeAt.IsZero() {
		st.state.activeAt = p.CreatedAt
	}
	if e := p.Encryption; e != nil {
		st.setEncryptionLocked(encryptionState{enabled: e.Enabled, keyType: e.KeyType, keyARN: e.KeyARN, changedAt: e.ChangedAt})
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
		p, keep := st.persistedLocked()
		st.mu.Unlock()
		if keep {
			file.Streams = append(file.Streams, p)
		}
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
		if id := p.Destination.ID; id != "" && id != destinationID {
			return fmt.Errorf("emulator: load stream %s: unknown destination id %q", p.Name, id)
		}
		dest := p.Destination.destination()
		if err := validateObjectPath(s.cfg.dataDir, dest); err != nil {
			return fmt.Errorf("emulator: load stream %s: %w", p.Name, err)
		}
		st := s.newStream(p.Name, p.Type, p.CreatedAt, dest, p.Tags)
		st.restoreState(p)
		s.streams[p.Name] = st
	}
	return nil
}
