package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// inProcessFirehose is a Firehose client served by srv's handler in the
// calling goroutine, so a synctest bubble holds the whole exchange.
func inProcessFirehose(srv *Server) *firehose.Client {
	cfg := awsConfig()
	cfg.HTTPClient = handlerClient{srv}
	return firehose.NewFromConfig(cfg, func(o *firehose.Options) {
		o.BaseEndpoint = aws.String("http://emulator.invalid")
		o.RetryMaxAttempts = 1
	})
}

// describeJSON is the stream's description as JSON, for comparing two.
func describeJSON(t *testing.T, fh *firehose.Client, name string) string {
	t.Helper()
	b, err := json.MarshalIndent(describe(t, fh, name), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Everything UpdateDestination, the encryption calls, tagging, CreateDelay
// and DeleteDeliveryStream change is described the same after a restart
// on the same data directory, and objects written after it carry the
// version id the stream had.
func TestStreamStatePersistsAcrossRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 30 * time.Second
		dir := t.TempDir()
		open := func() (*Server, *firehose.Client) {
			t.Helper()
			srv, err := New(DataDir(dir), NoQuotas(), CreateDelay(delay))
			if err != nil {
				t.Fatal(err)
			}
			return srv, inProcessFirehose(srv)
		}
		ctx := context.Background()
		srv, fh := open()
		for _, name := range []string{"upd", "enc-off", "gone"} {
			createStream(t, fh, name, name+"-bucket", "old/", 5, 300)
		}
		time.Sleep(delay) // ACTIVE
		_, err := fh.UpdateDestination(ctx, &firehose.UpdateDestinationInput{DeliveryStreamName: aws.String("upd"),
			CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: aws.String(destinationID),
			ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("new/"), ErrorOutputPrefix: aws.String("err/"),
				BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(60)}}})
		if err != nil {
			t.Fatalf("UpdateDestination: %v", err)
		}
		for _, name := range []string{"upd", "enc-off"} {
			_, err := fh.StartDeliveryStreamEncryption(ctx, &firehose.StartDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String(name),
				DeliveryStreamEncryptionConfigurationInput: &types.DeliveryStreamEncryptionConfigurationInput{
					KeyType: types.KeyTypeCustomerManagedCmk, KeyARN: aws.String("arn:aws:kms:us-east-1:000000000000:key/k1")}})
			if err != nil {
				t.Fatalf("StartDeliveryStreamEncryption %s: %v", name, err)
			}
		}
		time.Sleep(delay) // ENABLED
		if _, err := fh.StopDeliveryStreamEncryption(ctx, &firehose.StopDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("enc-off")}); err != nil {
			t.Fatalf("StopDeliveryStreamEncryption: %v", err)
		}
		if _, err := fh.TagDeliveryStream(ctx, &firehose.TagDeliveryStreamInput{DeliveryStreamName: aws.String("upd"),
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}); err != nil {
			t.Fatalf("TagDeliveryStream: %v", err)
		}
		if _, err := fh.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("gone")}); err != nil {
			t.Fatalf("DeleteDeliveryStream: %v", err)
		}
		createStream(t, fh, "young", "young-bucket", "", 5, 300) // CREATING
		if _, err := fh.StartDeliveryStreamEncryption(ctx, &firehose.StartDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("upd")}); err != nil {
			t.Fatalf("StartDeliveryStreamEncryption upd again: %v", err) // ENABLING again, AWS-owned key
		}

		want := map[string]string{}
		for _, name := range []string{"upd", "enc-off", "young"} {
			want[name] = describeJSON(t, fh, name)
		}
		tests := []struct {
			name   string
			status types.DeliveryStreamStatus
			enc    types.DeliveryStreamEncryptionStatus
			ver    string
		}{
			{"upd", types.DeliveryStreamStatusActive, types.DeliveryStreamEncryptionStatusEnabling, "4"},
			{"enc-off", types.DeliveryStreamStatusActive, types.DeliveryStreamEncryptionStatusDisabling, "3"},
			{"young", types.DeliveryStreamStatusCreating, types.DeliveryStreamEncryptionStatusDisabled, "1"},
		}
		check := func(fh *firehose.Client, when string) {
			t.Helper()
			for _, tt := range tests {
				d := describe(t, fh, tt.name)
				if d.DeliveryStreamStatus != tt.status || d.DeliveryStreamEncryptionConfiguration.Status != tt.enc || aws.ToString(d.VersionId) != tt.ver {
					t.Errorf("%s %s: %s, encryption %s, version %s; want %s, %s, %s", when, tt.name, d.DeliveryStreamStatus,
						d.DeliveryStreamEncryptionConfiguration.Status, aws.ToString(d.VersionId), tt.status, tt.enc, tt.ver)
				}
			}
		}
		check(fh, "before the restart")
		if err := srv.Close(ctx); err != nil {
			t.Fatal(err)
		}

		srv, fh = open()
		defer func() {
			if err := srv.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		check(fh, "after the restart")
		for name, before := range want {
			if after := describeJSON(t, fh, name); after != before {
				t.Errorf("%s described after the restart:\n%s\nbefore:\n%s", name, after, before)
			}
		}
		if _, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("gone")}); errorCode(err) != "ResourceNotFoundException" {
			t.Errorf("the deleted stream after the restart: %v, want ResourceNotFoundException", err)
		}
		out, err := fh.ListTagsForDeliveryStream(ctx, &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("upd")})
		if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Value) != "a" {
			t.Errorf("tags after the restart: %v %v", out, err)
		}

		time.Sleep(delay) // the changes settle as they would have without the restart
		tests[0].enc = types.DeliveryStreamEncryptionStatusEnabled
		tests[1].enc = types.DeliveryStreamEncryptionStatusDisabled
		tests[2].status = types.DeliveryStreamStatusActive
		check(fh, "after the delay")
		if o, err := putOne(ctx, fh, "upd", "after\n"); err != nil || !aws.ToBool(o.Encrypted) {
			t.Fatalf("PutRecord after the restart: %v (encrypted %v, want true)", err, o != nil && aws.ToBool(o.Encrypted))
		}
		if err := srv.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		keys, _ := deliveredFiles(t, dir, "upd-bucket")
		if len(keys) != 1 || !strings.HasPrefix(keys[0], "new/") || !strings.Contains(keys[0], "/upd-4-") {
			t.Errorf("objects %q, want one under new/ with version 4 in its name", keys)
		}
	})
}

