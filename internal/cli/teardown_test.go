package cli

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/firehose-tools/firehose/internal/infra"
	"github.com/firehose-tools/firehose/internal/testutil/motoserver"
)

func TestTeardownPrompt(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		answer   string
		want     bool
		wantErr  error
	}{
		{name: "yes", terminal: true, answer: "y\n", want: true},
		{name: "YES without newline", terminal: true, answer: "YES", want: true},
		{name: "no", terminal: true, answer: "n\n", want: false},
		{name: "empty answer is no", terminal: true, answer: "\n", want: false},
		{name: "end of input is no", terminal: true, answer: "", want: false},
		{name: "not a terminal", terminal: false, answer: "y\n", wantErr: infra.ErrNotConfirmed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errb bytes.Buffer
			stdio := Stdio{In: strings.NewReader(tt.answer), Out: io.Discard, Err: &errb}
			confirm := teardownPrompt(stdio, func(io.Reader) bool { return tt.terminal })
			got, err := confirm("my-bucket", 42)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("confirm error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("confirm = %v, want %v", got, tt.want)
			}
			wantPrompt := ""
			if tt.terminal {
				wantPrompt = "Delete bucket my-bucket and its 42 objects? [y/N] "
			}
			if errb.String() != wantPrompt {
				t.Errorf("prompt = %q, want %q", errb.String(), wantPrompt)
			}
		})
	}
}

func TestRunTeardownAsksOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server; skipped with -short")
	}
	srv := motoserver.Start(t)
	tests := []struct {
		name       string
		answer     string
		wantBucket string // status in the table
	}{
		{"declined keeps the bucket", "n\n", "Kept"},
		{"accepted deletes it", "y\n", "Deleted"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := []string{"ask-a", "ask-b"}[i]
			bucket := stream + "-bucket"
			code, _, stderr := runInfraCLI(t, "", "setup", "--stream", stream, "--bucket", bucket, "--endpoint-url", srv.URL, "--region", "us-east-1")
			if code != 0 {
				t.Fatalf("setup exit %d: %s", code, stderr)
			}
			var out, errb bytes.Buffer
			g := &globalOptions{Region: "us-east-1", EndpointURL: srv.URL, stdio: Stdio{In: strings.NewReader(tt.answer), Out: &out, Err: &errb}}
			opts := teardownOptions{
				TeardownOptions: infra.TeardownOptions{Stream: stream, Bucket: bucket},
				stdinIsTerminal: func(io.Reader) bool { return true },
			}
			if err := runTeardown(t.Context(), g, opts); err != nil {
				t.Fatalf("runTeardown: %v", err)
			}
			if want := "Delete bucket " + bucket + " and its 0 objects? [y/N] "; errb.String() != want {
				t.Errorf("prompt = %q, want %q", errb.String(), want)
			}
			if !tableRow(out.String(), "S3", "bucket", bucket, tt.wantBucket) {
				t.Errorf("output lacks bucket row with %s:\n%s", tt.wantBucket, out.String())
			}
			if !tableRow(out.String(), "delivery", "stream", stream, "Deleted") {
				t.Errorf("stream not deleted:\n%s", out.String())
			}
		})
	}
}
