package emulator

import (
	"container/list"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

const namespaceFirehose = "AWS/Firehose"

// Units of the metrics the emulator emits.
const (
	unitCount        = "Count"
	unitBytes        = "Bytes"
	unitMilliseconds = "Milliseconds"
	unitSeconds      = "Seconds"
)

// dimension is a CloudWatch dimension; its field names are the wire names
// in both AWS JSON 1.0 and rpc-v2-cbor.
type dimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// sample is one value of one metric.
type sample struct {
	name  string
	value float64
	unit  string
}

// aggregate is CloudWatch's statistic set: what a minute bucket keeps.
type aggregate struct {
	sum, count, min, max float64
}

func (a *aggregate) add(v, count float64) {
	if a.count == 0 {
		a.min, a.max = v, v
	} else {
		a.min = math.Min(a.min, v)
		a.max = math.Max(a.max, v)
	}
	a.sum += v * count
	a.count += count
}

func (a *aggregate) merge(b aggregate) {
	if b.count == 0 {
		return
	}
	if a.count == 0 {
		*a = b
		return
	}
	a.sum += b.sum
	a.count += b.count
	a.min = math.Min(a.min, b.min)
	a.max = math.Max(a.max, b.max)
}

// statistic returns the named statistic and whether the name is known.
func (a aggregate) statistic(name string) (float64, bool) {
	switch name {
	case "Sum":
		return a.sum, true
	case "SampleCount":
		return a.count, true
	case "Average":
		if a.count == 0 {
			return 0, true
		}
		return a.sum / a.count, true
	case "Minimum":
		return a.min, true
	case "Maximum":
		return a.max, true
	}
	return 0, false
}

type seriesKey struct {
	namespace, name, dims string
}

type series struct {
	namespace string
	name      string
	dims      []dimension // sorted by name
	unit      string
	minutes   map[int64]*aggregate // unix second of the minute's start
	recent    *list.Element        // its place in metricStore.byUse
}

type pendingSample struct {
	visibleAt time.Time
	namespace string
	dims      []dimension
	at        time.Time
	name      string
	unit      string
	agg       aggregate
}

// metricStore keeps per-minute aggregates per metric; with a delay, samples
// wait in a queue until they are due.
type metricStore struct {
	now   func() time.Time
	delay time.Duration

	mu      sync.Mutex
	series  map[seriesKey]*series
	pending []pendingSample

	// maxSeries caps len(series) (0: no cap); byUse orders the series
	// from least to most recently written (values are seriesKey), so the
	// one to forget is at the front.
	maxSeries int
	byUse     list.List
}

func newMetricStore(now func() time.Time, delay time.Duration) *metricStore {
	return &metricStore{now: now, delay: delay, series: make(map[seriesKey]*series)}
}

func canonicalDims(dims []dimension) ([]dimension, string) {
	sorted := slices.Clone(dims)
	slices.SortFunc(sorted, func(a, b dimension) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	for _, d := range sorted {
		b.WriteString(d.Name)
		b.WriteByte(0)
		b.WriteString(d.Value)
		b.WriteByte(0)
	}
	return sorted, b.String()
}

// put records samples of namespace/dims taken at time at.
func (m *metricStore) put(namespace string, dims []dimension, at time.Time, samples ...sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range samples {
		var agg aggregate
		agg.add(s.value, 1)
		m.putLocked(namespace, dims, at, s.name, s.unit, agg)
	}
}

// putAggregate records a statistic set (PutMetricData StatisticValues,
// Values/Counts).
func (m *metricStore) putAggregate(namespace string, dims []dimension, at time.Time, name, unit string, agg aggregate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.putLocked(namespace, dims, at, name, unit, agg)
}

func (m *metricStore) putLocked(namespace string, dims []dimension, at time.Time, name, unit string, agg aggregate) {
	if m.delay > 0 {
		m.pending = append(m.pending, pendingSample{
			visibleAt: m.now().Add(m.delay), namespace: namespace, dims: dims, at: at, name: name, unit: unit, agg: agg,
		})
		return
	}
	m.storeLocked(namespace, dims, at, name, unit, agg)
}

func (m *metricStore) storeLocked(namespace string, dims []dimension, at time.Time, name, unit string, agg aggregate) {
	sorted, dimKey := canonicalDims(dims)
	key := seriesKey{namespace: namespace, name: name, dims: dimKey}
	s, ok := m.series[key]
	if !ok {
		if m.maxSeries > 0 && len(m.series) >= m.maxSeries {
			oldest := m.byUse.Front()
			delete(m.series, m.byUse.Remove(oldest).(seriesKey))
		}
		s = &series{namespace: namespace, name: name, dims: sorted, unit: unit, minutes: make(map[int64]*aggregate)}
		s.recent = m.byUse.PushBack(key)
		m.series[key] = s
	} else {
		m.byUse.MoveToBack(s.recent)
	}
	minute := at.Truncate(time.Minute).Unix()
	b, ok := s.minutes[minute]
	if !ok {
		b = &aggregate{}
		s.minutes[minute] = b
	}
	b.merge(agg)
}

// releaseDueLocked moves samples whose delay has passed into the store.
func (m *metricStore) releaseDueLocked() {
	if len(m.pending) == 0 {
		return
	}
	now := m.now()
	n := 0
	for n < len(m.pending) && !m.pending[n].visibleAt.After(now) {
		p := m.pending[n]
		m.storeLocked(p.namespace, p.dims, p.at, p.name, p.unit, p.agg)
		n++
	}
	m.pending = slices.Delete(m.pending, 0, n)
}

// periodBucket is one aggregated period of a query result.
type periodBucket struct {
	start time.Time
	agg   aggregate
}

// query aggregates the minute buckets of one metric (dimensions must match
// exactly, as in CloudWatch) into period buckets aligned to multiples of
// period since the epoch, for minutes that start in [start, end) after
// rounding start down to its minute. Buckets come oldest first.
func (m *metricStore) query(namespace, name string, dims []dimension, start, end time.Time, period int64) ([]periodBucket, string) {
	if period < 60 {
		period = 60 // the store keeps minutes: standard resolution
	}
	_, dimKey := canonicalDims(dims)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releaseDueLocked()
	s, ok := m.series[seriesKey{namespace: namespace, name: name, dims: dimKey}]
	if !ok {
		return nil, ""
	}
	from := start.Truncate(time.Minute).Unix()
	to := end.Unix()
	byPeriod := make(map[int64]*aggregate)
	for minute, agg := range s.minutes {
		if minute < from || minute >= to {
			continue
		}
		p := minute - ((minute%period)+period)%period
		b, ok := byPeriod[p]
		if !ok {
			b = &aggregate{}
			byPeriod[p] = b
		}
		b.merge(*agg)
	}
	out := make([]periodBucket, 0, len(byPeriod))
	for p, agg := range byPeriod {
		out = append(out, periodBucket{start: time.Unix(p, 0).UTC(), agg: *agg})
	}
	slices.SortFunc(out, func(a, b periodBucket) int { return a.start.Compare(b.start) })
	return out, s.unit
}

// metricID names one metric for ListMetrics.
type metricID struct {
	namespace string
	name      string
	dims      []dimension
}

// dimensionFilter is ListMetrics' filter: a name and an optional value.
type dimensionFilter struct {
	Name  string  `json:"Name"`
	Value *string `json:"Value,omitempty"`
}

// list returns the metrics matching the filters (empty strings match all),
// sorted by namespace, name and dimensions.
func (m *metricStore) list(namespace, name string, filters []dimensionFilter) []metricID {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releaseDueLocked()
	var out []metricID
	for key, s := range m.series {
		if namespace != "" && key.namespace != namespace {
			continue
		}
		if name != "" && key.name != name {
			continue
		}
		if !matchesFilters(s.dims, filters) {
			continue
		}
		out = append(out, metricID{namespace: s.namespace, name: s.name, dims: s.dims})
	}
	slices.SortFunc(out, func(a, b metricID) int {
		if c := strings.Compare(a.namespace, b.namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		_, ka := canonicalDims(a.dims)
		_, kb := canonicalDims(b.dims)
		return strings.Compare(ka, kb)
	})
	return out
}

func matchesFilters(dims []dimension, filters []dimensionFilter) bool {
	for _, f := range filters {
		found := false
		for _, d := range dims {
			if d.Name == f.Name && (f.Value == nil || *f.Value == d.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
