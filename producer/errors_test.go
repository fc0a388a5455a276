package producer

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
)

// TestFatalErrorNamesTheClientsRegion: a *firehose.Client tells its region,
// and the producer's FatalError names it, as the CLI's messages need.
func TestFatalErrorNamesTheClientsRegion(t *testing.T) {
	tests := []struct {
		name string
		send func(p *Producer) error
	}{
		{name: "PutRecordBatch", send: func(p *Producer) error {
			_, err := p.PutRecordBatch(t.Context(), []Record{{Seq: 1, Data: []byte(`{}`)}})
			return err
		}},
		{name: "PutRecord", send: func(p *Producer) error {
			_, err := p.PutRecord(t.Context(), Record{Seq: 1, Data: []byte(`{}`)})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, url, _ := backend.StartEmulatorServer(t, "regional")
			if err := srv.Control(emulator.FailNext(tc.name, 1, emulator.FaultResourceNotFound)); err != nil {
				t.Fatal(err)
			}
			cfg := backend.AWSConfig(url)
			cfg.Region = "eu-north-1"
			p, err := New(firehose.NewFromConfig(cfg), "regional")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close(t.Context()) })
			err = tc.send(p)
			var fe *FatalError
			if !errors.As(err, &fe) || fe.Region != "eu-north-1" {
				t.Fatalf("error %v (%#v), want a FatalError in region eu-north-1", err, fe)
			}
			if want := `stream "regional" in region eu-north-1 not found`; !strings.Contains(err.Error(), want) {
				t.Errorf("message %q lacks %q", err.Error(), want)
			}
		})
	}
}
