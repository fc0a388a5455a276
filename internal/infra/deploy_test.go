package infra

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

var deployDir = filepath.Join("..", "..", "deploy")

func TestTemplatePassesCfnLint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cfn-lint; skipped with -short")
	}
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cfn-lint not found on PATH (pip install cfn-lint): %v", err)
		}
		t.Skipf("cfn-lint not found on PATH: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), bin, filepath.Join(deployDir, "firehose-stack.yaml")).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

// The template and Setup must describe the same resources; these strings
// are the ones a drift would break.
func TestTemplateMatchesSetup(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "firehose-stack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := string(b)
	for _, want := range []string{
		`Prefix: "` + DefaultPrefix + `"`,
		`ErrorOutputPrefix: "` + DefaultErrorPrefix + `"`,
		"Key: " + TagManaged, "Key: " + TagStream,
		"LogStreamName: " + LogStreamName,
		"PolicyName: " + RolePolicyName,
		`RoleName: !Sub "` + DefaultRoleName("${StreamName}") + `"`,
		`LogGroupName: !Sub "` + LogGroupName("${StreamName}") + `"`,
		"SSEAlgorithm: AES256",
		"DeliveryStreamType: DirectPut",
		"sts:ExternalId: !Ref AWS::AccountId",
	} {
		if !strings.Contains(tmpl, want) {
			t.Errorf("template lacks %q", want)
		}
	}
	for _, action := range deliveryS3Actions {
		if !strings.Contains(tmpl, "- "+action+"\n") {
			t.Errorf("template role policy lacks %s", action)
		}
	}
}

// moto validates policy documents the way IAM does (syntax, known elements),
// so every policy we ship or generate is created there once.
func TestPoliciesAreValidIAMDocuments(t *testing.T) {
	m := startMoto(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(deployDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name       string
		doc        string
		wantAction []string
	}{
		{"producer policy file", read("producer-policy.json"), []string{"firehose:PutRecord", "firehose:PutRecordBatch", "firehose:DescribeDeliveryStream", "cloudwatch:GetMetricData"}},
		{"setup-teardown policy file", read("setup-teardown-policy.json"), []string{"firehose:CreateDeliveryStream", "iam:PassRole", "s3:PutEncryptionConfiguration", "firehose:TagDeliveryStream"}},
		{"delivery policy", DeliveryPolicy(DeliveryPolicyParams{Region: "eu-west-1", AccountID: "123456789012", Bucket: "b-ok", LogGroup: LogGroupName("s")}), deliveryS3Actions},
		{"delivery policy without account", DeliveryPolicy(DeliveryPolicyParams{Bucket: "b-ok", LogGroup: LogGroupName("s")}), []string{"logs:PutLogEvents"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var parsed policyDocument
			if err := json.Unmarshal([]byte(tt.doc), &parsed); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, tt.doc)
			}
			var actions []string
			for _, st := range parsed.Statement {
				actions = append(actions, st.Action...)
			}
			for _, want := range tt.wantAction {
				if !strings.Contains(strings.Join(actions, " "), want) {
					t.Errorf("policy lacks %s (has %v)", want, actions)
				}
			}
			if _, err := m.iam.CreatePolicy(t.Context(), &iam.CreatePolicyInput{
				PolicyName:     aws.String("p" + string(rune('a'+i))),
				PolicyDocument: aws.String(tt.doc),
			}); err != nil {
				t.Errorf("IAM (moto) refused the policy: %v\n%s", err, tt.doc)
			}
		})
	}
	t.Run("trust policy", func(t *testing.T) {
		for _, account := range []string{"123456789012", ""} {
			doc := TrustPolicy(account)
			if _, err := m.iam.CreateRole(t.Context(), &iam.CreateRoleInput{
				RoleName: aws.String("trust-" + account + "x"), AssumeRolePolicyDocument: aws.String(doc),
			}); err != nil {
				t.Errorf("IAM (moto) refused the trust policy: %v\n%s", err, doc)
			}
			if got := strings.Contains(doc, "sts:ExternalId"); got != (account != "") {
				t.Errorf("TrustPolicy(%q) has ExternalId condition %v:\n%s", account, got, doc)
			}
		}
	})
}
