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

func TestRecordBufferKeepsBytesInOrder(t *testing.T) {
	tests := []struct {
		name   string
		writes []int // sizes of successive writes
	}{
		{name: "empty", writes: nil},
		{name: "small", writes: []int{1, 2, 3}},
		{name: "exactly one chunk", writes: []int{chunkSize}},
		{name: "crosses a chunk", writes: []int{chunkSize - 1, 2, 5}},
		{name: "record larger than a chunk", writes: []int{10, 3*chunkSize + 7, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b recordBuffer
			var want []byte
			for i, n := range tt.writes {
				p := bytes.Repeat([]byte{byte('a' + i)}, n)
				if got, err := b.Write(p); got != n || err != nil {
					t.Fatalf("Write = %d, %v", got, err)
				}
				want = append(want, p...)
			}
			if b.Len() != len(want) {
				t.Fatalf("Len = %d, want %d", b.Len(), len(want))
			}
			var out bytes.Buffer
			if n, err := b.WriteTo(&out); err != nil || n != int64(len(want)) {
				t.Fatalf("WriteTo = %d, %v", n, err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatal("WriteTo wrote other bytes than were written")
			}
			var joined recordBuffer
			_, _ = joined.Write([]byte("head"))
			joined.appendBuffer(&b)
			out.Reset()
			_, _ = joined.WriteTo(&out)
			if !bytes.Equal(out.Bytes(), append([]byte("head"), want...)) {
				t.Fatal("appendBuffer lost or reordered bytes")
			}
			b.release()
			if b.Len() != 0 || len(b.chunks) != 0 {
				t.Fatalf("after release Len = %d, chunks = %d", b.Len(), len(b.chunks))
			}
		})
	}
}

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
