package emulator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// countIDs counts each line of the delivered objects of bucket.
func countIDs(t *testing.T, dir, bucket string) map[string]int {
	t.Helper()
	seen := make(map[string]int)
	for line := range strings.Lines(allDelivered(t, dir, bucket)) {
		seen[strings.TrimSuffix(line, "\n")]++
	}
	return seen
}

// SIGKILL of the emulator process after records were acknowledged loses
// none of them: a restart on the same data directory still describes the
// stream and delivers every record exactly once.
func TestKilledEmulatorLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts emulator processes")
	}
	for _, syncWrites := range []bool{false, true} {
		t.Run(fmt.Sprintf("SyncWrites=%v", syncWrites), func(t *testing.T) {
			dir := t.TempDir()
			first := startChild(t, dir, syncWrites)
			fh := firehoseClient(first.url, 1)
			ctx := ctxTimeout(t)
			// The biggest buffering hints: nothing is written as an object
			// before the kill, everything acknowledged is in the spool.
			createStream(t, fh, "durable", "dur-bucket", "kept/", 128, 900)
			_, err := fh.TagDeliveryStream(ctx, &firehose.TagDeliveryStreamInput{
				DeliveryStreamName: aws.String("durable"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}},
			})
			if err != nil {
				t.Fatal(err)
			}

			const workers, batches, perBatch = 4, 10, 500
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					for b := range batches {
						recs := make([]types.Record, perBatch)
						for i := range recs {
							recs[i].Data = fmt.Appendf(nil, "w%d-b%02d-r%03d\n", w, b, i)
						}
						out, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("durable"), Records: recs})
						if err == nil && aws.ToInt32(out.FailedPutCount) != 0 {
							err = fmt.Errorf("%d records failed", aws.ToInt32(out.FailedPutCount))
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("PutRecordBatch: %v", err)
			}
			if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("durable"), Record: &types.Record{Data: []byte("single\n")}}); err != nil {
				t.Fatalf("PutRecord: %v", err)
			}

			first.kill(t)
			if n := len(countIDs(t, dir, "dur-bucket")); n != 0 {
				t.Fatalf("%d records were objects before the kill; the test needs them buffered", n)
			}

			second := startChild(t, dir, syncWrites)
			fh = firehoseClient(second.url, 1)
			desc, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("durable")})
			if err != nil {
				t.Fatalf("the restarted emulator does not describe the stream: %v", err)
			}
			ext := desc.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription
			if aws.ToString(ext.Prefix) != "kept/" || aws.ToString(ext.BucketARN) != "arn:aws:s3:::dur-bucket" ||
				aws.ToInt32(ext.BufferingHints.SizeInMBs) != 128 || aws.ToInt32(ext.BufferingHints.IntervalInSeconds) != 900 {
				t.Errorf("restarted destination = %+v", ext)
			}
			tags, err := fh.ListTagsForDeliveryStream(ctx, &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("durable")})
			if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "data" {
				t.Errorf("restarted tags = %+v, %v", tags, err)
			}

			seen := countIDs(t, dir, "dur-bucket")
			missing, dup := 0, 0
			for w := range workers {
				for b := range batches {
					for i := range perBatch {
						switch seen[fmt.Sprintf("w%d-b%02d-r%03d", w, b, i)] {
						case 0:
							missing++
						case 1:
						default:
							dup++
						}
					}
				}
			}
			if missing != 0 || dup != 0 || seen["single"] != 1 || len(seen) != workers*batches*perBatch+1 {
				t.Fatalf("after the restart: %d missing, %d duplicated, single %d times, %d distinct lines", missing, dup, seen["single"], len(seen))
			}
			files, _ := filepath.Glob(filepath.Join(dir, ".emulator", "spool", "*.spool"))
			if len(files) != 0 {
				t.Errorf("delivered spools left behind: %v", files)
			}

			// The restarted emulator serves as before.
			if _, err := fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("durable"), Record: &types.Record{Data: []byte("after\n")}}); err != nil {
				t.Fatalf("PutRecord after the restart: %v", err)
			}
			second.stop(t)
			if got := countIDs(t, dir, "dur-bucket")["after"]; got != 1 {
				t.Errorf("record put after the restart delivered %d times, want 1", got)
			}
		})
	}
}

