package emulator

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
)

type cwMetric struct {
	Namespace  string      `json:"Namespace,omitempty"`
	MetricName string      `json:"MetricName,omitempty"`
	Dimensions []dimension `json:"Dimensions"`
}

type cwMetricStat struct {
	Metric *cwMetric `json:"Metric,omitempty"`
	Period int64     `json:"Period,omitempty"`
	Stat   string    `json:"Stat,omitempty"`
	Unit   string    `json:"Unit,omitempty"`
}

type cwMetricDataQuery struct {
	ID         string        `json:"Id"`
	MetricStat *cwMetricStat `json:"MetricStat,omitempty"`
	Expression string        `json:"Expression,omitempty"`
	Label      string        `json:"Label,omitempty"`
	ReturnData *bool         `json:"ReturnData,omitempty"`
	Period     int64         `json:"Period,omitempty"`
}

type getMetricDataInput struct {
	MetricDataQueries []cwMetricDataQuery `json:"MetricDataQueries"`
	StartTime         *cwTime             `json:"StartTime"`
	EndTime           *cwTime             `json:"EndTime"`
	ScanBy            string              `json:"ScanBy,omitempty"`
	MaxDatapoints     int64               `json:"MaxDatapoints,omitempty"`
}

type cwMessage struct {
	Code  string `json:"Code,omitempty"`
	Value string `json:"Value,omitempty"`
}

type metricDataResult struct {
	ID         string      `json:"Id"`
	Label      string      `json:"Label"`
	Timestamps []cwTime    `json:"Timestamps"`
	Values     []float64   `json:"Values"`
	StatusCode string      `json:"StatusCode"`
	Messages   []cwMessage `json:"Messages"`
}

type getMetricDataOutput struct {
	MetricDataResults []metricDataResult `json:"MetricDataResults"`
	Messages          []cwMessage        `json:"Messages"`
}

type getMetricStatisticsInput struct {
	Namespace          string      `json:"Namespace"`
	MetricName         string      `json:"MetricName"`
	Dimensions         []dimension `json:"Dimensions"`
	StartTime          *cwTime     `json:"StartTime"`
	EndTime            *cwTime     `json:"EndTime"`
	Period             int64       `json:"Period"`
	Statistics         []string    `json:"Statistics"`
	ExtendedStatistics []string    `json:"ExtendedStatistics"`
	Unit               string      `json:"Unit,omitempty"`
}

type datapoint struct {
	Timestamp   cwTime   `json:"Timestamp"`
	SampleCount *float64 `json:"SampleCount,omitempty"`
	Average     *float64 `json:"Average,omitempty"`
	Sum         *float64 `json:"Sum,omitempty"`
	Minimum     *float64 `json:"Minimum,omitempty"`
	Maximum     *float64 `json:"Maximum,omitempty"`
	Unit        string   `json:"Unit,omitempty"`
}

type getMetricStatisticsOutput struct {
	Label      string      `json:"Label"`
	Datapoints []datapoint `json:"Datapoints"`
}

type listMetricsInput struct {
	Namespace  string            `json:"Namespace,omitempty"`
	MetricName string            `json:"MetricName,omitempty"`
	Dimensions []dimensionFilter `json:"Dimensions"`
}

type listMetricsOutput struct {
	Metrics []cwMetric `json:"Metrics"`
}

type statisticSet struct {
	SampleCount float64 `json:"SampleCount"`
	Sum         float64 `json:"Sum"`
	Minimum     float64 `json:"Minimum"`
	Maximum     float64 `json:"Maximum"`
}

type metricDatum struct {
	MetricName      string        `json:"MetricName"`
	Dimensions      []dimension   `json:"Dimensions"`
	Timestamp       *cwTime       `json:"Timestamp,omitempty"`
	Value           *float64      `json:"Value,omitempty"`
	StatisticValues *statisticSet `json:"StatisticValues,omitempty"`
	Values          []float64     `json:"Values"`
	Counts          []float64     `json:"Counts"`
	Unit            string        `json:"Unit,omitempty"`
}

type putMetricDataInput struct {
	Namespace  string        `json:"Namespace"`
	MetricData []metricDatum `json:"MetricData"`
}

