package producer

import (
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/smithy-go"
)

func apiError(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg}
}

type firehoseOut = firehose.PutRecordOutput
