// Package awsconf is the one place that builds the aws.Config and the service
// clients: region and profile, endpoint override for emulators, the retryer
// tuned for bulk sending, a shared keep-alive HTTP client, and the CloudWatch
// wire-protocol choice.
package awsconf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// CloudWatch wire protocols accepted in Options.CloudWatchProtocol.
const (
	// ProtocolAuto uses ProtocolJSON when an endpoint override is set (an
	// emulator: moto only speaks JSON 1.0, our emulator speaks both), else
	// ProtocolCBOR. It is the default.
	ProtocolAuto = "auto"
	// ProtocolCBOR is the SDK default, smithy rpc-v2-cbor.
	ProtocolCBOR = "cbor"
	// ProtocolJSON is AWS JSON 1.0, what botocore and the AWS CLI send.
	ProtocolJSON = "json"
)

// Defaults of the SDK settings made here.
const (
	// DefaultMaxAttempts is the SDK retryer's attempts per call (first try
	// included). It is low because the producer retries failed records itself,
	// with its own back-off and accounting.
	DefaultMaxAttempts = 3
	// DefaultMaxIdleConnsPerHost keeps enough idle keep-alive connections for
	// the producer's concurrent senders to reuse.
	DefaultMaxIdleConnsPerHost = 64
	// LocalRegion is the region used with Local when none is configured.
	LocalRegion = "us-east-1"
	// DefaultRequestTimeout bounds one HTTP attempt, response included, so a
	// stalled response becomes a retryable timeout instead of a hang. A
	// 4 MiB PutRecordBatch needs about 1 s at 32 Mbit/s.
	DefaultRequestTimeout = 30 * time.Second
)

// Options select how to reach AWS (or an emulator). The zero value uses the
// SDK's default chain for region, profile, credentials and endpoint, which
// honours AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL and the shared files.
type Options struct {
	// Region overrides the resolved region ("" = default chain).
	Region string
	// Profile selects a shared-config profile ("" = default chain / AWS_PROFILE).
	Profile string
	// EndpointURL sends every service to this base URL, e.g. an emulator
	// ("" = the SDK's resolution, which honours AWS_ENDPOINT_URL).
	EndpointURL string
	// Local uses static test credentials (test/test) instead of the
	// credential chain, and LocalRegion when no region resolves; for emulators.
	Local bool
	// CloudWatchProtocol is ProtocolAuto (""), ProtocolCBOR or ProtocolJSON.
	CloudWatchProtocol string
	// RequestTimeout bounds one HTTP attempt (0 = DefaultRequestTimeout).
	RequestTimeout time.Duration
}

// ErrBadEndpoint is returned by [Options.Validate] for an EndpointURL that
// is not an http or https URL with a host.
var ErrBadEndpoint = errors.New("--endpoint-url: want an http:// or https:// URL with a host")

// Validate reports option values that cannot work: an EndpointURL without
// an http(s) scheme and a host (ErrBadEndpoint), an unknown
// CloudWatchProtocol (ErrUnknownProtocol).
func (o Options) Validate() error {
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w, such as http://127.0.0.1:4573; got %q", ErrBadEndpoint, o.EndpointURL)
		}
	}
	switch o.CloudWatchProtocol {
	case "", ProtocolAuto, ProtocolCBOR, ProtocolJSON:
		return nil
	}
	return fmt.Errorf("%w %q (want auto, cbor or json)", ErrUnknownProtocol, o.CloudWatchProtocol)
}

// Load builds the aws.Config for o: the SDK default chain with o's overrides,
// a standard retryer with DefaultMaxAttempts and no client-side retry quota,
// and a shared keep-alive HTTP client. It fails with ErrNoRegion when no
// region resolves (unless o.Local).
func Load(ctx context.Context, o Options) (aws.Config, error) {
	if err := o.Validate(); err != nil {
		return aws.Config{}, err
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(newRetryer),
		config.WithHTTPClient(newHTTPClient(o.RequestTimeout)),
	}
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.EndpointURL != "" {
		loadOpts = append(loadOpts, config.WithBaseEndpoint(o.EndpointURL))
	}
	if o.Local {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		if !o.Local {
			return aws.Config{}, ErrNoRegion
		}
		cfg.Region = LocalRegion
	}
	// Wrapped after loading: the loader applies AWS_CA_BUNDLE only to an
	// *awshttp.BuildableClient.
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		cfg.HTTPClient = &BufferedClient{BuildableClient: bc}
	}
	return cfg, nil
}

