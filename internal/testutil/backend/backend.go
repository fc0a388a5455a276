// Package backend starts the Firehose endpoints that integration tests run
// against, the same test bodies on each: the in-process emulator and
// moto_server. Each backend has a DirectPut stream with an S3 destination
// and lists what was delivered.
package backend

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/testutil/motoserver"
)

// Bucket is the destination bucket of every test stream.
const Bucket = "delivery-bucket"

// Backend is a Firehose endpoint for tests.
type Backend struct {
	Name string
	// Start returns the endpoint and a function listing every delivered
	// object's content. The emulator options apply to the emulator only.
	Start func(t *testing.T, stream string, opts ...emulator.Option) (endpoint string, objects func() [][]byte)
}

// All is every backend: the in-process emulator and moto_server.
var All = []Backend{
	{Name: "emulator", Start: StartEmulator},
	{Name: "moto", Start: StartMoto},
}

// AWSConfig is an SDK configuration for a test endpoint with fake
// credentials in us-east-1.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// CreateStream creates a DirectPut stream delivering to Bucket under
// "data/".
func CreateStream(t testing.TB, endpoint, stream string) {
	t.Helper()
	fh := firehose.NewFromConfig(AWSConfig(endpoint))
	_, err := fh.CreateDeliveryStream(context.Background(), &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(stream),
		DeliveryStreamType: types.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN:      aws.String("arn:aws:s3:::" + Bucket),
			RoleARN:        aws.String("arn:aws:iam::123456789012:role/firehose-test"),
			Prefix:         aws.String("data/"),
			BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(60)},
		},
	})
	if err != nil {
		t.Fatalf("create stream %s: %v", stream, err)
	}
}

// StartEmulator starts the emulator in process with its data in a temporary
// directory, and creates stream. The environment gets fake credentials and
// no shared AWS files, so the test must not run in parallel with tests that
// need other values.
func StartEmulator(t *testing.T, stream string, opts ...emulator.Option) (string, func() [][]byte) {
	t.Helper()
	_, url, objects := StartEmulatorServer(t, stream, opts...)
	return url, objects
}

// StartEmulatorServer is StartEmulator that also returns the server, for
// tests that script faults (Server.Control) or watch its load.
func StartEmulatorServer(t *testing.T, stream string, opts ...emulator.Option) (*emulator.Server, string, func() [][]byte) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	srv, err := emulator.New(append([]emulator.Option{emulator.DataDir(filepath.Join(dir, "data"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	CreateStream(t, url, stream)
	return srv, url, func() [][]byte {
		t.Helper()
		if err := srv.Flush(context.Background()); err != nil {
			t.Fatalf("flush: %v", err)
		}
		return ReadTree(t, filepath.Join(dir, "data", Bucket))
	}
}

// EmulatorClients starts an emulator with stream (see StartEmulator) and
// returns a Firehose client for it and a CloudWatch client speaking
// protocol (awsconf.ProtocolCBOR, the SDK's default, or ProtocolJSON).
func EmulatorClients(t *testing.T, stream, protocol string, opts ...emulator.Option) (*firehose.Client, *cloudwatch.Client) {
	t.Helper()
	url, _ := StartEmulator(t, stream, opts...)
	awsOpts := awsconf.Options{EndpointURL: url, Local: true, CloudWatchProtocol: protocol}
	cfg, err := awsconf.Load(t.Context(), awsOpts)
	if err != nil {
		t.Fatal(err)
	}
	return awsconf.Firehose(cfg), awsconf.CloudWatch(cfg, awsOpts)
}

// StartMoto starts moto_server (see motoserver.Start), creates Bucket and
// stream, and reads the delivered objects back over S3.
func StartMoto(t *testing.T, stream string, _ ...emulator.Option) (string, func() [][]byte) {
	t.Helper()
	srv := motoserver.Start(t)
	s3c := s3.NewFromConfig(AWSConfig(srv.URL), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	CreateStream(t, srv.URL, stream)
	return srv.URL, func() [][]byte {
		t.Helper()
		return BucketObjects(t, srv.URL, Bucket)
	}
}

// ReadTree reads every file under root (none when root does not exist).
func ReadTree(t *testing.T, root string) [][]byte {
	t.Helper()
	var out [][]byte
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	if err != nil {
		t.Fatalf("read delivered files: %v", err)
	}
	return out
}

// BucketObjects reads every object of bucket from an S3 endpoint.
func BucketObjects(t *testing.T, endpoint, bucket string) [][]byte {
	t.Helper()
	s3c := s3.NewFromConfig(AWSConfig(endpoint), func(o *s3.Options) { o.UsePathStyle = true })
	var out [][]byte
	p := s3.NewListObjectsV2Paginator(s3c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			obj, err := s3c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatalf("get %s: %v", aws.ToString(o.Key), err)
			}
			b, err := io.ReadAll(obj.Body)
			_ = obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}