func (s *Server) serveCloudWatch(w http.ResponseWriter, r *http.Request, op string, codec cwCodec) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		codec.writeError(w, cwInvalidParameter("could not read the request body"))
		return
	}
	var out any
	switch op {
	case "GetMetricData":
		var in getMetricDataInput
		if err = codec.decode(body, &in); err == nil {
			out, err = s.getMetricData(in)
		}
	case "GetMetricStatistics":
		var in getMetricStatisticsInput
		if err = codec.decode(body, &in); err == nil {
			out, err = s.getMetricStatistics(in)
		}
	case "ListMetrics":
		var in listMetricsInput
		if err = codec.decode(body, &in); err == nil {
			out, err = s.listMetrics(in)
		}
	case "PutMetricData":
		var in putMetricDataInput
		if err = codec.decode(body, &in); err == nil {
			out, err = s.putMetricData(in)
		}
	default:
		codec.writeError(w, &cwError{shape: "UnknownOperationException", queryCode: "UnknownOperation",
			message: "the emulator does not implement CloudWatch operation " + op, status: http.StatusBadRequest, sender: true})
		return
	}
	if err != nil {
		var ce *cwError
		if !errors.As(err, &ce) {
			ce = cwInvalidParameter("could not decode the request: " + err.Error())
		}
		s.log.Debug("emulator: cloudwatch error", slog.String("op", op), slog.String("code", ce.queryCode), slog.String("message", ce.message))
		codec.writeError(w, ce)
		return
	}
	if err := codec.write(w, out); err != nil {
		s.log.Error("emulator: cloudwatch response", slog.String("op", op), slog.Any("error", err))
		codec.writeError(w, cwInternal("could not encode the response"))
	}
}

var queryIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func checkTimeRange(start, end *cwTime) error {
	if start == nil {
		return cwMissingParameter("The parameter StartTime is required.")
	}
	if end == nil {
		return cwMissingParameter("The parameter EndTime is required.")
	}
	if !start.Before(end.Time) {
		return cwInvalidParameter("The parameter StartTime must be less than the parameter EndTime.")
	}
	return nil
}

func checkPeriod(period int64, field string) error {
	switch {
	case period <= 0:
		return cwInvalidParameter(fmt.Sprintf("The parameter %s must be greater than 0.", field))
	case period == 1 || period == 5 || period == 10 || period == 30 || period%60 == 0:
		return nil
	}
	return cwInvalidParameter(fmt.Sprintf("The parameter %s must be 1, 5, 10, 30, or a multiple of 60.", field))
}

