package producer

import "github.com/aws/smithy-go"

func apiError(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg}
}
