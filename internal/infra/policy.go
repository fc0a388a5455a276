package infra

import (
	"encoding/json"
	"fmt"
)

// policyDocument is an IAM policy document; encoding/json writes it so that
// names with quotes or odd characters can never break the JSON.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

func (d policyDocument) String() string {
	// Marshalling strings, slices and maps of strings cannot fail.
	b, _ := json.MarshalIndent(d, "", "  ")
	return string(b)
}

// deliveryS3Actions are the S3 actions Firehose needs on its destination
// bucket (Firehose developer guide, "Grant Firehose access to an Amazon S3
// destination").
var deliveryS3Actions = []string{
	"s3:AbortMultipartUpload",
	"s3:GetBucketLocation",
	"s3:GetObject",
	"s3:ListBucket",
	"s3:ListBucketMultipartUploads",
	"s3:PutObject",
}

// TrustPolicy returns the role's trust policy: firehose.amazonaws.com may
// assume it, and when accountID is not empty only on behalf of that account
// (the sts:ExternalId condition Firehose sets to the stream's account).
func TrustPolicy(accountID string) string {
	st := policyStatement{
		Effect:    "Allow",
		Principal: map[string]string{"Service": "firehose.amazonaws.com"},
		Action:    []string{"sts:AssumeRole"},
	}
	if accountID != "" {
		st.Condition = map[string]map[string]string{"StringEquals": {"sts:ExternalId": accountID}}
	}
	return policyDocument{Version: "2012-10-17", Statement: []policyStatement{st}}.String()
}

// DeliveryPolicyParams name what the delivery role may touch.
type DeliveryPolicyParams struct {
	// Partition is the ARN partition; empty means "aws".
	Partition string
	// Region is the log group's region; empty means any ("*").
	Region string
	// AccountID owns the log group; empty means any ("*").
	AccountID string
	// Bucket is the destination bucket name.
	Bucket string
	// LogGroup is the CloudWatch Logs group Firehose writes delivery errors to.
	LogGroup string
}

// DeliveryPolicy returns the role's inline policy: the S3 actions Firehose
// needs on the bucket and its objects, and logs:PutLogEvents on the streams
// of the log group, nothing else.
func DeliveryPolicy(p DeliveryPolicyParams) string {
	part, region, account := orDefault(p.Partition, "aws"), orDefault(p.Region, "*"), orDefault(p.AccountID, "*")
	bucketARN := bucketARN(part, p.Bucket)
	return policyDocument{Version: "2012-10-17", Statement: []policyStatement{
		{
			Sid:      "DeliverToBucket",
			Effect:   "Allow",
			Action:   deliveryS3Actions,
			Resource: []string{bucketARN, bucketARN + "/*"},
		},
		{
			Sid:      "LogDeliveryErrors",
			Effect:   "Allow",
			Action:   []string{"logs:PutLogEvents"},
			Resource: []string{fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:log-stream:*", part, region, account, p.LogGroup)},
		},
	}}.String()
}

func bucketARN(partition, bucket string) string {
	return fmt.Sprintf("arn:%s:s3:::%s", orDefault(partition, "aws"), bucket)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
