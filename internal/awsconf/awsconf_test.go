package awsconf

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firehose-tools/firehose/internal/testutil/motoserver"
)

// clearAWSEnv isolates a test from the machine's AWS settings.
func clearAWSEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func TestLoadRegion(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		opts       Options
		wantRegion string
		wantErr    error
	}{
		{name: "no region anywhere", wantErr: ErrNoRegion},
		{name: "option", opts: Options{Region: "eu-west-1"}, wantRegion: "eu-west-1"},
		{name: "AWS_REGION", env: map[string]string{"AWS_REGION": "us-west-2"}, wantRegion: "us-west-2"},
		{name: "option beats AWS_REGION", env: map[string]string{"AWS_REGION": "us-west-2"}, opts: Options{Region: "ap-south-1"}, wantRegion: "ap-south-1"},
		{name: "local defaults the region", opts: Options{Local: true}, wantRegion: LocalRegion},
		{name: "unknown protocol", opts: Options{Region: "us-east-1", CloudWatchProtocol: "xml"}, wantErr: ErrUnknownProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearAWSEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := Load(t.Context(), tc.opts)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("Load error = %v, want %v", err, tc.wantErr)
			}
			if cfg.Region != tc.wantRegion {
				t.Errorf("Region = %q, want %q", cfg.Region, tc.wantRegion)
			}
		})
	}
}

func TestLoadNoRegionMessage(t *testing.T) {
	clearAWSEnv(t)
	_, err := Load(t.Context(), Options{})
	if err == nil || err.Error() != "no AWS region: pass --region or set AWS_REGION" {
		t.Errorf("error = %v, want the hint to pass --region or set AWS_REGION", err)
	}
}

func TestLoadSDKSettings(t *testing.T) {
	clearAWSEnv(t)
	cfg, err := Load(t.Context(), Options{Local: true, EndpointURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Retryer().MaxAttempts(); got != DefaultMaxAttempts {
		t.Errorf("MaxAttempts = %d, want %d", got, DefaultMaxAttempts)
	}
	// ratelimit.None: the standard bucket (500 tokens, 5 per retry) would
	// refuse after 100 retries with "retry quota exceeded".
	retryer := cfg.Retryer()
	for i := range 1000 {
		if _, err := retryer.GetRetryToken(t.Context(), errors.New("throttled")); err != nil {
			t.Fatalf("retry token %d refused: %v", i, err)
		}
	}
	buffered, ok := cfg.HTTPClient.(*BufferedClient)
	if !ok {
		t.Fatalf("HTTPClient is %T, want *BufferedClient", cfg.HTTPClient)
	}
	client := buffered.BuildableClient
	if got := client.GetTransport().MaxIdleConnsPerHost; got != DefaultMaxIdleConnsPerHost {
		t.Errorf("MaxIdleConnsPerHost = %d, want %d", got, DefaultMaxIdleConnsPerHost)
	}
	if got := client.GetTimeout(); got != DefaultRequestTimeout {
		t.Errorf("request timeout = %s, want %s", got, DefaultRequestTimeout)
	}
	if cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "http://127.0.0.1:1" {
		t.Errorf("BaseEndpoint = %v, want the option", cfg.BaseEndpoint)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != "test" {
		t.Errorf("Local credentials = %v, %v; want static test credentials", creds.AccessKeyID, err)
	}
}

// TestServicesAgainstMoto drives every client through the real SDK against
// moto_server, both with the endpoint option and with AWS_ENDPOINT_URL.
func TestServicesAgainstMoto(t *testing.T) {
	moto := startMoto(t)
	tests := []struct {
		name     string
		opts     Options
		endpoint string // AWS_ENDPOINT_URL
	}{
		{name: "endpoint option, auto protocol", opts: Options{EndpointURL: moto.URL}},
		{name: "endpoint option, json protocol", opts: Options{EndpointURL: moto.URL, CloudWatchProtocol: ProtocolJSON, Local: true}},
		{name: "AWS_ENDPOINT_URL, auto protocol", endpoint: moto.URL},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL", tc.endpoint)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cfg, err := Load(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}

			if _, err := Firehose(cfg).ListDeliveryStreams(ctx, &firehose.ListDeliveryStreamsInput{}); err != nil {
				t.Errorf("Firehose ListDeliveryStreams: %v", err)
			}

			// Virtual-host addressing would send this to bucket.127.0.0.1 and fail.
			bucket := "awsconf-test-" + string(rune('a'+i))
			s3c := S3(cfg)
			if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Errorf("S3 CreateBucket: %v", err)
			}
			if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Errorf("S3 HeadBucket: %v", err)
			}

			if _, err := IAM(cfg).ListRoles(ctx, nil); err != nil {
				t.Errorf("IAM ListRoles: %v", err)
			}

			checkCloudWatchRoundTrip(ctx, t, CloudWatch(cfg, tc.opts), "awsconf-"+string(rune('a'+i)))
		})
	}
}

func checkCloudWatchRoundTrip(ctx context.Context, t *testing.T, cw *cloudwatch.Client, stream string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Minute)
	dims := []cwtypes.Dimension{{Name: aws.String("DeliveryStreamName"), Value: aws.String(stream)}}
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("AWS/Firehose"),
		MetricData: []cwtypes.MetricDatum{{
			MetricName: aws.String("IncomingRecords"), Dimensions: dims,
			Timestamp: aws.Time(now), Value: aws.Float64(42), Unit: cwtypes.StandardUnitCount,
		}},
	})
	if err != nil {
		t.Fatalf("CloudWatch PutMetricData: %v", err)
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(5 * time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("m0"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Firehose"), MetricName: aws.String("IncomingRecords"), Dimensions: dims},
				Period: aws.Int32(60), Stat: aws.String("Sum"),
			},
		}},
	})
	if err != nil {
		t.Fatalf("CloudWatch GetMetricData: %v", err)
	}
	var sum float64
	for _, r := range out.MetricDataResults {
		for _, v := range r.Values {
			sum += v
		}
	}
	if sum != 42 {
		t.Errorf("GetMetricData sum = %v, want 42 (results %+v)", sum, out.MetricDataResults)
	}
}

// TestCloudWatchProtocolChoice checks that the CBOR default is kept for real
// AWS and that it is what moto cannot serve (so the JSON choice matters).
func TestCloudWatchProtocolChoice(t *testing.T) {
	moto := startMoto(t)
	cfg, err := Load(t.Context(), Options{EndpointURL: moto.URL})
	if err != nil {
		t.Fatal(err)
	}
	cw := CloudWatch(cfg, Options{EndpointURL: moto.URL, CloudWatchProtocol: ProtocolCBOR})
	_, err = cw.ListMetrics(t.Context(), &cloudwatch.ListMetricsInput{})
	if err == nil {
		t.Errorf("CBOR against moto succeeded; expected moto to refuse rpc-v2-cbor")
	}
	cw = CloudWatch(cfg, Options{EndpointURL: moto.URL})
	if _, err := cw.ListMetrics(t.Context(), &cloudwatch.ListMetricsInput{}); err != nil {
		t.Errorf("auto protocol against moto: %v", err)
	}
}

func startMoto(t *testing.T) *motoserver.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	return motoserver.Start(t)
}
