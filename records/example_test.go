package records_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/firehose-tools/firehose/records"
)

// Reading NDJSON: each line is validated; a bad line is rejected with its
// position and reading goes on.
func Example_ndjson() {
	input := "{\"level\":\"info\"}\n{\"level\":\n\n[1,2]\n"
	r, err := records.NewReader(strings.NewReader(input), "events.ndjson")
	if err != nil {
		panic(err)
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var bad *records.RecordError
		if errors.As(err, &bad) {
			fmt.Printf("rejected %s (bytes %d-%d)\n", bad.Source, bad.Start, bad.End)
			continue
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("record %d line %d: %s\n", rec.Seq, rec.Line, rec.Data)
	}
	fmt.Println("format:", r.Format())
	// Output:
	// record 1 line 1: {"level":"info"}
	// rejected events.ndjson:2 (bytes 17-27)
	// record 3 line 4: [1,2]
	// format: ndjson
}

// Reading a plain-text log: auto sees that the first line is not JSON, and
// every line is a record as it is.
func Example_text() {
	input := "2026-11-30 INFO started\r\n\r\n[WARN] disk 91% full\r\n"
	r, err := records.NewReader(strings.NewReader(input), "-")
	if err != nil {
		panic(err)
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %q\n", r.Source(rec.Position), rec.Data)
	}
	fmt.Println("format:", r.Format())
	// Output:
	// stdin:1 "2026-11-30 INFO started"
	// stdin:3 "[WARN] disk 91% full"
	// format: text
}

// Reading in batches whose records may be kept: NextBatch gives each call's
// records their own buffer.
func ExampleReader_NextBatch() {
	input := "[\n  {\"id\": 1},\n  {\"id\": 2},\n  {\"id\": 3}\n]\n"
	r, err := records.NewReader(strings.NewReader(input), "ids.json")
	if err != nil {
		panic(err)
	}
	defer r.Close()
	var kept []records.Record
	batch := make([]records.Record, 2)
	for {
		n, err := r.NextBatch(batch)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		kept = append(kept, batch[:n]...)
	}
	for _, rec := range kept {
		fmt.Printf("%s %s\n", r.Source(rec.Position), rec.Data)
	}
	fmt.Println("resume after the last at", kept[len(kept)-1].Resume())
	// Output:
	// ids.json[0] line 2 {"id":1}
	// ids.json[1] line 3 {"id":2}
	// ids.json[2] line 4 {"id":3}
	// resume after the last at {39 3 4}
}
