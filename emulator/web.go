package emulator

import (
	"bytes"
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The web page: GET / shows the streams, their per-minute metrics, the
// delivered objects and the quota and fault settings. The page polls
// GET /_emulator/api/state (JSON) every two seconds. Everything it needs is
// embedded: no build step, no CDN.

//go:embed web
var webAssets embed.FS

const (
	webStatePath = webPathPrefix + "api/state"
	// webChartMinutes is how many minutes the charts show.
	webChartMinutes = 30
	// webMaxObjects is how many of the newest objects the page lists.
	webMaxObjects = 20
	// webPreviewBytes and webPreviewLines bound an object's preview.
	webPreviewBytes = 1024
	webPreviewLines = 4
)

func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/":
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		serveAsset(w, r, "web/index.html", "text/html; charset=utf-8")
	case webStatePath:
		body, err := json.Marshal(s.webState())
		if err != nil {
			http.Error(w, "could not encode the state", http.StatusInternalServerError)
			return
		}
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	case webPathPrefix + "app.js":
		serveAsset(w, r, "web/app.js", "text/javascript; charset=utf-8")
	case webPathPrefix + "style.css":
		serveAsset(w, r, "web/style.css", "text/css; charset=utf-8")
	default:
		http.NotFound(w, r)
	}
}

func serveAsset(w http.ResponseWriter, r *http.Request, name, contentType string) {
	data, err := fs.ReadFile(webAssets, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentType)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}

// webState is what /_emulator/api/state answers.
type webState struct {
	Now     time.Time     `json:"now"`
	DataDir string        `json:"dataDir"`
	Region  string        `json:"region"`
	Account string        `json:"account"`
	Quotas  webQuotas     `json:"quotas"`
	Faults  webFaults     `json:"faults"`
	Streams []webStream   `json:"streams"`
	Objects []webObject   `json:"objects"`
	Totals  webObjectsSum `json:"objectTotals"`
}

type webQuotas struct {
	Enabled           bool  `json:"enabled"`
	RecordsPerSecond  int   `json:"recordsPerSecond"`
	RequestsPerSecond int   `json:"requestsPerSecond"`
	BytesPerSecond    int64 `json:"bytesPerSecond"`
}

type webFaults struct {
	Seed             int64   `json:"seed"`
	RequestErrorRate float64 `json:"requestErrorRate"`
	RecordErrorRate  float64 `json:"recordErrorRate"`
	LostResponseRate float64 `json:"lostResponseRate"`
	LatencyMillis    float64 `json:"latencyMillis"`
	// Scripted are the faults of Control (or POST /_emulator/faults) not
	// yet used up, in the order they apply.
	Scripted []faultJSON `json:"scripted"`
}

type webStream struct {
	Name              string           `json:"name"`
	ARN               string           `json:"arn"`
	Status            string           `json:"status"`
	Bucket            string           `json:"bucket"`
	Prefix            string           `json:"prefix"`
	SizeInMBs         int              `json:"sizeInMBs"`
	IntervalInSeconds int              `json:"intervalInSeconds"`
	CreatedAt         time.Time        `json:"createdAt"`
	BufferedRecords   int              `json:"bufferedRecords"`
	Totals            map[string]int64 `json:"totals"`
	// Series holds per-minute sums, oldest first, for the minutes of
	// Minutes (unix seconds).
	Minutes []int64            `json:"minutes"`
	Series  map[string][]int64 `json:"series"`
}

