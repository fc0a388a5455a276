package emulator

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func s3Client(url string) *s3.Client {
	return s3.NewFromConfig(awsConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})
}

// deliverFiles puts each batch and flushes after it, so each batch becomes
// one delivered file; it returns the delivered keys and contents.
func deliverFiles(t *testing.T, srv *Server, fh *firehose.Client, stream, bucket string, batches [][]string) map[string][]byte {
	t.Helper()
	ctx := ctxTimeout(t)
	before, _ := deliveredFiles(t, srv.DataDir(), bucket)
	for _, batch := range batches {
		recs := make([]types.Record, len(batch))
		for i, r := range batch {
			recs[i] = types.Record{Data: []byte(r)}
		}
		out, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: recs})
		if err != nil || aws.ToInt32(out.FailedPutCount) != 0 {
			t.Fatalf("PutRecordBatch: %v (failed %d)", err, aws.ToInt32(out.FailedPutCount))
		}
		if err := srv.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
	}
	keys, contents := deliveredFiles(t, srv.DataDir(), bucket)
	m := make(map[string][]byte, len(keys))
	for i, k := range keys {
		if !slices.Contains(before, k) {
			m[k] = contents[i]
		}
	}
	if len(m) != len(batches) {
		t.Fatalf("delivered %d new files, want %d", len(m), len(batches))
	}
	return m
}

// binaryBatches are records with every byte value, newlines and UTF-8.
func binaryBatches(n int) [][]string {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	out := make([][]string, n)
	for i := range out {
		out[i] = []string{fmt.Sprintf(`{"file":%d,"text":"héllo ✓"}`+"\n", i), string(all), strings.Repeat("x", 1000*(i+1)) + "\n"}
	}
	return out
}

