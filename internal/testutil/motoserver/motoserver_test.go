package motoserver

import (
	"context"
	"net/http"
	"testing"
)

func TestStartAnswers(t *testing.T) {
	srv := Start(t)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/moto-api/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moto_server at %s: %v", srv.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /moto-api/: status %d", resp.StatusCode)
	}
}
