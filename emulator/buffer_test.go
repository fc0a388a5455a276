package emulator

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// chunkSize was the unit of the in-memory buffer the spool replaced; the
// sizes below still cross what were its boundaries.
const chunkSize = 256 << 10

// A write that fails keeps the records, ahead of those accepted since, and
// the next flush delivers them all in order.
func TestFailedWriteKeepsTheRecords(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "s", "bkt", "", 1, 900)
	put := func(data []byte) {
		t.Helper()
		if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("s"), Record: &types.Record{Data: data}}); err != nil {
			t.Fatalf("PutRecord: %v", err)
		}
	}
	first := bytes.Repeat([]byte("a"), chunkSize+100)
	put(first)
	// A file where the bucket directory belongs makes every write fail.
	blocker := filepath.Join(srv.DataDir(), "bkt")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with the bucket directory blocked")
	}
	second := bytes.Repeat([]byte("b"), 3*chunkSize)
	put(second) // fills the 1 MiB buffer: the write fails again, is logged, and keeps all
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := srv.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	paths, contents := deliveredFiles(t, srv.DataDir(), "bkt")
	if len(paths) != 1 {
		t.Fatalf("files = %v, want one", paths)
	}
	if want := append(append([]byte{}, first...), second...); !bytes.Equal(contents[0], want) {
		t.Fatalf("delivered %d bytes, want %d in put order", len(contents[0]), len(want))
	}
}
