package emulator

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The S3 read API serves the delivered files, DIR/<bucket>/<key>, as the S3
// objects Firehose would have written: ListBuckets, ListObjectsV2,
// ListObjects, HeadBucket, GetBucketLocation, HeadObject and GetObject
// (with Range), path-style only (http://host:port/<bucket>/<key>). Nothing
// can be written through it.

const s3XMLNamespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// bucketNamePattern is S3's rule for bucket names (simplified as the
// Firehose BucketARN pattern); directories of the data dir that do not
// match (.tmp, spools) are not buckets.
var bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// sigV4Service returns the service named in a request's SigV4 credential
// scope (Authorization header or presigned X-Amz-Credential), or "".
func sigV4Service(r *http.Request) string {
	cred := ""
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		_, after, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return ""
		}
		cred, _, _ = strings.Cut(after, ",")
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	// access-key/date/region/service/aws4_request
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[len(parts)-2]
}

// isS3Request tells S3 requests apart from Firehose and CloudWatch ones,
// which are all signed POSTs to "/" (or to the rpc-v2-cbor path): a request
// signed for s3, or an unsigned GET/HEAD outside the web page's paths.
func isS3Request(r *http.Request) bool {
	switch sigV4Service(r) {
	case "s3":
		return true
	case "":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return false
		}
		return r.URL.Path != "/" && !strings.HasPrefix(r.URL.Path, webPathPrefix)
	}
	return false
}

type s3Error struct {
	status   int
	code     string
	message  string
	resource string
}

func (e *s3Error) Error() string { return e.code + ": " + e.message }

func s3NoSuchBucket(bucket string) *s3Error {
	return &s3Error{status: http.StatusNotFound, code: "NoSuchBucket", message: "The specified bucket does not exist", resource: bucket}
}

func s3NoSuchKey(key string) *s3Error {
	return &s3Error{status: http.StatusNotFound, code: "NoSuchKey", message: "The specified key does not exist.", resource: key}
}

func s3InvalidArgument(msg string) *s3Error {
	return &s3Error{status: http.StatusBadRequest, code: "InvalidArgument", message: msg}
}

func writeS3Error(w http.ResponseWriter, r *http.Request, e *s3Error) {
	h := w.Header()
	reqID := strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	h.Set("X-Amz-Request-Id", reqID)
	if r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error><Code>")
	xmlText(&b, e.code)
	b.WriteString("</Code><Message>")
	xmlText(&b, e.message)
	b.WriteString("</Message>")
	if e.resource != "" {
		b.WriteString("<Resource>")
		xmlText(&b, e.resource)
		b.WriteString("</Resource>")
	}
	b.WriteString("<RequestId>")
	b.WriteString(reqID)
	b.WriteString("</RequestId></Error>")
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(e.status)
	_, _ = w.Write(b.Bytes())
}

func xmlText(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

func writeS3XML(w http.ResponseWriter, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "could not encode the response", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", strings.ReplaceAll(uuid.NewString(), "-", "")[:16])
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
}

// serveS3 answers a path-style S3 request.
func (s *Server) serveS3(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeS3Error(w, r, &s3Error{status: http.StatusNotImplemented, code: "NotImplemented",
			message: "the emulator serves S3 reads only (ListBuckets, ListObjectsV2, ListObjects, HeadBucket, HeadObject, GetObject)"})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	switch {
	case bucket == "":
		s.s3ListBuckets(w)
	case isStateDir(bucket) || !bucketNamePattern.MatchString(bucket):
		writeS3Error(w, r, s3NoSuchBucket(bucket))
	case key == "":
		s.s3BucketRequest(w, r, bucket)
	default:
		s.s3GetObject(w, r, bucket, key)
	}
}

type s3Bucket struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

type s3Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type listAllMyBucketsResult struct {
	XMLName xml.Name   `xml:"ListAllMyBucketsResult"`
	XMLNS   string     `xml:"xmlns,attr"`
	Owner   s3Owner    `xml:"Owner"`
	Buckets []s3Bucket `xml:"Buckets>Bucket"`
}

// isStateDir reports whether name, a directory directly under the data
// directory, is the emulator's own (DIR/.emulator: streams.json and the
// spools; DIR/.tmp: objects being written) rather than a bucket. No bucket
// name starts with a dot, so every dot-directory there is skipped.
func isStateDir(name string) bool { return strings.HasPrefix(name, ".") }

func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// buckets returns every bucket: those of the streams and those with files
// under the data dir, each with its earliest known creation time.
func (s *Server) buckets() map[string]time.Time {
	out := make(map[string]time.Time)
	for _, st := range s.streamList() {
		st.mu.Lock()
		bucket := st.dest.bucket
		st.mu.Unlock()
		if t, ok := out[bucket]; !ok || st.createdAt.Before(t) {
			out[bucket] = st.createdAt
		}
	}
	entries, _ := os.ReadDir(s.cfg.dataDir)
	for _, e := range entries {
		if !e.IsDir() || isStateDir(e.Name()) || !bucketNamePattern.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if t, ok := out[e.Name()]; !ok || info.ModTime().Before(t) {
			out[e.Name()] = info.ModTime()
		}
	}
	return out
}

func (s *Server) s3ListBuckets(w http.ResponseWriter) {
	res := listAllMyBucketsResult{XMLNS: s3XMLNamespace, Owner: s3Owner{ID: s.cfg.accountID, DisplayName: "firehose-emulator"}}
	for name, created := range s.buckets() {
		res.Buckets = append(res.Buckets, s3Bucket{Name: name, CreationDate: s3Time(created)})
	}
	slices.SortFunc(res.Buckets, func(a, b s3Bucket) int { return strings.Compare(a.Name, b.Name) })
	writeS3XML(w, res)
}

func (s *Server) bucketExists(bucket string) bool {
	_, ok := s.buckets()[bucket]
	return ok
}

func (s *Server) s3BucketRequest(w http.ResponseWriter, r *http.Request, bucket string) {
	if !s.bucketExists(bucket) {
		writeS3Error(w, r, s3NoSuchBucket(bucket))
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodHead:
		w.Header().Set("X-Amz-Bucket-Region", s.cfg.region)
		w.WriteHeader(http.StatusOK)
	case q.Has("location"):
		type locationConstraint struct {
			XMLName xml.Name `xml:"LocationConstraint"`
			XMLNS   string   `xml:"xmlns,attr"`
			Region  string   `xml:",chardata"`
		}
		region := s.cfg.region
		if region == "us-east-1" {
			region = "" // S3 answers an empty constraint for us-east-1
		}
		writeS3XML(w, locationConstraint{XMLNS: s3XMLNamespace, Region: region})
	case q.Get("list-type") == "2":
		s.s3ListObjects(w, r, bucket, true)
	case len(q) == 0 || q.Has("prefix") || q.Has("delimiter") || q.Has("marker") || q.Has("max-keys") || q.Has("encoding-type"):
		s.s3ListObjects(w, r, bucket, false)
	default:
		writeS3Error(w, r, &s3Error{status: http.StatusNotImplemented, code: "NotImplemented",
			message: "the emulator does not implement this bucket operation: " + r.URL.RawQuery})
	}
}