// newRetryer is the SDK's standard retryer (whole-request retries of 5xx and
// throttling, exponential back-off with jitter) with two changes:
//   - MaxAttempts is DefaultMaxAttempts. It applies to the other calls
//     (Describe, CloudWatch, setup): the producer turns SDK retries off for
//     PutRecord and PutRecordBatch and makes every resend itself, so that it
//     sees each attempt whose outcome is unknown.
//   - RateLimiter is ratelimit.None: the standard retryer's client-side retry
//     token bucket drains under sustained errors (throttling during a bulk
//     send) and then fails calls at once with "retry quota exceeded" instead of
//     retrying (FACTS.md; litestream does the same for S3).
func newRetryer() aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = DefaultMaxAttempts
		so.RateLimiter = ratelimit.None
	})
}

// newHTTPClient is one keep-alive HTTP client shared by every service client,
// with enough idle connections per host for concurrent senders.
func newHTTPClient(timeout time.Duration) *awshttp.BuildableClient {
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 4 * DefaultMaxIdleConnsPerHost
		t.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
		t.IdleConnTimeout = 90 * time.Second
	}).WithTimeout(timeout)
}

// BufferedClient is the SDK's BuildableClient, except that Do reads each
// response body completely before the SDK sees the response. Without it,
// a 200 response is sometimes lost as "deserialization failed ... use of
// closed network connection" (aws/aws-sdk-go-v2#1825, #2737): the
// connection is closed under a body not yet read. The SDK retries that
// error, and for PutRecordBatch a retry of a request that was in fact
// accepted duplicates every record in it. Firehose responses are small
// (about 100 bytes a record), so reading them at once costs little.
type BufferedClient struct {
	*awshttp.BuildableClient
}

// Do sends req and returns the response with its body already read.
func (c *BufferedClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.BuildableClient.Do(req)
	if err != nil || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength < 64<<20 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	body := buf.Bytes()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	return resp, nil
}

// Firehose returns a Firehose client for cfg.
func Firehose(cfg aws.Config) *firehose.Client {
	return firehose.NewFromConfig(cfg)
}

// CloudWatch returns a CloudWatch client for cfg speaking the protocol chosen
// by o.CloudWatchProtocol (see ProtocolAuto). An invalid protocol (see
// Options.Validate, checked by Load) is treated as auto.
func CloudWatch(cfg aws.Config, o Options) *cloudwatch.Client {
	useJSON := false
	switch o.CloudWatchProtocol {
	case ProtocolJSON:
		useJSON = true
	case ProtocolCBOR:
	default:
		useJSON = hasEndpointOverride(cfg, o, "AWS_ENDPOINT_URL_CLOUDWATCH")
	}
	return cloudwatch.NewFromConfig(cfg, func(co *cloudwatch.Options) {
		if useJSON {
			co.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801)
		}
	})
}

// S3 returns an S3 client for cfg, with path-style addressing when an
// endpoint override is set (emulators cannot serve virtual-host buckets).
func S3(cfg aws.Config) *s3.Client {
	pathStyle := hasEndpointOverride(cfg, Options{}, "AWS_ENDPOINT_URL_S3")
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.UsePathStyle = pathStyle
	})
}

// IAM returns an IAM client for cfg.
func IAM(cfg aws.Config) *iam.Client {
	return iam.NewFromConfig(cfg)
}

// hasEndpointOverride reports whether requests go to a custom endpoint: the
// option, cfg.BaseEndpoint (AWS_ENDPOINT_URL or endpoint_url in the shared
// config, resolved by Load) or the service-specific environment variable.
func hasEndpointOverride(cfg aws.Config, o Options, serviceEnv string) bool {
	return o.EndpointURL != "" ||
		(cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "") ||
		os.Getenv("AWS_ENDPOINT_URL") != "" ||
		os.Getenv(serviceEnv) != ""
}