func TestS3AWSCLIListAndCopyByteForByte(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI")
	}
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	createStream(t, fh, "cli-s3", "cli-bucket", "logs/", 5, 300)
	want := deliverFiles(t, srv, fh, "cli-s3", "cli-bucket", binaryBatches(3))

	stdout, stderr, code := awsCLI(t, url, "s3", "ls", "s3://cli-bucket", "--recursive")
	if code != 0 {
		t.Fatalf("aws s3 ls: exit %d: %s", code, stderr)
	}
	got := map[string]int{}
	for line := range strings.Lines(strings.TrimSpace(stdout)) {
		// "2026-11-30 22:21:45        16 logs/2026/..."
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("aws s3 ls line %q", line)
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			t.Fatalf("aws s3 ls line %q: %v", line, err)
		}
		got[f[3]] = size
	}
	if len(got) != len(want) {
		t.Fatalf("aws s3 ls listed %v, want the keys of %d files", got, len(want))
	}
	for key, data := range want {
		if got[key] != len(data) {
			t.Errorf("aws s3 ls: %s has size %d, want %d", key, got[key], len(data))
		}
		out, stderr, code := awsCLI(t, url, "s3", "cp", "s3://cli-bucket/"+key, "-")
		if code != 0 {
			t.Fatalf("aws s3 cp %s: exit %d: %s", key, code, stderr)
		}
		if out != string(data) {
			t.Errorf("aws s3 cp %s: got %d bytes, want %d (byte for byte)", key, len(out), len(data))
		}
	}

	// Over 8 MiB the CLI downloads in ranged parts, several at once.
	createStream(t, fh, "cli-big", "cli-bucket", "big/", 128, 900)
	for i := range 3 {
		rec := strings.Repeat(fmt.Sprintf("%c%s", 'a'+i, binaryBatches(1)[0][1]), 950_000/257)
		putRecords := []string{rec, rec + "1", rec + "22", rec + "333"}
		if _, err := fh.PutRecordBatch(ctxTimeout(t), &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("cli-big"), Records: batchOf(putRecords...)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Flush(ctxTimeout(t)); err != nil {
		t.Fatal(err)
	}
	keys, contents := deliveredFiles(t, srv.DataDir(), "cli-bucket")
	bigFiles := 0
	for i, key := range keys {
		if !strings.HasPrefix(key, "big/") {
			continue
		}
		bigFiles++
		if len(contents[i]) <= 8<<20 {
			t.Fatalf("the big object has %d bytes, want over 8 MiB", len(contents[i]))
		}
		out, stderr, code := awsCLI(t, url, "s3", "cp", "s3://cli-bucket/"+key, "-")
		if code != 0 || out != string(contents[i]) {
			t.Errorf("aws s3 cp of %d bytes: exit %d, got %d bytes (%s)", len(contents[i]), code, len(out), stderr)
		}
	}
	if bigFiles != 1 {
		t.Errorf("%d big objects, want 1", bigFiles)
	}
	stdout, stderr, code = awsCLI(t, url, "s3", "ls")
	if code != 0 || !strings.Contains(stdout, " cli-bucket\n") {
		t.Errorf("aws s3 ls (buckets): exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	_, stderr, code = awsCLI(t, url, "s3", "cp", "s3://cli-bucket/logs/missing", "-")
	if code == 0 || !strings.Contains(stderr, "404") {
		t.Errorf("aws s3 cp of a missing key: exit %d, stderr %s; want a 404 failure", code, stderr)
	}
}

func TestS3SDKListObjectsV2(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	createStream(t, fh, "sdk-a", "sdk-bucket", "a/", 5, 300)
	createStream(t, fh, "sdk-b", "sdk-bucket", "b c+d/", 5, 300)
	createStream(t, fh, "sdk-empty", "empty-bucket", "", 5, 300)
	wantA := deliverFiles(t, srv, fh, "sdk-a", "sdk-bucket", binaryBatches(3))
	all := deliverFiles(t, srv, fh, "sdk-b", "sdk-bucket", binaryBatches(2))
	maps.Copy(all, wantA)
	allKeys := slices.Sorted(func(yield func(string) bool) {
		for k := range all {
			if !yield(k) {
				return
			}
		}
	})
	aKeys := slices.Sorted(func(yield func(string) bool) {
		for k := range wantA {
			if !yield(k) {
				return
			}
		}
	})
	c := s3Client(url)
	ctx := ctxTimeout(t)

	listAll := func(t *testing.T, in *s3.ListObjectsV2Input) (keys, prefixes []string, pages int) {
		t.Helper()
		p := s3.NewListObjectsV2Paginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			pages++
			if n := len(out.Contents) + len(out.CommonPrefixes); int32(n) != aws.ToInt32(out.KeyCount) {
				t.Errorf("KeyCount %d, entries %d", aws.ToInt32(out.KeyCount), n)
			}
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
		}
		return keys, prefixes, pages
	}

	tests := []struct {
		name         string
		in           s3.ListObjectsV2Input
		wantKeys     []string
		wantPrefixes []string
		wantPages    int
	}{
		{name: "everything", in: s3.ListObjectsV2Input{}, wantKeys: allKeys, wantPages: 1},
		{name: "paged by two", in: s3.ListObjectsV2Input{MaxKeys: aws.Int32(2)}, wantKeys: allKeys, wantPages: 3},
		{name: "prefix", in: s3.ListObjectsV2Input{Prefix: aws.String("a/")}, wantKeys: aKeys, wantPages: 1},
		{name: "prefix mid-segment", in: s3.ListObjectsV2Input{Prefix: aws.String("a/20")}, wantKeys: aKeys, wantPages: 1},
		{name: "no match", in: s3.ListObjectsV2Input{Prefix: aws.String("zzz/")}, wantPages: 1},
		{name: "delimiter at the top", in: s3.ListObjectsV2Input{Delimiter: aws.String("/")}, wantPrefixes: []string{"a/", "b c+d/"}, wantPages: 1},
		{name: "delimiter paged", in: s3.ListObjectsV2Input{Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)}, wantPrefixes: []string{"a/", "b c+d/"}, wantPages: 2},
		{name: "start after", in: s3.ListObjectsV2Input{StartAfter: aws.String(aKeys[0])}, wantKeys: allKeys[1:], wantPages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Bucket = aws.String("sdk-bucket")
			keys, prefixes, pages := listAll(t, &in)
			if !slices.Equal(keys, tt.wantKeys) || !slices.Equal(prefixes, tt.wantPrefixes) || pages != tt.wantPages {
				t.Errorf("keys %q prefixes %q in %d pages; want %q %q in %d", keys, prefixes, pages, tt.wantKeys, tt.wantPrefixes, tt.wantPages)
			}
		})
	}

	t.Run("encoding-type url", func(t *testing.T) {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("sdk-bucket"), Prefix: aws.String("b c"),
			EncodingType: s3types.EncodingTypeUrl})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) != 2 {
			t.Fatalf("listed %d objects, want 2", len(out.Contents))
		}
		// The Go SDK leaves the decoding to the caller.
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); !strings.HasPrefix(k, "b+c%2Bd/") {
				t.Errorf("encoded key %q, want it to start with b+c%%2Bd/", k)
			}
		}
	})

	t.Run("ListObjects v1 with markers", func(t *testing.T) {
		var keys []string
		var marker *string
		for pages := 1; ; pages++ {
			out, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("sdk-bucket"), MaxKeys: aws.Int32(2), Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			if pages > len(allKeys) {
				t.Fatal("IsTruncated never ends")
			}
			marker = out.Contents[len(out.Contents)-1].Key
		}
		if !slices.Equal(keys, allKeys) {
			t.Errorf("keys %q, want %q", keys, allKeys)
		}
		out, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("sdk-bucket"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.CommonPrefixes) != 1 || aws.ToString(out.NextMarker) != "a/" || !aws.ToBool(out.IsTruncated) {
			t.Errorf("with a delimiter: prefixes %d, NextMarker %q, truncated %v; want 1, a/, true", len(out.CommonPrefixes), aws.ToString(out.NextMarker), aws.ToBool(out.IsTruncated))
		}
	})

	t.Run("ListBuckets", func(t *testing.T) {
		out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range out.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
		if !slices.Equal(names, []string{"empty-bucket", "sdk-bucket"}) {
			t.Errorf("buckets %q", names)
		}
	})

	t.Run("missing bucket", func(t *testing.T) {
		_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("no-such-bucket")})
		var nsb *s3types.NoSuchBucket
		if !errors.As(err, &nsb) {
			t.Errorf("err %v, want NoSuchBucket", err)
		}
		if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("empty-bucket")}); err != nil {
			t.Errorf("HeadBucket of a stream's bucket with no files: %v", err)
		}
	})
}