func (s *Server) getMetricData(in getMetricDataInput) (*getMetricDataOutput, error) {
	if len(in.MetricDataQueries) == 0 {
		return nil, cwMissingParameter("The parameter MetricDataQueries is required.")
	}
	if len(in.MetricDataQueries) > 500 {
		return nil, cwInvalidParameter("The collection MetricDataQueries must not have a size greater than 500.")
	}
	if err := checkTimeRange(in.StartTime, in.EndTime); err != nil {
		return nil, err
	}
	ascending := false
	switch in.ScanBy {
	case "", "TimestampDescending":
	case "TimestampAscending":
		ascending = true
	default:
		return nil, cwInvalidParameter(fmt.Sprintf("The value %s for parameter ScanBy is invalid.", in.ScanBy))
	}
	out := &getMetricDataOutput{MetricDataResults: []metricDataResult{}, Messages: []cwMessage{}}
	for i, q := range in.MetricDataQueries {
		field := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		if !queryIDPattern.MatchString(q.ID) {
			return nil, cwInvalidParameter(fmt.Sprintf("The value %s for parameter %s.Id is invalid: it must start with a lowercase letter and contain only letters, digits and underscores.", q.ID, field))
		}
		if q.Expression != "" {
			return nil, cwInvalidParameter(fmt.Sprintf("The emulator does not evaluate metric math: %s.Expression is not supported.", field))
		}
		if q.MetricStat == nil || q.MetricStat.Metric == nil {
			return nil, cwInvalidParameterCombinationMissing(field)
		}
		ms := q.MetricStat
		if err := checkPeriod(ms.Period, field+".MetricStat.Period"); err != nil {
			return nil, err
		}
		if _, ok := (aggregate{}).statistic(ms.Stat); !ok {
			return nil, cwInvalidParameter(fmt.Sprintf("The value %s for parameter %s.MetricStat.Stat is invalid: the emulator supports Sum, Average, Minimum, Maximum and SampleCount.", ms.Stat, field))
		}
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		buckets, _ := s.metrics.query(ms.Metric.Namespace, ms.Metric.MetricName, ms.Metric.Dimensions, in.StartTime.Time, in.EndTime.Time, ms.Period)
		res := metricDataResult{ID: q.ID, Label: q.Label, StatusCode: "Complete",
			Timestamps: make([]cwTime, 0, len(buckets)), Values: make([]float64, 0, len(buckets)), Messages: []cwMessage{}}
		if res.Label == "" {
			res.Label = ms.Metric.MetricName
		}
		for j := range buckets {
			b := buckets[len(buckets)-1-j]
			if ascending {
				b = buckets[j]
			}
			v, _ := b.agg.statistic(ms.Stat)
			res.Timestamps = append(res.Timestamps, cwTime{b.start})
			res.Values = append(res.Values, v)
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	return out, nil
}

func cwInvalidParameterCombinationMissing(field string) *cwError {
	return cwInvalidCombination(fmt.Sprintf("The parameters %s.MetricStat and %s.Expression are mutually exclusive and you must specify one of them.", field, field))
}

var knownStatistics = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

func (s *Server) getMetricStatistics(in getMetricStatisticsInput) (*getMetricStatisticsOutput, error) {
	if in.Namespace == "" {
		return nil, cwMissingParameter("The parameter Namespace is required.")
	}
	if in.MetricName == "" {
		return nil, cwMissingParameter("The parameter MetricName is required.")
	}
	if err := checkTimeRange(in.StartTime, in.EndTime); err != nil {
		return nil, err
	}
	if err := checkPeriod(in.Period, "Period"); err != nil {
		return nil, err
	}
	if len(in.ExtendedStatistics) > 0 {
		return nil, cwInvalidParameter("The emulator does not compute ExtendedStatistics (percentiles).")
	}
	if len(in.Statistics) == 0 {
		return nil, cwInvalidCombination("Must specify either Statistics or ExtendedStatistics.")
	}
	for _, st := range in.Statistics {
		if _, ok := (aggregate{}).statistic(st); !ok {
			return nil, cwInvalidParameter(fmt.Sprintf("The value %s for parameter Statistics is invalid: use %s.", st, strings.Join(knownStatistics, ", ")))
		}
	}
	buckets, unit := s.metrics.query(in.Namespace, in.MetricName, in.Dimensions, in.StartTime.Time, in.EndTime.Time, in.Period)
	if unit == "" {
		unit = "None"
	}
	out := &getMetricStatisticsOutput{Label: in.MetricName, Datapoints: make([]datapoint, 0, len(buckets))}
	for _, b := range buckets {
		dp := datapoint{Timestamp: cwTime{b.start}, Unit: unit}
		for _, st := range in.Statistics {
			v, _ := b.agg.statistic(st)
			switch st {
			case "SampleCount":
				dp.SampleCount = &v
			case "Average":
				dp.Average = &v
			case "Sum":
				dp.Sum = &v
			case "Minimum":
				dp.Minimum = &v
			case "Maximum":
				dp.Maximum = &v
			}
		}
		out.Datapoints = append(out.Datapoints, dp)
	}
	return out, nil
}

func (s *Server) listMetrics(in listMetricsInput) (*listMetricsOutput, error) {
	ids := s.metrics.list(in.Namespace, in.MetricName, in.Dimensions)
	out := &listMetricsOutput{Metrics: make([]cwMetric, 0, len(ids))}
	for _, id := range ids {
		dims := id.dims
		if dims == nil {
			dims = []dimension{}
		}
		out.Metrics = append(out.Metrics, cwMetric{Namespace: id.namespace, MetricName: id.name, Dimensions: dims})
	}
	return out, nil
}

func (s *Server) putMetricData(in putMetricDataInput) (struct{}, error) {
	if in.Namespace == "" {
		return struct{}{}, cwMissingParameter("The parameter Namespace is required.")
	}
	if strings.HasPrefix(in.Namespace, "AWS/") {
		return struct{}{}, cwInvalidParameter(fmt.Sprintf("The value %s for parameter Namespace is invalid.", in.Namespace))
	}
	if len(in.MetricData) == 0 {
		return struct{}{}, cwMissingParameter("The parameter MetricData is required.")
	}
	if len(in.MetricData) > 1000 {
		return struct{}{}, cwInvalidParameter("The collection MetricData must not have a size greater than 1000.")
	}
	now := s.cfg.now()
	type prepared struct {
		d   metricDatum
		at  time.Time
		agg aggregate
	}
	all := make([]prepared, 0, len(in.MetricData))
	for i, d := range in.MetricData {
		field := fmt.Sprintf("MetricData.member.%d", i+1)
		if d.MetricName == "" {
			return struct{}{}, cwMissingParameter(fmt.Sprintf("The parameter %s.MetricName is required.", field))
		}
		var agg aggregate
		kinds := 0
		if d.Value != nil {
			kinds++
			agg.add(*d.Value, 1)
		}
		if sv := d.StatisticValues; sv != nil {
			kinds++
			agg.merge(aggregate{sum: sv.Sum, count: sv.SampleCount, min: sv.Minimum, max: sv.Maximum})
		}
		if len(d.Values) > 0 {
			kinds++
			if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
				return struct{}{}, cwInvalidParameter(fmt.Sprintf("The parameters %s.Values and %s.Counts must be of the same size.", field, field))
			}
			for j, v := range d.Values {
				c := 1.0
				if len(d.Counts) > 0 {
					c = d.Counts[j]
				}
				agg.add(v, c)
			}
		}
		if kinds != 1 {
			return struct{}{}, cwInvalidCombination(fmt.Sprintf("The parameters %s.Value, %s.StatisticValues and %s.Values are mutually exclusive and you must specify one of them.", field, field, field))
		}
		at := now
		if d.Timestamp != nil {
			at = d.Timestamp.Time
		}
		all = append(all, prepared{d: d, at: at, agg: agg})
	}
	for _, p := range all {
		unit := p.d.Unit
		if unit == "" {
			unit = "None"
		}
		s.metrics.putAggregate(in.Namespace, p.d.Dimensions, p.at, p.d.MetricName, unit, p.agg)
	}
	return struct{}{}, nil
}
