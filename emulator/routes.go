package emulator

import (
	"net/http"
	"strings"
)

// webPathPrefix holds the web page's assets and its JSON API; bucket names
// cannot start with "_", so it never shadows an S3 path.
const webPathPrefix = "/_emulator/"

// serveSurface serves the requests that are neither Firehose nor
// CloudWatch: S3 reads (s3api.go) and the web page (web.go). It reports
// whether it answered.
func (s *Server) serveSurface(w http.ResponseWriter, r *http.Request) bool {
	if isS3Request(r) {
		s.serveS3(w, r)
		return true
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, webPathPrefix) {
		s.serveWeb(w, r)
		return true
	}
	return false
}
