package emulator

import "net/http"

func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
