package emulator

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// cloudwatchClients returns the SDK's default (rpc-v2-cbor) client, one
// speaking AWS JSON 1.0, as botocore does, and one speaking awsQuery, as
// older SDKs do.
func cloudwatchClients(url string) map[string]*cloudwatch.Client {
	return map[string]*cloudwatch.Client{
		"rpc-v2-cbor": cloudwatchClient(url),
		"json-1.0": cloudwatch.NewFromConfig(awsConfig(), func(o *cloudwatch.Options) {
			o.BaseEndpoint = aws.String(url)
			o.RetryMaxAttempts = 1
			o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801)
		}),
		"query": cloudwatch.NewFromConfig(awsConfig(), func(o *cloudwatch.Options) {
			o.BaseEndpoint = aws.String(url)
			o.RetryMaxAttempts = 1
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}),
	}
}

func streamDims(name string) []cwtypes.Dimension {
	return []cwtypes.Dimension{{Name: aws.String("DeliveryStreamName"), Value: aws.String(name)}}
}

func TestCloudWatchReadsFirehoseMetrics(t *testing.T) {
	_, url := startServer(t)
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "m", "bkt", "", 5, 300)
	const batches, perBatch = 3, 200
	for range batches {
		if _, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("m"), Records: batchOf(make([]string, perBatch)...)}); err != nil {
			t.Fatalf("PutRecordBatch: %v", err)
		}
	}
	if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("m"), Record: &types.Record{Data: []byte("abcd")}}); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	const wantRecords = batches*perBatch + 1
	end := time.Now().Add(time.Minute)
	start := end.Add(-10 * time.Minute)

	for protocol, cw := range cloudwatchClients(url) {
		t.Run(protocol, func(t *testing.T) {
			out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(start), EndTime: aws.Time(end),
				MetricDataQueries: []cwtypes.MetricDataQuery{
					{Id: aws.String("records"), MetricStat: &cwtypes.MetricStat{
						Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Firehose"), MetricName: aws.String("IncomingRecords"), Dimensions: streamDims("m")},
						Period: aws.Int32(300), Stat: aws.String("Sum")}},
					{Id: aws.String("requests"), Label: aws.String("reqs"), MetricStat: &cwtypes.MetricStat{
						Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Firehose"), MetricName: aws.String("IncomingPutRequests"), Dimensions: streamDims("m")},
						Period: aws.Int32(60), Stat: aws.String("SampleCount")}},
					{Id: aws.String("bytes"), MetricStat: &cwtypes.MetricStat{
						Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Firehose"), MetricName: aws.String("PutRecord.Bytes"), Dimensions: streamDims("m")},
						Period: aws.Int32(60), Stat: aws.String("Maximum")}},
					{Id: aws.String("other"), MetricStat: &cwtypes.MetricStat{
						Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Firehose"), MetricName: aws.String("IncomingRecords"), Dimensions: streamDims("not-there")},
						Period: aws.Int32(60), Stat: aws.String("Sum")}},
				},
			})
			if err != nil {
				t.Fatalf("GetMetricData: %v", err)
			}
			sums := map[string]float64{}
			for _, r := range out.MetricDataResults {
				if r.StatusCode != cwtypes.StatusCodeComplete {
					t.Errorf("%s: StatusCode %s", aws.ToString(r.Id), r.StatusCode)
				}
				if len(r.Timestamps) != len(r.Values) {
					t.Errorf("%s: %d timestamps, %d values", aws.ToString(r.Id), len(r.Timestamps), len(r.Values))
				}
				for _, v := range r.Values {
					sums[aws.ToString(r.Id)] += v
				}
			}
			if len(out.MetricDataResults) != 4 {
				t.Fatalf("%d results, want 4", len(out.MetricDataResults))
			}
			if got := aws.ToString(out.MetricDataResults[1].Label); got != "reqs" {
				t.Errorf("label = %q, want reqs", got)
			}
			if got := aws.ToString(out.MetricDataResults[0].Label); got != "IncomingRecords" {
				t.Errorf("default label = %q, want IncomingRecords", got)
			}
			want := map[string]float64{"records": wantRecords, "requests": batches + 1, "bytes": 4, "other": 0}
			for id, w := range want {
				if sums[id] != w {
					t.Errorf("%s = %v, want %v", id, sums[id], w)
				}
			}

			stats, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
				Namespace: aws.String("AWS/Firehose"), MetricName: aws.String("IncomingRecords"), Dimensions: streamDims("m"),
				StartTime: aws.Time(start), EndTime: aws.Time(end), Period: aws.Int32(60),
				Statistics: []cwtypes.Statistic{cwtypes.StatisticSum, cwtypes.StatisticMaximum},
			})
			if err != nil {
				t.Fatalf("GetMetricStatistics: %v", err)
			}
			var sum, maxV float64
			for _, dp := range stats.Datapoints {
				sum += aws.ToFloat64(dp.Sum)
				maxV = max(maxV, aws.ToFloat64(dp.Maximum))
				if dp.Average != nil {
					t.Error("Average returned without being asked for")
				}
			}
			if sum != wantRecords || maxV != perBatch {
				t.Errorf("GetMetricStatistics sum %v max %v, want %d and %d", sum, maxV, wantRecords, perBatch)
			}

			list, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Firehose"), MetricName: aws.String("IncomingRecords")})
			if err != nil {
				t.Fatalf("ListMetrics: %v", err)
			}
			if len(list.Metrics) != 1 || aws.ToString(list.Metrics[0].Dimensions[0].Value) != "m" {
				t.Errorf("ListMetrics = %+v", list.Metrics)
			}
		})
	}
}

