package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/firehose"

	"github.com/firehose-tools/firehose/emulator"
	"github.com/firehose-tools/firehose/internal/logging"
	"github.com/firehose-tools/firehose/internal/testutil/backend"
	"github.com/firehose-tools/firehose/producer"
)

// TestParseCallLogReadsWhatTheProducerLogs runs a packing producer against
// the in-process emulator with a small quota, so that it throttles, with
// the put command's call log, and checks the sums read from its debug log
// against its own counters.
func TestParseCallLogReadsWhatTheProducerLogs(t *testing.T) {
	const stream = "calls"
	endpoint, _ := backend.StartEmulator(t, stream, emulator.Quotas(emulator.QuotaConfig{BytesPerSecond: 1 << 20}))
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := producer.New(firehose.NewFromConfig(backend.AWSConfig(endpoint)), stream,
		producer.Pack(producer.DefaultPackTarget), producer.Logger(logger),
		producer.Hooks(logging.CallLog{Log: logger, Level: slog.LevelDebug})) // the put command's call lines
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	line := []byte(`{"msg":"` + strings.Repeat("x", 80) + `"}`)
	const records = 40_000 // 3.6 MB: over three seconds of the quota
	for range records {
		if err := p.Add(ctx, producer.Record{Data: line}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	got, err := parseCallLog(&logBuf)
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivered != records {
		t.Fatalf("delivered %d of %d", st.Delivered, records)
	}
	if want := int(st.PutRecordBatchCalls - st.RequestErrors); got.calls != want {
		t.Errorf("calls = %d, want %d", got.calls, want)
	}
	if got.offered < st.Bytes {
		t.Errorf("offered %d bytes, fewer than the %d delivered", got.offered, st.Bytes)
	}
	if st.ThrottledRecords == 0 {
		t.Fatal("nothing throttled: the quota did not bind")
	}
	if got.throttledCalls == 0 || got.overQuota <= 0 || got.overQuota > float64(got.offered-st.Bytes) {
		t.Errorf("throttled calls %d, over quota %.0f, resent %d", got.throttledCalls, got.overQuota, got.offered-st.Bytes)
	}
}

func TestParseCallLogErrors(t *testing.T) {
	tests := []struct {
		name, log string
		want      error
	}{
		{"empty", "", errNoCallLog},
		{"no call lines", "time=x level=INFO msg=\"throttled: slowing down\" throttled=3\n", errNoCallLog},
		{"whole request failures are not calls with a response", "time=x level=INFO msg=\"PutRecordBatch failed\" records=3\n", errNoCallLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCallLog(strings.NewReader(tt.log))
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPackResentStatus(t *testing.T) {
	tests := []struct {
		resent    int64
		overQuota float64
		want      string
	}{
		{0, 0, statusPass},
		{1000, 0, statusMiss},
		{1100, 1000, statusPass},
		{1101, 1000, statusMiss},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.resent, "/", tt.overQuota), func(t *testing.T) {
			if got := packResentStatus(tt.resent, tt.overQuota); got != tt.want {
				t.Errorf("packResentStatus(%d, %.0f) = %q, want %q", tt.resent, tt.overQuota, got, tt.want)
			}
		})
	}
}
