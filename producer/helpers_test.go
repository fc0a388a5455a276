package producer

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/smithy-go"
)

func apiError(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg}
}

type firehoseOut = firehose.PutRecordOutput

func errorsAs(err error, target any) bool { return errors.As(err, target) }