func TestCloudWatchPutMetricDataAndErrors(t *testing.T) {
	_, url := startServer(t)
	ctx := ctxTimeout(t)
	now := time.Now()
	for protocol, cw := range cloudwatchClients(url) {
		t.Run(protocol, func(t *testing.T) {
			ns := "Custom/" + protocol
			_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
				Namespace: aws.String(ns),
				MetricData: []cwtypes.MetricDatum{
					{MetricName: aws.String("Latency"), Value: aws.Float64(10), Unit: cwtypes.StandardUnitMilliseconds},
					{MetricName: aws.String("Latency"), Values: []float64{20, 30}, Counts: []float64{1, 2}, Timestamp: aws.Time(now)},
					{MetricName: aws.String("Latency"), StatisticValues: &cwtypes.StatisticSet{SampleCount: aws.Float64(2), Sum: aws.Float64(10), Minimum: aws.Float64(1), Maximum: aws.Float64(9)}},
				},
			})
			if err != nil {
				t.Fatalf("PutMetricData: %v", err)
			}
			out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
				Namespace: aws.String(ns), MetricName: aws.String("Latency"),
				StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(5 * time.Minute)), Period: aws.Int32(600),
				Statistics: []cwtypes.Statistic{cwtypes.StatisticSum, cwtypes.StatisticSampleCount, cwtypes.StatisticMinimum, cwtypes.StatisticMaximum, cwtypes.StatisticAverage},
			})
			if err != nil {
				t.Fatalf("GetMetricStatistics: %v", err)
			}
			var sum, count float64
			minV, maxV := 1e9, -1e9
			for _, dp := range out.Datapoints {
				sum += aws.ToFloat64(dp.Sum)
				count += aws.ToFloat64(dp.SampleCount)
				minV = min(minV, aws.ToFloat64(dp.Minimum))
				maxV = max(maxV, aws.ToFloat64(dp.Maximum))
			}
			// 10 + (20 + 30*2) + 10 = 100 over 1 + 3 + 2 samples.
			if sum != 100 || count != 6 || minV != 1 || maxV != 30 {
				t.Errorf("sum %v count %v min %v max %v, want 100 6 1 30", sum, count, minV, maxV)
			}

			_, err = cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
				Namespace:  aws.String("AWS/Firehose"),
				MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("IncomingRecords"), Value: aws.Float64(1)}},
			})
			var ipv *cwtypes.InvalidParameterValueException
			if !errors.As(err, &ipv) {
				t.Fatalf("PutMetricData to AWS/ = %v, want InvalidParameterValueException", err)
			}
			// The SDK's awsQuery deserializer finds the type by the query code
			// but reports the shape name; query_test.go checks the raw XML.
			if protocol != "query" && ipv.ErrorCode() != "InvalidParameterValue" {
				t.Errorf("ErrorCode = %s, want the query code InvalidParameterValue", ipv.ErrorCode())
			}

			_, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Minute)),
				MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("a"), MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String("Latency")}, Period: aws.Int32(60), Stat: aws.String("Sum")}}},
			})
			if !errors.As(err, &ipv) {
				t.Errorf("GetMetricData with EndTime before StartTime = %v, want InvalidParameterValueException", err)
			}
		})
	}
}

func TestMetricsDelayHidesFreshDatapoints(t *testing.T) {
	clock := fixedTime
	now := func() time.Time { return clock }
	m := newMetricStore(now, 3*time.Minute)
	dims := []dimension{{Name: "DeliveryStreamName", Value: "s"}}
	m.put(namespaceFirehose, dims, clock, sample{name: "IncomingRecords", value: 7, unit: unitCount})
	tests := []struct {
		name  string
		after time.Duration
		want  float64
	}{
		{name: "at once", after: 0, want: 0},
		{name: "before the delay", after: 2*time.Minute + 59*time.Second, want: 0},
		{name: "after the delay", after: 3 * time.Minute, want: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock = fixedTime.Add(tt.after)
			buckets, _ := m.query(namespaceFirehose, "IncomingRecords", dims, fixedTime.Add(-time.Hour), fixedTime.Add(time.Hour), 3600)
			var got float64
			for _, b := range buckets {
				got += b.agg.sum
			}
			if got != tt.want {
				t.Errorf("sum = %v, want %v", got, tt.want)
			}
		})
	}
}
