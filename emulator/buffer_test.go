package emulator

import (
	"bytes"
	"context"
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

// Records accepted while a delivery fails join the failed spool, after its
// records, and go out with them in one object.
func TestFailedDeliveryTakesBackLaterRecords(t *testing.T) {
	srv, err := New(DataDir(t.TempDir()), NoQuotas())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	if rec := call(t, srv, "CreateDeliveryStream", `{"DeliveryStreamName":"s","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::bkt","RoleARN":"r"}}`); rec.Code != 200 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	put := func(b64 string) {
		t.Helper()
		if rec := call(t, srv, "PutRecord", `{"DeliveryStreamName":"s","Record":{"Data":"`+b64+`"}}`); rec.Code != 200 {
			t.Fatalf("put: %d %s", rec.Code, rec.Body)
		}
	}
	st, _ := srv.lookupStream("s")
	put("Zmlyc3QK") // "first\n"
	// A delivery takes the spool; meanwhile a put starts a new one.
	st.mu.Lock()
	taken := st.takeLocked()
	st.mu.Unlock()
	put("c2Vjb25kCg==") // "second\n"
	blocker := filepath.Join(srv.DataDir(), "bkt")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	if err := st.writeTakenLocked(taken); err == nil {
		t.Fatal("delivery succeeded with the bucket directory blocked")
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := srv.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	paths, contents := deliveredFiles(t, srv.DataDir(), "bkt")
	if len(paths) != 1 || string(contents[0]) != "first\nsecond\n" {
		t.Errorf("delivered %q in %d objects, want \"first\\nsecond\\n\" in one", contents, len(paths))
	}
	if spools, _ := filepath.Glob(filepath.Join(srv.DataDir(), ".emulator", "spool", "*")); len(spools) != 0 {
		t.Errorf("spools left: %v", spools)
	}
}
