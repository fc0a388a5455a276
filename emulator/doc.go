// Package emulator is a faithful local Amazon Data Firehose endpoint, with
// the CloudWatch metrics and the S3 reads that go with it, for tests and for
// running without an AWS account.
//
// One Server answers, on one address, every client that can be pointed at
// an endpoint URL (the AWS SDKs, the AWS CLI, boto3) with fake credentials:
//
//   - Firehose, AWS JSON 1.1: PutRecord, PutRecordBatch,
//     CreateDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams,
//     DeleteDeliveryStream, UpdateDestination, StartDeliveryStreamEncryption,
//     StopDeliveryStreamEncryption, TagDeliveryStream, UntagDeliveryStream
//     and ListTagsForDeliveryStream. DirectPut streams with an S3 (or
//     extended S3) destination only. Streams must exist before records are
//     put: create them with CreateDeliveryStream (the RoleARN is not checked)
//     or with the Stream option.
//   - CloudWatch, for the AWS/Firehose metrics the emulator emits and for
//     custom ones: GetMetricData, GetMetricStatistics, ListMetrics and
//     PutMetricData, in rpc-v2-cbor (the current Go SDK), AWS JSON 1.0
//     (botocore, the AWS CLI, the JavaScript SDK v3) and awsQuery with XML
//     answers (the Java SDK 1.x and v2 before 2.40.6, aws-sdk-go v1).
//   - S3, read-only and path-style, over the delivered files: ListBuckets,
//     ListObjectsV2, ListObjects, HeadBucket, GetBucketLocation, HeadObject
//     and GetObject (with Range), so "aws s3 ls" and "aws s3 cp" work.
//   - A web page at "/" showing the streams, per-minute charts of
//     IncomingRecords, IncomingBytes and ThrottledRecords, the newest
//     objects with a preview, and the quota and fault settings.
//
// It enforces the real per-call limits (500 records, 1,000 KiB per record,
// 4 MiB per call) and the per-stream quotas, injects reproducible faults on
// request (Faults), keeps per-minute CloudWatch metrics, and delivers
// records to files laid out like the S3 destination:
//
//	DIR/<bucket>/<prefix>YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>
//
// A test in a few lines:
//
//	srv, err := emulator.New(emulator.DataDir(t.TempDir()), emulator.Stream("events", "my-bucket"))
//	url, err := srv.Start("127.0.0.1:0")
//	defer srv.Close(ctx) // writes every buffered record to disk
//	client := firehose.NewFromConfig(cfg, func(o *firehose.Options) { o.BaseEndpoint = aws.String(url) })
//	_, err = client.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("events"), ...})
//	err = srv.Flush(ctx) // deliver now instead of after the buffering interval
//	// read DIR/my-bucket/... or ListObjectsV2/GetObject on url with UsePathStyle
//
// A Server is also an http.Handler, to mount in a server of your own.
//
// Nothing accepted is ever lost: every record answered as a success is in a
// file once Flush or Close returns.
package emulator
