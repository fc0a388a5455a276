package logging

import (
	"context"
	"log/slog"

	"github.com/firehose-tools/firehose/producer"
)

// CallLog is a producer.CallHook that writes one line per answered API
// call at Level: PutRecord with seq, bytes, latency and attempt;
// PutRecordBatch with records, failed, bytes, latency and attempt. A call
// that failed as a whole is logged by the producer itself ("PutRecordBatch
// failed"), not here. The CLI logs calls at debug, the scenario at info.
type CallLog struct {
	Log   *slog.Logger
	Level slog.Level
}

// OnCall logs info when the call was answered.
func (c CallLog) OnCall(info producer.CallInfo) {
	ctx := context.Background()
	if info.Err != nil || !c.Log.Enabled(ctx, c.Level) {
		return
	}
	if info.API == "PutRecord" {
		c.Log.LogAttrs(ctx, c.Level, info.API, slog.Int64("seq", info.Seq),
			slog.Int("bytes", info.Bytes), slog.Duration("latency", info.Latency), slog.Int("attempt", info.Attempt))
		return
	}
	c.Log.LogAttrs(ctx, c.Level, info.API,
		slog.Int("records", info.Records), slog.Int("failed", info.Failed), slog.Int("bytes", info.Bytes),
		slog.Duration("latency", info.Latency), slog.Int("attempt", info.Attempt))
}
