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
// request (Faults, Control), keeps per-minute CloudWatch metrics, and delivers
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
// # Durability
//
// Nothing acknowledged is ever lost. Each accepted request is appended to
// its stream's spool file under DIR/.emulator/spool before it is answered,
// so the buffering hints cost disk, not memory, and a killed process (even
// SIGKILL) keeps every record it acknowledged. The stream definitions are
// kept in DIR/.emulator/streams.json. New on a data directory a previous
// emulator used recreates its streams and delivers its leftover spools as
// objects, each exactly once. SyncWrites adds an fsync before each answer
// (shared by concurrent requests), for records that must survive a machine
// crash as well. Flush and Close deliver every spool now.
//
// # Limits
//
// Request bodies are read as they arrive, against a budget of bytes held at
// once, with read timeouts and a cap on open connections; the CloudWatch
// series kept are capped too (see Limits). Past a limit the emulator
// answers ServiceUnavailableException, which the SDKs retry.
//
// # Faults
//
// FaultConfig injects random faults at fixed rates. Control scripts exact
// ones at run time, like kfake's ControlKey: the next N calls of an
// operation fail whole, fail every record, lose their response after the
// records are delivered, lose their connection before anything is
// accepted, or wait.
//
//	srv.Control(emulator.FailNext("PutRecordBatch", 3, emulator.FaultInternalFailure))
//
// Tests in other languages use the same control over HTTP:
//
//	POST   /_emulator/faults  {"faults":[{"operation":"PutRecordBatch","times":3,"action":"fail","code":"InternalFailure"}]}
//	GET    /_emulator/faults  the scripted faults not yet used up
//	DELETE /_emulator/faults  drop them
//	GET    /_emulator/stats   open connections, requests in flight, body bytes held
//
// The actions are fail, fail-records, lose-response, drop-connection and
// delay (with "delay":"250ms"); see Fault.
package emulator
