package emulator

import (
	"bytes"
	"crypto/md5" //nolint:gosec // S3's ETag of a single-part object is its MD5, not a security measure
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// s3Object is one delivered file seen as an object.
type s3Object struct {
	key     string
	size    int64
	modTime time.Time
	path    string
}

// listBucket returns the objects of bucket whose keys start with prefix,
// sorted by key (S3 orders keys by their UTF-8 bytes).
func (s *Server) listBucket(bucket, prefix string) ([]s3Object, error) {
	root := filepath.Join(s.cfg.dataDir, bucket)
	// Walk only the directory that holds the prefix's last complete segment.
	start := root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(root, filepath.FromSlash(prefix[:i]))
		if rel, err := filepath.Rel(root, start); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, nil
		}
	}
	var out []s3Object
	//nolint:gosec // start was checked above to stay inside the bucket directory
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil //nolint:nilerr // a path outside the bucket is not an object
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil //nolint:nilerr // the file went away during the walk
		}
		out = append(out, s3Object{key: key, size: info.Size(), modTime: info.ModTime(), path: p})
		return nil
	})
	slices.SortFunc(out, func(a, b s3Object) int { return strings.Compare(a.key, b.key) })
	return out, err
}

type s3Contents struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type s3CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName               xml.Name         `xml:"ListBucketResult"`
	XMLNS                 string           `xml:"xmlns,attr"`
	Name                  string           `xml:"Name"`
	Prefix                string           `xml:"Prefix"`
	Marker                *string          `xml:"Marker,omitempty"`
	NextMarker            string           `xml:"NextMarker,omitempty"`
	StartAfter            string           `xml:"StartAfter,omitempty"`
	ContinuationToken     string           `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string           `xml:"NextContinuationToken,omitempty"`
	KeyCount              *int             `xml:"KeyCount,omitempty"`
	MaxKeys               int              `xml:"MaxKeys"`
	Delimiter             string           `xml:"Delimiter,omitempty"`
	EncodingType          string           `xml:"EncodingType,omitempty"`
	IsTruncated           bool             `xml:"IsTruncated"`
	Contents              []s3Contents     `xml:"Contents"`
	CommonPrefixes        []s3CommonPrefix `xml:"CommonPrefixes"`
}

// s3URLEncode encodes a key as S3 does for encoding-type=url (botocore
// decodes it with unquote_plus); slashes stay readable.
func s3URLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

func (s *Server) s3ListObjects(w http.ResponseWriter, r *http.Request, bucket string, v2 bool) {
	q := r.URL.Query()
	prefix, delimiter := q.Get("prefix"), q.Get("delimiter")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeS3Error(w, r, s3InvalidArgument("Provided max-keys not an integer or within integer range"))
			return
		}
		maxKeys = min(n, 1000)
	}
	encoding := q.Get("encoding-type")
	if encoding != "" && encoding != "url" {
		writeS3Error(w, r, s3InvalidArgument("Invalid Encoding Method specified in Request"))
		return
	}
	enc := func(s string) string { return s }
	if encoding == "url" {
		enc = s3URLEncode
	}
	res := listBucketResult{XMLNS: s3XMLNamespace, Name: bucket, Prefix: enc(prefix), MaxKeys: maxKeys,
		Delimiter: enc(delimiter), EncodingType: encoding}
	after := ""
	if v2 {
		after = q.Get("start-after")
		res.StartAfter = enc(after)
		if tok := q.Get("continuation-token"); tok != "" {
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				writeS3Error(w, r, s3InvalidArgument("The continuation token provided is incorrect"))
				return
			}
			res.ContinuationToken = tok
			after = string(raw)
		}
	} else {
		after = q.Get("marker")
		marker := enc(after)
		res.Marker = &marker
	}

	objects, err := s.listBucket(bucket, prefix)
	if err != nil {
		writeS3Error(w, r, &s3Error{status: http.StatusInternalServerError, code: "InternalError", message: "could not list the bucket"})
		s.log.Error("emulator: s3 list", "bucket", bucket, "error", err)
		return
	}
	last := ""
	count := 0
	for _, o := range objects {
		if o.key <= after {
			continue
		}
		if delimiter != "" {
			if i := strings.Index(o.key[len(prefix):], delimiter); i >= 0 {
				cp := o.key[:len(prefix)+i+len(delimiter)]
				if cp == last || (strings.HasPrefix(after, cp)) {
					continue
				}
				if count == maxKeys {
					res.IsTruncated = true
					break
				}
				res.CommonPrefixes = append(res.CommonPrefixes, s3CommonPrefix{Prefix: enc(cp)})
				last = cp
				count++
				continue
			}
		}
		if count == maxKeys {
			res.IsTruncated = true
			break
		}
		etag, err := s.etags.get(o, func() (io.ReadCloser, error) { return os.Open(o.path) })
		if err != nil {
			continue // the file went away after the walk
		}
		res.Contents = append(res.Contents, s3Contents{Key: enc(o.key), LastModified: s3Time(o.modTime),
			ETag: etag, Size: o.size, StorageClass: "STANDARD"})
		last = o.key
		count++
	}
	if res.IsTruncated {
		if v2 {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
		} else if delimiter != "" {
			res.NextMarker = enc(last)
		}
	}
	if v2 {
		res.KeyCount = &count
	}
	writeS3XML(w, res)
}

// s3GetObject answers GetObject and HeadObject. http.ServeContent handles
// Range, If-Modified-Since and If-None-Match.
func (s *Server) s3GetObject(w http.ResponseWriter, r *http.Request, bucket, key string) {
	if !s.bucketExists(bucket) {
		writeS3Error(w, r, s3NoSuchBucket(bucket))
		return
	}
	if r.URL.Query().Has("uploadId") || r.URL.Query().Has("tagging") || r.URL.Query().Has("acl") {
		writeS3Error(w, r, &s3Error{status: http.StatusNotImplemented, code: "NotImplemented",
			message: "the emulator does not implement this object operation: " + r.URL.RawQuery})
		return
	}
	root, err := os.OpenRoot(filepath.Join(s.cfg.dataDir, bucket))
	if err != nil {
		writeS3Error(w, r, s3NoSuchKey(key))
		return
	}
	defer root.Close()
	// os.Root refuses names that leave the bucket directory (.., symlinks);
	// a key naming a directory, or with empty or "." segments, is no object.
	if !fs.ValidPath(key) {
		writeS3Error(w, r, s3NoSuchKey(key))
		return
	}
	f, err := root.Open(filepath.FromSlash(key))
	if err != nil {
		writeS3Error(w, r, s3NoSuchKey(key))
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		writeS3Error(w, r, s3NoSuchKey(key))
		return
	}
	obj := s3Object{key: key, size: info.Size(), modTime: info.ModTime(), path: filepath.Join(s.cfg.dataDir, bucket, filepath.FromSlash(key))}
	etag, err := s.etags.get(obj, func() (io.ReadCloser, error) { return root.Open(filepath.FromSlash(key)) })
	if err != nil {
		writeS3Error(w, r, s3NoSuchKey(key))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "binary/octet-stream")
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Amz-Request-Id", strings.ReplaceAll(uuid.NewString(), "-", "")[:16])
	http.ServeContent(w, r, "", info.ModTime(), f)
}

// etagCache keeps the MD5 ETag of each delivered file: files are written
// once (renamed into place) and never changed, so size and modification
// time identify a version.
type etagCache struct {
	mu sync.Mutex
	m  map[string]etagEntry
}

type etagEntry struct {
	size    int64
	modTime time.Time
	etag    string
}

// maxETagCacheEntries bounds the cache; past it, the cache starts afresh.
const maxETagCacheEntries = 100_000

// get returns the ETag of o, hashing what open returns unless the cache
// knows this version of o.path.
func (c *etagCache) get(o s3Object, open func() (io.ReadCloser, error)) (string, error) {
	c.mu.Lock()
	e, ok := c.m[o.path]
	c.mu.Unlock()
	if ok && e.size == o.size && e.modTime.Equal(o.modTime) {
		return e.etag, nil
	}
	f, err := open()
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New() //nolint:gosec // see the import
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", o.path, err)
	}
	etag := `"` + hex.EncodeToString(h.Sum(nil)) + `"`
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxETagCacheEntries {
		c.m = make(map[string]etagEntry)
	}
	c.m[o.path] = etagEntry{size: o.size, modTime: o.modTime, etag: etag}
	c.mu.Unlock()
	return etag, nil
}