// A spool left by a killed emulator is delivered under the key it was given
// when its first record arrived, version id included, even though the
// stream's version changed since.
func TestRecoveredSpoolKeepsItsVersionedKey(t *testing.T) {
	dir := t.TempDir()
	srv, err := New(DataDir(dir), NoQuotas())
	if err != nil {
		t.Fatal(err)
	}
	fh := inProcessFirehose(srv)
	ctx := ctxTimeout(t)
	createStream(t, fh, "ver", "ver-bucket", "p/", 5, 300)
	if _, err := fh.StartDeliveryStreamEncryption(ctx, &firehose.StartDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("ver")}); err != nil {
		t.Fatal(err)
	}
	if _, err := putOne(ctx, fh, "ver", "kept\n"); err != nil {
		t.Fatal(err)
	}
	// A killed emulator leaves its spool; keep a copy as it is now.
	spools, err := filepath.Glob(filepath.Join(dir, ".emulator", "spool", "*.spool"))
	if err != nil || len(spools) != 1 {
		t.Fatalf("spools %v %v, want one", spools, err)
	}
	saved, err := os.ReadFile(spools[0])
	if err != nil {
		t.Fatal(err)
	}
	// The stream changes after the spool began: version 3.
	if _, err := fh.StopDeliveryStreamEncryption(ctx, &firehose.StopDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("ver")}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	keys, contents := deliveredFiles(t, dir, "ver-bucket")
	if len(keys) != 1 || !strings.Contains(keys[0], "/ver-2-") || string(contents[0]) != "kept\n" {
		t.Fatalf("delivered %q %q, want one object with version 2 in its key", keys, contents)
	}
	// Replay the crash: the object was never written, the spool is there.
	if err := os.Remove(filepath.Join(dir, "ver-bucket", filepath.FromSlash(keys[0]))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spools[0], saved, 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := New(DataDir(dir), NoQuotas())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Close(context.Background()) })
	if d := describe(t, inProcessFirehose(again), "ver"); aws.ToString(d.VersionId) != "3" {
		t.Errorf("VersionId after the restart %s, want 3", aws.ToString(d.VersionId))
	}
	redelivered, recovered := deliveredFiles(t, dir, "ver-bucket")
	if !slices.Equal(redelivered, keys) || string(recovered[0]) != "kept\n" {
		t.Errorf("re-delivered %q %q, want the same key %q", redelivered, recovered, keys)
	}
}

