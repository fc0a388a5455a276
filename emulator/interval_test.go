package emulator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// call sends one Firehose request straight to the handler.
func call(t *testing.T, srv *Server, op, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "Firehose_20150804."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

func TestIntervalHintWritesTheBuffer(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		srv, err := New(DataDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close(context.Background())
		if rec := call(t, srv, "CreateDeliveryStream", `{"DeliveryStreamName":"iv","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::iv-bucket","RoleARN":"r","BufferingHints":{"SizeInMBs":5,"IntervalInSeconds":60}}}`); rec.Code != http.StatusOK {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		// "aGVsbG8=" is "hello".
		if rec := call(t, srv, "PutRecord", `{"DeliveryStreamName":"iv","Record":{"Data":"aGVsbG8="}}`); rec.Code != http.StatusOK {
			t.Fatalf("put: %d %s", rec.Code, rec.Body)
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if got := allDelivered(t, dir, "iv-bucket"); got != "" {
			t.Fatalf("written after 59s of a 60s interval: %q", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := allDelivered(t, dir, "iv-bucket"); got != "hello" {
			t.Fatalf("after the interval: %q, want %q", got, "hello")
		}
	})
}

func TestServeHTTPAfterCloseRefusesPuts(t *testing.T) {
	srv, err := New(DataDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if rec := call(t, srv, "CreateDeliveryStream", `{"DeliveryStreamName":"c","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::c-bucket","RoleARN":"r"}}`); rec.Code != http.StatusOK {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, srv, "PutRecord", `{"DeliveryStreamName":"c","Record":{"Data":"YQ=="}}`); rec.Code != http.StatusOK {
		t.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := call(t, srv, "PutRecord", `{"DeliveryStreamName":"c","Record":{"Data":"Yg=="}}`)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "ServiceUnavailableException") {
		t.Errorf("put after Close: %d %s, want 500 ServiceUnavailableException", rec.Code, rec.Body)
	}
	if got := allDelivered(t, srv.DataDir(), "c-bucket"); got != "a" {
		t.Errorf("delivered %q, want %q", got, "a")
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{name: "empty data dir", opts: []Option{DataDir("")}},
		{name: "negative quota", opts: []Option{Quotas(QuotaConfig{RecordsPerSecond: -1})}},
		{name: "rate above 1", opts: []Option{Faults(FaultConfig{RecordErrorRate: 1.01})}},
		{name: "negative rate", opts: []Option{Faults(FaultConfig{LostResponseRate: -0.1})}},
		{name: "negative latency", opts: []Option{Faults(FaultConfig{Latency: -time.Second})}},
		{name: "negative metrics delay", opts: []Option{MetricsDelay(-time.Second)}},
		{name: "bad account", opts: []Option{AccountID("12")}},
		{name: "empty region", opts: []Option{Region("")}},
		{name: "nil clock", opts: []Option{Clock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := New(append([]Option{DataDir(t.TempDir())}, tt.opts...)...)
			if err == nil {
				_ = srv.Close(context.Background())
				t.Fatal("New accepted invalid options")
			}
			if !errors.Is(err, ErrInvalidOption) {
				t.Errorf("error %v does not wrap ErrInvalidOption", err)
			}
		})
	}
}
