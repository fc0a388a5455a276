package emulator

import (
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// This file lists and reads the delivered objects for the S3 API.

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
