package emulator

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// QuotaConfig holds the per-stream DirectPut quotas (PutRecord and
// PutRecordBatch together). A zero field takes the us-east-1 default:
// 500,000 records/s, 2,000 requests/s, 5 MiB/s. Each quota allows a burst of
// one second's worth.
type QuotaConfig struct {
	RecordsPerSecond  int
	RequestsPerSecond int
	BytesPerSecond    int64
}

// Default quotas of a DirectPut stream in us-east-1, us-west-2 and eu-west-1.
const (
	DefaultRecordsPerSecond  = 500_000
	DefaultRequestsPerSecond = 2_000
	DefaultBytesPerSecond    = 5 << 20
)

// FaultConfig describes the faults the emulator injects. All rates are
// probabilities in [0, 1]; the zero value injects nothing. The draws come
// from one random source seeded with Seed, so a run with the same Seed and
// the same sequence of requests fails the same requests and records.
type FaultConfig struct {
	// Seed seeds the random source of every fault decision.
	Seed int64
	// RequestErrorRate fails a whole Put request, before anything of it is
	// accepted, with HTTP 500 ServiceUnavailableException or InternalFailure.
	RequestErrorRate float64
	// RecordErrorRate fails each record of an accepted request on its own,
	// inside a 200 response, with ErrorCode ServiceUnavailableException or
	// InternalFailure. Failed records are not delivered.
	RecordErrorRate float64
	// LostResponseRate delivers the accepted records of a request and then
	// drops the connection without answering, like a timeout after the write.
	LostResponseRate float64
	// Latency delays every answer by this long (cut short if the client
	// goes away).
	Latency time.Duration
}

// Option configures a Server; see New.
type Option func(*config)

type config struct {
	dataDir      string
	dataDirSet   bool
	quotas       QuotaConfig
	quotasOff    bool
	faults       FaultConfig
	metricsDelay time.Duration
	logger       *slog.Logger
	region       string
	accountID    string
	now          func() time.Time
	limits       Limits
	syncWrites   bool
	streams      []streamSpec  // created by New (streams.go)
	createDelay  time.Duration // CREATING and DELETING last this long (firehose_manage.go)
}

// DataDir sets the directory the delivered files go to, and where the
// emulator keeps its state (DIR/.emulator: the stream definitions and the
// spools of buffered records); it is created if needed. An emulator started
// on a directory a previous one used has the same streams and delivers what
// that one acknowledged but had not yet written. Default: a new directory
// made with os.MkdirTemp, which is kept after Close so users can look at
// the files (DataDir tells where).
func DataDir(dir string) Option {
	return func(c *config) { c.dataDir = dir; c.dataDirSet = true }
}

// Quotas sets the per-stream quotas and turns quotas on (after NoQuotas).
// Default: on, with the us-east-1 DirectPut quotas (see QuotaConfig).
func Quotas(q QuotaConfig) Option {
	return func(c *config) { c.quotas = q; c.quotasOff = false }
}

// NoQuotas turns the per-stream quotas off: nothing is throttled. The per-call
// limits (500 records, 1,000 KiB per record, 4 MiB per call) still hold.
func NoQuotas() Option {
	return func(c *config) { c.quotasOff = true }
}

// Faults sets the faults to inject. Default: none.
func Faults(f FaultConfig) Option {
	return func(c *config) { c.faults = f }
}

// MetricsDelay makes each metric datapoint readable only this long after the
// request that produced it, like CloudWatch's lag. Default 0: datapoints are
// readable as soon as the records are accepted.
func MetricsDelay(d time.Duration) Option {
	return func(c *config) { c.metricsDelay = d }
}

// Logger sets the logger. The emulator logs requests at debug level and never
// logs record contents. Default: discard.
func Logger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// Region sets the region used in ARNs. Default "us-east-1".
func Region(r string) Option {
	return func(c *config) { c.region = r }
}

// AccountID sets the 12-digit account used in ARNs. Default "000000000000".
func AccountID(id string) Option {
	return func(c *config) { c.accountID = id }
}

// Clock sets the time source for timestamps, quotas, file names, buffering
// intervals and metrics. Default time.Now.
func Clock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