type webObject struct {
	Bucket   string    `json:"bucket"`
	Key      string    `json:"key"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	Preview  []string  `json:"preview"`
}

type webObjectsSum struct {
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
}

// webCharted are the metrics the page charts per minute.
var webCharted = []string{"IncomingRecords", "IncomingBytes", "ThrottledRecords"}

// webTotaled are the metrics the page sums over the emulator's life.
var webTotaled = []string{"IncomingRecords", "IncomingBytes", "ThrottledRecords", "IncomingPutRequests",
	"DeliveryToS3.Records", "DeliveryToS3.Bytes", "DeliveryToS3.Success"}

func (s *Server) webState() webState {
	now := s.cfg.now().UTC()
	st := webState{Now: now, DataDir: s.cfg.dataDir, Region: s.cfg.region, Account: s.cfg.accountID}
	if !s.cfg.quotasOff {
		q := s.cfg.effectiveQuotas()
		st.Quotas = webQuotas{Enabled: true, RecordsPerSecond: q.RecordsPerSecond, RequestsPerSecond: q.RequestsPerSecond, BytesPerSecond: q.BytesPerSecond}
	}
	f := s.faults.cfg
	st.Faults = webFaults{Seed: f.Seed, RequestErrorRate: f.RequestErrorRate, RecordErrorRate: f.RecordErrorRate,
		LostResponseRate: f.LostResponseRate, LatencyMillis: float64(f.Latency.Microseconds()) / 1000,
		Scripted: []faultJSON{}}
	for _, sf := range s.PendingFaults() {
		st.Faults.Scripted = append(st.Faults.Scripted, sf.toJSON())
	}

	lastMinute := now.Truncate(time.Minute)
	firstMinute := lastMinute.Add(-(webChartMinutes - 1) * time.Minute)
	minutes := make([]int64, webChartMinutes)
	for i := range minutes {
		minutes[i] = firstMinute.Add(time.Duration(i) * time.Minute).Unix()
	}
	for _, stream := range s.streamList() {
		stream.mu.Lock()
		d := stream.dest
		ws := webStream{
			Name: stream.name, ARN: stream.arn, Status: s.statusLocked(stream, now), Bucket: d.bucket, Prefix: d.prefix,
			SizeInMBs: d.sizeInMBs, IntervalInSeconds: d.intervalInSeconds, CreatedAt: stream.createdAt,
			Totals: make(map[string]int64), Minutes: minutes, Series: make(map[string][]int64),
		}
		if stream.cur != nil {
			ws.BufferedRecords = stream.cur.count
		}
		stream.mu.Unlock()
		for _, name := range webTotaled {
			buckets, _ := s.metrics.query(namespaceFirehose, name, stream.dims, time.Unix(0, 0), now.Add(time.Minute), 60)
			var total float64
			for _, b := range buckets {
				total += b.agg.sum
			}
			ws.Totals[name] = int64(total)
		}
		for _, name := range webCharted {
			buckets, _ := s.metrics.query(namespaceFirehose, name, stream.dims, firstMinute, lastMinute.Add(time.Minute), 60)
			values := make([]int64, webChartMinutes)
			for _, b := range buckets {
				if i := int(b.start.Sub(firstMinute) / time.Minute); i >= 0 && i < webChartMinutes {
					values[i] = int64(b.agg.sum)
				}
			}
			ws.Series[name] = values
		}
		st.Streams = append(st.Streams, ws)
	}
	slices.SortFunc(st.Streams, func(a, b webStream) int { return strings.Compare(a.Name, b.Name) })
	if st.Streams == nil {
		st.Streams = []webStream{}
	}
	st.Objects, st.Totals = s.newestObjects(webMaxObjects)
	return st
}

// newestObjects returns the n newest delivered objects with a preview of
// their first lines, and the count and size of all of them.
func (s *Server) newestObjects(n int) ([]webObject, webObjectsSum) {
	type found struct {
		obj  webObject
		path string
	}
	var all []found
	var sum webObjectsSum
	for bucket := range s.buckets() {
		objects, _ := s.listBucket(bucket, "")
		for _, o := range objects {
			all = append(all, found{webObject{Bucket: bucket, Key: o.key, Size: o.size, Modified: o.modTime.UTC()}, o.path})
			sum.Count++
			sum.Bytes += o.size
		}
	}
	slices.SortFunc(all, func(a, b found) int {
		if c := b.obj.Modified.Compare(a.obj.Modified); c != 0 {
			return c
		}
		return strings.Compare(b.obj.Key, a.obj.Key) // keys of one stream sort by time
	})
	out := make([]webObject, 0, min(n, len(all)))
	for _, f := range all[:min(n, len(all))] {
		f.obj.Preview = preview(f.path)
		out = append(out, f.obj)
	}
	return out, sum
}

// preview returns the first lines of a file, each cut short and with bytes
// that are not valid UTF-8 replaced.
func preview(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, webPreviewBytes)
	k, _ := io.ReadFull(f, buf)
	buf = buf[:k]
	var lines []string
	for len(lines) < webPreviewLines && len(buf) > 0 {
		line, rest, _ := bytes.Cut(buf, []byte("\n"))
		lines = append(lines, strings.ToValidUTF8(string(line), "\uFFFD"))
		buf = rest
	}
	for i, l := range lines {
		if utf8.RuneCountInString(l) > 200 {
			lines[i] = string([]rune(l)[:200]) + "…"
		}
	}
	return lines
}
