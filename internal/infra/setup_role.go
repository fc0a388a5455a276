package infra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func ensureRole(ctx context.Context, c Clients, o SetupOptions, id identity, logger *slog.Logger) (Resource, error) {
	r := Resource{Kind: KindRole, Name: o.RoleName}
	var role *iamtypes.Role
	got, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(o.RoleName)})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case err == nil:
		r.Status, role = StatusExists, got.Role
	case errors.As(err, &missing):
		if role, r.Status, err = createRole(ctx, c.IAM, o, id); err != nil {
			return r, err
		}
	default:
		return r, fmt.Errorf("role %s: get: %w", o.RoleName, err)
	}
	r.ARN = aws.ToString(role.Arn)
	tags := make(map[string]string, len(role.Tags))
	for _, t := range role.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	r.Managed = isManaged(tags, o.Stream)
	if !r.Managed {
		r.Note = managedNote(tags, o.Stream) + "; used as it is"
		logger.Warn("role exists and was not created by setup; using it unchanged", slog.String("role", o.RoleName))
		return r, nil
	}
	if err := ensureRolePolicy(ctx, c.IAM, o, id); err != nil {
		return r, err
	}
	logger.Info("role ready", slog.String("role", o.RoleName), slog.String("status", string(r.Status)))
	return r, nil
}

func createRole(ctx context.Context, iamc IAMAPI, o SetupOptions, id identity) (*iamtypes.Role, Status, error) {
	var tags []iamtypes.Tag
	for k, v := range tagsFor(o.Stream) {
		tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(o.RoleName),
		AssumeRolePolicyDocument: aws.String(TrustPolicy(id.account)),
		Description:              aws.String("Lets Amazon Data Firehose stream " + o.Stream + " deliver to s3://" + o.Bucket),
		Tags:                     tags,
	})
	var exists *iamtypes.EntityAlreadyExistsException
	switch {
	case err == nil:
		return out.Role, StatusCreated, nil
	case errors.As(err, &exists):
		// Created concurrently since GetRole: read what is there.
		got, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(o.RoleName)})
		if err != nil {
			return nil, "", fmt.Errorf("role %s: get: %w", o.RoleName, err)
		}
		return got.Role, StatusExists, nil
	default:
		return nil, "", fmt.Errorf("role %s: create: %w", o.RoleName, err)
	}
}

// ensureRolePolicy puts the inline policy when it is missing and leaves an
// existing one alone.
func ensureRolePolicy(ctx context.Context, iamc IAMAPI, o SetupOptions, id identity) error {
	_, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(o.RoleName), PolicyName: aws.String(RolePolicyName)})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &missing):
		return fmt.Errorf("role %s: get policy %s: %w", o.RoleName, RolePolicyName, err)
	}
	doc := DeliveryPolicy(DeliveryPolicyParams{
		Partition: id.partition, Region: id.region, AccountID: id.account,
		Bucket: o.Bucket, LogGroup: LogGroupName(o.Stream),
	})
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName:       aws.String(o.RoleName),
		PolicyName:     aws.String(RolePolicyName),
		PolicyDocument: aws.String(doc),
	}); err != nil {
		return fmt.Errorf("role %s: put policy %s: %w", o.RoleName, RolePolicyName, err)
	}
	return nil
}