func (c *config) validate() error {
	var errs []error
	if c.dataDirSet && c.dataDir == "" {
		errs = append(errs, errors.New("DataDir is empty"))
	}
	if c.quotas.RecordsPerSecond < 0 || c.quotas.RequestsPerSecond < 0 || c.quotas.BytesPerSecond < 0 {
		errs = append(errs, fmt.Errorf("quotas must not be negative: %+v", c.quotas))
	}
	for name, p := range map[string]float64{
		"RequestErrorRate": c.faults.RequestErrorRate,
		"RecordErrorRate":  c.faults.RecordErrorRate,
		"LostResponseRate": c.faults.LostResponseRate,
	} {
		if !(p >= 0 && p <= 1) {
			errs = append(errs, fmt.Errorf("fault %s %v is not in [0, 1]", name, p))
		}
	}
	if c.faults.Latency < 0 {
		errs = append(errs, fmt.Errorf("fault latency %v is negative", c.faults.Latency))
	}
	if c.metricsDelay < 0 {
		errs = append(errs, fmt.Errorf("metrics delay %v is negative", c.metricsDelay))
	}
	if c.region == "" {
		errs = append(errs, errors.New("region is empty"))
	}
	if !accountIDPattern.MatchString(c.accountID) {
		errs = append(errs, fmt.Errorf("account id %q is not 12 digits", c.accountID))
	}
	if c.now == nil {
		errs = append(errs, errors.New("clock is nil"))
	}
	if c.logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if err := c.limits.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidOption, errors.Join(errs...))
	}
	return nil
}

func (c *config) effectiveQuotas() QuotaConfig {
	q := c.quotas
	if q.RecordsPerSecond == 0 {
		q.RecordsPerSecond = DefaultRecordsPerSecond
	}
	if q.RequestsPerSecond == 0 {
		q.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if q.BytesPerSecond == 0 {
		q.BytesPerSecond = DefaultBytesPerSecond
	}
	return q
}

// Server is an emulated Firehose + CloudWatch endpoint. It implements
// http.Handler; Start serves it on a listener. Create it with New and Close
// it: Close writes every buffered record as an object (a Server that is
// not closed leaves them in its spools, for the next New on its data
// directory).
type Server struct {
	cfg     config
	limits  Limits // cfg.limits with the defaults filled in
	log     *slog.Logger
	metrics *metricStore
	faults  *faultInjector
	script  faultScript
	load    serverLoad
	etags   etagCache // S3 ETags of delivered files (s3api.go)

	persistMu sync.Mutex // serialises saveStreams
	lock      *os.File   // holds the data directory's lock until Close

	mu      sync.RWMutex
	streams map[string]*stream
	closed  bool
	httpSrv *http.Server
	url     string

	stopTicker chan struct{}
	tickerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

var _ http.Handler = (*Server)(nil)

// New returns a Server configured by opts, with its data directory created,
// the streams and spooled records of a previous emulator on it recovered,
// and its interval flusher running. It serves nothing until Start or until it
// is mounted as an http.Handler.
func New(opts ...Option) (*Server, error) {
	cfg := config{
		logger:    slog.New(slog.DiscardHandler),
		region:    "us-east-1",
		accountID: "000000000000",
		now:       time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.dataDirSet {
		if err := os.MkdirAll(cfg.dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("emulator: create data dir: %w", err)
		}
	} else {
		dir, err := os.MkdirTemp("", "firehose-emulator-")
		if err != nil {
			return nil, fmt.Errorf("emulator: create data dir: %w", err)
		}
		cfg.dataDir = dir
	}
	lock, err := lockDataDir(cfg.stateDir())
	if err != nil {
		return nil, err
	}
	limits := cfg.limits.withDefaults()
	s := &Server{
		cfg:        cfg,
		limits:     limits,
		log:        cfg.logger,
		metrics:    newMetricStore(cfg.now, cfg.metricsDelay),
		faults:     newFaultInjector(cfg.faults),
		streams:    make(map[string]*stream),
		stopTicker: make(chan struct{}),
		tickerDone: make(chan struct{}),
		lock:       lock,
	}
	s.metrics.maxSeries = limits.MaxMetricSeries
	if err := s.loadStreams(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	// Objects half written when a previous emulator died; the lock says
	// none is being written now.
	if parts, err := filepath.Glob(filepath.Join(cfg.dataDir, ".tmp", "part-*")); err == nil {
		for _, p := range parts {
			_ = os.Remove(p)
		}
	}
	if err := s.recoverSpools(cfg.spoolDir()); err != nil {
		// What could not be delivered stays in the spool directory for the
		// next start; the streams serve meanwhile.
		s.log.Error("emulator: deliver the records of a previous run", slog.Any("error", err))
	}
	if err := s.createConfiguredStreams(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	go s.flushOnInterval()
	return s, nil
}

// Start listens on addr (for example "127.0.0.1:0"; use a loopback address
// unless the emulator must be reachable from elsewhere) and serves in the
// background. It returns the base URL, "http://host:port".
func (s *Server) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	if s.httpSrv != nil {
		return "", ErrAlreadyStarted
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	s.httpSrv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	ln = &limitListener{Listener: ln, load: &s.load, max: int64(s.limits.MaxConnections)}
	s.url = "http://" + ln.Addr().String()
	srv := s.httpSrv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("emulator: serve", slog.Any("error", err))
		}
	}()
	s.log.Debug("emulator listening", slog.String("url", s.url), slog.String("data_dir", s.cfg.dataDir))
	return s.url, nil
}

// URL returns the base URL Start listens on, or "" before Start.
func (s *Server) URL() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.url
}

// DataDir returns the directory the delivered files are written to.
func (s *Server) DataDir() string { return s.cfg.dataDir }

// Flush writes every stream's buffered records to disk now. It returns
// ctx.Err() if ctx ends first (what was written stays written).
func (s *Server) Flush(ctx context.Context) error {
	var errs []error
	for _, st := range s.streamList() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := st.flush(false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops accepting connections, waits for in-flight requests (until ctx
// ends), and writes every buffer to disk. Requests that arrive after Close
// (through ServeHTTP) fail with ServiceUnavailableException. Close is
// idempotent; later calls return the first call's result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		srv := s.httpSrv
		s.mu.Unlock()

		var errs []error
		if srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("emulator: shutdown: %w", err))
				_ = srv.Close()
			}
		}
		close(s.stopTicker)
		<-s.tickerDone
		// Flush even if ctx ended: losing accepted records is worse than a
		// slow Close.
		for _, st := range s.streamList() {
			if err := st.flush(true); err != nil {
				errs = append(errs, err)
			}
		}
		if err := s.lock.Close(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: release the data dir: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Server) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

func (s *Server) streamList() []*stream {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		out = append(out, st)
	}
	return out
}

func (s *Server) lookupStream(name string) (*stream, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.streams[name]
	return st, ok
}

// flushOnInterval writes buffers whose IntervalInSeconds has passed.
func (s *Server) flushOnInterval() {
	defer close(s.tickerDone)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stopTicker:
			return
		case <-t.C:
			now := s.cfg.now()
			for _, st := range s.streamList() {
				if err := st.flushIfDue(now); err != nil {
					s.log.Error("emulator: write buffer", slog.String("stream", st.name), slog.Any("error", err))
				}
			}
		}
	}
}

