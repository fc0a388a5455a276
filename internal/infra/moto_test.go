package infra

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firehose-tools/firehose/internal/testutil/motoserver"
)

// motoClients starts moto_server and returns SDK clients pointed at it, built
// here rather than through internal/awsconf so these tests stand alone.
type motoClients struct {
	Clients
	fh  *firehose.Client
	s3  *s3.Client
	iam *iam.Client
}

func startMoto(t *testing.T) motoClients {
	t.Helper()
	if testing.Short() {
		t.Skip("starts moto_server; skipped with -short")
	}
	srv := motoserver.Start(t)
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"), config.WithBaseEndpoint(srv.URL))
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	m := motoClients{
		fh:  firehose.NewFromConfig(cfg),
		s3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		iam: iam.NewFromConfig(cfg),
	}
	m.Clients = Clients{Firehose: m.fh, S3: m.s3, IAM: m.iam, STS: sts.NewFromConfig(cfg), Region: cfg.Region}
	return m
}

// exists reports which of the three resources are present in moto.
func (m motoClients) exists(t *testing.T, stream, bucket, role string) (streamOK, bucketOK, roleOK bool) {
	t.Helper()
	ctx := context.Background()
	_, err := m.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(stream)})
	streamOK = err == nil
	_, err = m.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	bucketOK = err == nil
	_, err = m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	roleOK = err == nil
	return streamOK, bucketOK, roleOK
}