// The S3 read API and the web page show buckets only, never the emulator's
// own state under DIR/.emulator (streams.json, the spools) or DIR/.tmp.
func TestS3HidesEmulatorState(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	ctx := ctxTimeout(t)
	createStream(t, fh, "seen", "seen-bucket", "", 5, 300)
	deliverFiles(t, srv, fh, "seen", "seen-bucket", [][]string{{"delivered\n"}})
	if _, err := putOne(ctx, fh, "seen", "buffered\n"); err != nil { // a spool
		t.Fatal(err)
	}
	// A directory of the user's own starting with a dot is no bucket either.
	if err := os.MkdirAll(filepath.Join(srv.DataDir(), ".hidden", "x"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(srv.DataDir(), ".hidden", "x", "f"), []byte("f"), 0o600); err != nil {
		t.Fatal(err)
	}
	spools, _ := filepath.Glob(filepath.Join(srv.DataDir(), ".emulator", "spool", "*.spool"))
	for _, p := range []string{".emulator/streams.json", ".tmp"} {
		if _, err := os.Stat(filepath.Join(srv.DataDir(), filepath.FromSlash(p))); err != nil || len(spools) != 1 {
			t.Fatalf("the emulator's state is not where this test looks: %v, spools %q", err, spools)
		}
	}
	spoolKey := ".emulator/spool/" + filepath.Base(spools[0])

	c := s3Client(url)
	buckets, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range buckets.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if !slices.Equal(names, []string{"seen-bucket"}) {
		t.Errorf("ListBuckets: %q, want only seen-bucket", names)
	}

	tests := []struct{ bucket, key string }{
		{".emulator", "streams.json"},
		{".emulator", "spool/" + filepath.Base(spools[0])},
		{".tmp", ""},
		{".hidden", "x/f"},
	}
	for _, tt := range tests {
		t.Run(tt.bucket+"/"+tt.key, func(t *testing.T) {
			if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(tt.bucket)}); errorCode(err) != "NoSuchBucket" {
				t.Errorf("ListObjectsV2: %v, want NoSuchBucket", err)
			}
			if _, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(tt.bucket)}); errorCode(err) != "NoSuchBucket" {
				t.Errorf("ListObjects: %v, want NoSuchBucket", err)
			}
			if tt.key == "" {
				return
			}
			if out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(tt.bucket), Key: aws.String(tt.key)}); errorCode(err) != "NoSuchBucket" {
				if err == nil {
					out.Body.Close()
				}
				t.Errorf("GetObject: %v, want NoSuchBucket", err)
			}
			if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(tt.bucket), Key: aws.String(tt.key)}); err == nil {
				t.Errorf("HeadObject succeeded, want an error")
			}
		})
	}

	// Plain GETs, as a browser or curl would send them.
	for _, path := range []string{"/.emulator/streams.json", "/" + spoolKey, "/seen-bucket/../.emulator/streams.json", "/.emulator/"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "seen-bucket") || strings.Contains(string(body), "buffered") {
			t.Errorf("GET %s: %d %q, want 404 without the state", path, resp.StatusCode, body)
		}
	}

	// The web page's newest objects are the delivered one only.
	var state webState
	if status, _, body := getBody(t, url+webStatePath, nil); status != http.StatusOK || json.Unmarshal(body, &state) != nil {
		t.Fatalf("state: %d %s", status, body)
	}
	if len(state.Objects) != 1 || state.Objects[0].Bucket != "seen-bucket" || state.Totals.Count != 1 {
		t.Errorf("web page objects %+v (total %d), want the one delivered object", state.Objects, state.Totals.Count)
	}
}
