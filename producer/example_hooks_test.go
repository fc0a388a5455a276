package producer_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/firehose-tools/firehose/producer"
)

// callCounter is a CallHook counting the attempts of each API and the
// records they carried. OnCall runs on the producer's goroutines, several at
// once: it locks, counts and returns.
type callCounter struct {
	mu      sync.Mutex
	calls   map[string]int
	records int
	failed  int
}

func (c *callCounter) OnCall(info producer.CallInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[info.API]++
	c.records += info.Records
	if info.Err != nil {
		c.failed++
	}
}

func ExampleHooks() {
	counter := &callCounter{calls: map[string]int{}}
	p, err := producer.New(&acceptAll{}, "my-stream",
		producer.Hooks(counter),
		producer.Concurrency(1),
		producer.Linger(time.Hour), // batches go when full, or when a call waits for them
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for i := range 3 {
		if _, err := p.PutRecord(ctx, producer.Record{Seq: int64(i + 1), Data: []byte(`{"one":"by one"}`)}); err != nil {
			fmt.Println(err)
		}
	}
	recs := make([]producer.Record, 600)
	for i := range recs {
		recs[i] = producer.Record{Seq: int64(i + 4), Data: []byte(`{"in":"a batch"}`)}
	}
	if _, err := p.PutRecordBatch(ctx, recs); err != nil {
		fmt.Println(err)
	}
	if err := p.Close(ctx); err != nil {
		fmt.Println(err)
	}

	counter.mu.Lock()
	defer counter.mu.Unlock()
	fmt.Printf("PutRecord: %d calls, PutRecordBatch: %d calls (500 records, then 100)\n",
		counter.calls["PutRecord"], counter.calls["PutRecordBatch"])
	fmt.Printf("records sent: %d, calls failed whole: %d\n", counter.records, counter.failed)
	// Output:
	// PutRecord: 3 calls, PutRecordBatch: 2 calls (500 records, then 100)
	// records sent: 603, calls failed whole: 0
}
