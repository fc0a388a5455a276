package emulator

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bounds what the server holds for its clients, so no client (slow,
// broken or hostile) can make it run out of memory. A zero field takes its
// default.
type Limits struct {
	// MaxConnections caps the open connections; one more is answered
	// HTTP 503 ServiceUnavailableException and closed. Default 1,024.
	MaxConnections int
	// MaxInFlightBytes caps the request body bytes held at once across all
	// requests; a request that would go over it is answered
	// ServiceUnavailableException (HTTP 500, as Firehose answers it), and
	// the SDKs retry it. Bodies are read as they arrive, never allocated
	// from Content-Length. Keep it above the largest request a client
	// sends (a full 4 MiB PutRecordBatch is about 5.3 MiB of JSON), or that
	// request can never pass. Default 256 MiB.
	MaxInFlightBytes int64
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// BodyReadTimeout bounds reading a request's body, from the end of its
	// headers. Default 60s.
	BodyReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long. Default
	// 120s.
	IdleTimeout time.Duration
	// MaxMetricSeries caps the CloudWatch metric series kept (a metric name
	// and namespace with one set of dimensions); past it, the series
	// written to least recently is forgotten. Default 100,000.
	MaxMetricSeries int
}

// Defaults of Limits.
const (
	DefaultMaxConnections    = 1024
	DefaultMaxInFlightBytes  = 256 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyReadTimeout   = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxMetricSeries   = 100_000
)

// ServerLimits sets the server's limits; see Limits for each default.
func ServerLimits(l Limits) Option {
	return func(c *config) { c.limits = l }
}

func (l Limits) validate() error {
	if l.MaxConnections < 0 || l.MaxInFlightBytes < 0 || l.ReadHeaderTimeout < 0 || l.BodyReadTimeout < 0 ||
		l.IdleTimeout < 0 || l.MaxMetricSeries < 0 {
		return fmt.Errorf("limits must not be negative: %+v", l)
	}
	return nil
}

func (l Limits) withDefaults() Limits {
	if l.MaxConnections == 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.MaxInFlightBytes == 0 {
		l.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	if l.ReadHeaderTimeout == 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.BodyReadTimeout == 0 {
		l.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxMetricSeries == 0 {
		l.MaxMetricSeries = DefaultMaxMetricSeries
	}
	return l
}

// SyncWrites makes every acknowledged record survive a machine crash, not
// only a killed emulator: each request's spool write is fsynced before it
// is answered (concurrent requests share one fsync), and so are delivered
// objects and the stream definitions. Default off: acknowledged records are
// written to the spool file before the answer, which a killed process
// cannot lose, but a power loss can.
func SyncWrites() Option {
	return func(c *config) { c.syncWrites = true }
}

// serverLoad counts what the server holds for its clients.
type serverLoad struct {
	openConns      atomic.Int64
	activeRequests atomic.Int64
	bodyBytes      atomic.Int64
}

// Stats is a snapshot of the server's load, served at GET /_emulator/stats.
type Stats struct {
	// OpenConnections counts the client connections open now.
	OpenConnections int64 `json:"openConnections"`
	// RequestsInFlight counts the requests being served now.
	RequestsInFlight int64 `json:"requestsInFlight"`
	// RequestBytesHeld is the request body bytes read and held now.
	RequestBytesHeld int64 `json:"requestBytesHeld"`
}

// Stats returns the server's current load.
func (s *Server) Stats() Stats {
	return Stats{
		OpenConnections:  s.load.openConns.Load(),
		RequestsInFlight: s.load.activeRequests.Load(),
		RequestBytesHeld: s.load.bodyBytes.Load(),
	}
}

// errOverloaded: the request would take the held body bytes over
// MaxInFlightBytes.
var errOverloaded = errors.New("emulator: too many request bytes in flight")

// budgetedBody reads a request body against the in-flight byte budget and
// lifts the body read deadline once the body is read.
type budgetedBody struct {
	rc   io.ReadCloser
	load *serverLoad
	max  int64
	held int64
	done func()
}

func (b *budgetedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.held += int64(n)
		// Counted after the read, so a body is refused however it is cut
		// into reads (the last read of a body also reports io.EOF).
		if b.load.bodyBytes.Add(int64(n)) > b.max {
			return 0, errOverloaded
		}
	}
	// Lift the deadline only once the whole body is read: after a failed
	// read the server still drains the body, which must time out too.
	if errors.Is(err, io.EOF) && b.done != nil {
		b.done()
		b.done = nil
	}
	return n, err
}

func (b *budgetedBody) Close() error { return b.rc.Close() }

// release gives the body's bytes back to the budget once the handler is
// done with them.
func (b *budgetedBody) release() { b.load.bodyBytes.Add(-b.held) }

// limitRequest counts a request and puts its body under the limits. Call
// the returned function when the handler returns.
func (s *Server) limitRequest(w http.ResponseWriter, r *http.Request) func() {
	s.load.activeRequests.Add(1)
	rc := http.NewResponseController(w)
	// Not every ResponseWriter has a connection (httptest's has none).
	deadlineSet := rc.SetReadDeadline(time.Now().Add(s.limits.BodyReadTimeout)) == nil
	b := &budgetedBody{rc: r.Body, load: &s.load, max: s.limits.MaxInFlightBytes}
	if deadlineSet {
		b.done = func() { _ = rc.SetReadDeadline(time.Time{}) }
	}
	r.Body = b
	return func() {
		b.release()
		s.load.activeRequests.Add(-1)
	}
}

// limitListener caps the open connections of a listener.
type limitListener struct {
	net.Listener
	load *serverLoad
	max  int64
}

// refusal is the whole answer to a connection over MaxConnections.
var refusal = func() []byte {
	body := `{"__type":"ServiceUnavailableException","message":"` + messageServiceUnavailab + `"}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/x-amz-json-1.1\r\n" +
		"X-Amzn-Errortype: ServiceUnavailableException\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.load.openConns.Add(1) > l.max {
			l.load.openConns.Add(-1)
			// A fresh socket's send buffer takes the answer at once; the
			// deadline only guards against a peer that went away.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(refusal)
			_ = c.Close()
			continue
		}
		return &countedConn{Conn: c, load: l.load}, nil
	}
}

// countedConn gives its place back when closed, once.
type countedConn struct {
	net.Conn
	load *serverLoad
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.load.openConns.Add(-1) })
	return c.Conn.Close()
}
