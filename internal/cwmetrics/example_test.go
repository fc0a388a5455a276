package cwmetrics_test

import (
	"os"
	"time"

	"github.com/firehose-tools/firehose/internal/cwmetrics"
)

func ExampleRender() {
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	report := cwmetrics.Report{Stream: "alerts", Start: t0, End: t0.Add(15 * time.Minute)}
	for _, name := range cwmetrics.Metrics {
		s := cwmetrics.Series{Name: name, Stat: cwmetrics.StatFor(name)}
		switch name {
		case "IncomingRecords":
			s.Timestamps, s.Values, s.Total, s.HasData = []time.Time{t0, t0.Add(time.Minute)}, []float64{100, 5450}, 5550, true
		case "IncomingBytes":
			s.Timestamps, s.Values, s.Total, s.HasData = []time.Time{t0}, []float64{499500}, 499500, true
		}
		report.Series = append(report.Series, s)
	}
	client := cwmetrics.ClientSide{RecordsSent: 5550, PutRecordCalls: 100, PutRecordBatchCalls: 11, Known: true}
	_ = cwmetrics.Render(os.Stdout, report, client)
	// Output:
	// CloudWatch metrics for delivery stream alerts, 2025-03-04T10:00:00Z to 2025-03-04T10:15:00Z, per minute
	// METRIC                STAT     TOTAL   DATAPOINTS  CHART 10:00-10:15 UTC
	// IncomingBytes         Sum      499500  1           █▁▁▁▁▁▁▁▁▁▁▁▁▁▁
	// IncomingRecords       Sum      5550    2           ▂█▁▁▁▁▁▁▁▁▁▁▁▁▁
	// IncomingPutRequests   Sum      -       0           no datapoints yet
	// ThrottledRecords      Sum      -       0           no datapoints yet
	// DeliveryToS3.Records  Sum      -       0           no datapoints yet
	// DeliveryToS3.Bytes    Sum      -       0           no datapoints yet
	// DeliveryToS3.Success  Average  -       0           no datapoints yet
	//
	// Per minute (UTC; periods without datapoints left out)
	//    TIME  IN BYTES  IN RECORDS  PUT REQUESTS  THROTTLED  S3 RECORDS  S3 BYTES  S3 SUCCESS
	//   10:00    499500         100             -          -           -         -           -
	//   10:01         -        5450             -          -           -         -           -
	//
	// 5 of 7 metrics: no datapoints yet (CloudWatch lags by a few minutes; try `firehose metrics --stream alerts --since 15m` later)
	//
	// Client-side (from API responses)
	//   Records sent          5550
	//   PutRecord calls       100
	//   PutRecordBatch calls  11
	//   FailedPutCount        0  (sum over PutRecordBatch responses; not a CloudWatch metric)
}