const (
	firehoseTargetPrefix   = "Firehose_20150804."
	cloudwatchTargetPrefix = "GraniteServiceVersion20100801."
	cborPathPrefix         = "/service/GraniteServiceVersion20100801/operation/"
	maxRequestBody         = 12 << 20
)

// ServeHTTP routes Firehose (AWS JSON 1.1, by X-Amz-Target) and CloudWatch
// (AWS JSON 1.0 by X-Amz-Target, rpc-v2-cbor by URL path, awsQuery by a
// form-encoded body) requests, S3 reads (signed for s3, or GET/HEAD of a
// bucket path) and the web page (GET / and /_emulator/).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer s.limitRequest(w, r)()
	if isControlPath(r.URL.Path) { // scripted faults, stats (control.go)
		s.serveControl(w, r)
		return
	}
	if s.serveSurface(w, r) { // S3 reads, the web page (routes.go)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "the emulator answers POST requests of the Firehose and CloudWatch APIs", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		// The SDK gzips PutMetricData bodies (the requestCompression trait).
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		defer zr.Close()
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(zr, maxRequestBody), zr}
	}
	if op, ok := strings.CutPrefix(r.URL.Path, cborPathPrefix); ok {
		s.serveCloudWatch(w, r, op, cborCodec{})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	if op, ok := strings.CutPrefix(target, firehoseTargetPrefix); ok {
		s.serveFirehose(w, r, op)
		return
	}
	if op, ok := strings.CutPrefix(target, cloudwatchTargetPrefix); ok {
		s.serveCloudWatch(w, r, op, jsonCodec{})
		return
	}
	if isQueryRequest(r) { // CloudWatch over awsQuery (query.go)
		s.serveQuery(w, r)
		return
	}
	writeFirehoseError(w, &apiError{code: codeUnknownOperation, message: fmt.Sprintf("unknown operation %q", target), status: http.StatusBadRequest})
}