func TestS3SDKGetAndHeadObject(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	createStream(t, fh, "get", "get-bucket", "x/", 5, 300)
	files := deliverFiles(t, srv, fh, "get", "get-bucket", binaryBatches(1))
	var key string
	var data []byte
	for k, v := range files {
		key, data = k, v
	}
	c := s3Client(url)
	ctx := ctxTimeout(t)
	sum := md5.Sum(data)
	wantETag := `"` + hex.EncodeToString(sum[:]) + `"`

	tests := []struct {
		name  string
		rng   string
		want  []byte
		whole bool
	}{
		{name: "whole", want: data, whole: true},
		{name: "range", rng: "bytes=3-40", want: data[3:41]},
		{name: "suffix range", rng: "bytes=-10", want: data[len(data)-10:]},
		{name: "open range", rng: "bytes=100-", want: data[100:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &s3.GetObjectInput{Bucket: aws.String("get-bucket"), Key: aws.String(key)}
			if tt.rng != "" {
				in.Range = aws.String(tt.rng)
			}
			out, err := c.GetObject(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			got, err := io.ReadAll(out.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tt.want) {
				t.Errorf("got %d bytes, want %d", len(got), len(tt.want))
			}
			if aws.ToString(out.ETag) != wantETag {
				t.Errorf("ETag %s, want %s", aws.ToString(out.ETag), wantETag)
			}
			if tt.whole == (out.ContentRange != nil) {
				t.Errorf("Content-Range %v for range %q", aws.ToString(out.ContentRange), tt.rng)
			}
		})
	}

	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("get-bucket"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(data)) || aws.ToString(head.ETag) != wantETag {
		t.Errorf("HeadObject: length %d ETag %s, want %d %s", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), len(data), wantETag)
	}

	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("get-bucket"), Key: aws.String("x/missing")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject of a missing key: %v, want NoSuchKey", err)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("get-bucket"), Key: aws.String("x/missing")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject of a missing key: %v, want NotFound", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("get-bucket"), Key: aws.String("x/new"), Body: strings.NewReader("x")})
	if err == nil {
		t.Errorf("PutObject succeeded; the S3 API is read-only")
	}
}

// TestS3KeysStayInsideTheBucket asks for objects through paths that would
// leave the bucket's directory; none may be served.
func TestS3KeysStayInsideTheBucket(t *testing.T) {
	srv, url := startServer(t, NoQuotas())
	fh := firehoseClient(url, 1)
	createStream(t, fh, "inside", "inside-bucket", "", 5, 300)
	deliverFiles(t, srv, fh, "inside", "inside-bucket", binaryBatches(1))
	secret := filepath.Join(srv.DataDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(srv.DataDir(), "inside-bucket", "link")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/inside-bucket/../secret.txt", "/inside-bucket/%2e%2e/secret.txt", "/inside-bucket/..%2fsecret.txt",
		"/inside-bucket/link", "/inside-bucket/./link", "/inside-bucket//etc/passwd", "/inside-bucket/2026",
		"/.tmp/x", "/secret.txt",
	} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctxTimeout(t), http.MethodGet, url+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || string(body) == "secret" {
				t.Errorf("GET %s: %d %q, want 404", path, resp.StatusCode, body)
			}
		})
	}
}