// writeSpool makes a spool of stream s to bucket bkt with one frame per
// batch, and returns its path.
func writeSpool(t *testing.T, dir string, batches ...[]string) string {
	t.Helper()
	sp, err := createSpool(filepath.Join(dir, ".emulator", "spool"), spoolHeader{Stream: "s", Bucket: "bkt", Key: "p/obj", First: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		recs := make([][]byte, len(b))
		for i, r := range b {
			recs[i] = []byte(r)
		}
		if _, err := sp.append(recs, make([]recordOutcome, len(recs))); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.f.Close(); err != nil {
		t.Fatal(err)
	}
	return sp.path
}

// A spool cut short (killed during a write) or damaged (a machine crash
// without SyncWrites) is delivered up to its last whole frame: no request
// is delivered in part.
func TestRecoveredSpoolKeepsWholeRequestsOnly(t *testing.T) {
	whole := []string{"a1\n", "a2\n"}
	second := []string{"b1\n", "b2\n", "b3\n"}
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{name: "intact", damage: func(*testing.T, string) {}, want: "a1\na2\nb1\nb2\nb3\n"},
		{name: "last frame cut in its records", damage: truncateBy(4), want: "a1\na2\n"},
		{name: "last frame cut in its header", damage: truncateBy(9 + 12 - 5), want: "a1\na2\n"},
		{name: "last frame's bytes changed", damage: flipByteFromEnd(2), want: "a1\na2\n"},
		{name: "only the header left", damage: truncateBy(9 + 12 + 12 + 6), want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeSpool(t, dir, whole, second)
			tt.damage(t, path)
			srv, err := New(DataDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close(context.Background()) })
			if got := allDelivered(t, dir, "bkt"); got != tt.want {
				t.Errorf("delivered %q, want %q", got, tt.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("the recovered spool is still there: %v", err)
			}
		})
	}
}

func truncateBy(n int64) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()-n); err != nil {
			t.Fatal(err)
		}
	}
}

func flipByteFromEnd(n int64) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data[int64(len(data))-n] ^= 0xff
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A stream's definition survives Close and New on the same data directory,
// and a deleted stream stays deleted.
func TestStreamsPersistAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	srv, err := New(DataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"DeliveryStreamName":"kept","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::kept-bucket","RoleARN":"r","Prefix":"p/","ErrorOutputPrefix":"e/","BufferingHints":{"SizeInMBs":7,"IntervalInSeconds":70}}}`,
		`{"DeliveryStreamName":"gone","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::gone-bucket","RoleARN":"r"}}`,
	} {
		if rec := call(t, srv, "CreateDeliveryStream", body); rec.Code != 200 {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
	}
	if rec := call(t, srv, "DeleteDeliveryStream", `{"DeliveryStreamName":"gone"}`); rec.Code != 200 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	before := call(t, srv, "DescribeDeliveryStream", `{"DeliveryStreamName":"kept"}`).Body.String()
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	again, err := New(DataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Close(context.Background()) })
	if after := call(t, again, "DescribeDeliveryStream", `{"DeliveryStreamName":"kept"}`).Body.String(); after != before {
		t.Errorf("described after the restart:\n%s\nbefore:\n%s", after, before)
	}
	if rec := call(t, again, "DescribeDeliveryStream", `{"DeliveryStreamName":"gone"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "ResourceNotFoundException") {
		t.Errorf("deleted stream after the restart: %d %s", rec.Code, rec.Body)
	}
}

// A second emulator cannot take a data directory another one is using: it
// would deliver (and remove) the spools the first is still writing.
func TestDataDirTakesOneEmulatorAtATime(t *testing.T) {
	dir := t.TempDir()
	first, err := New(DataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if second, err := New(DataDir(dir)); !errors.Is(err, ErrDataDirInUse) {
		if second != nil {
			_ = second.Close(context.Background())
		}
		t.Fatalf("second New on a dir in use: %v, want ErrDataDirInUse", err)
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, err := New(DataDir(dir))
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	_ = again.Close(context.Background())
}
