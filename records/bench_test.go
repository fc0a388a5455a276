package records

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// benchRecord is a record like the scenario's alerts, about 90 bytes.
func benchRecord(i int) string {
	levels := []string{"Low", "Medium", "High", "Critical"}
	return fmt.Sprintf(`{"ip_address":"10.%d.%d.%d","timestamp":"2025-01-01T%02d:%02d:%02dZ","alert_level":%q}`,
		i%256, i/256%256, i/65536%256, i%24, i%60, i/60%60, levels[i%len(levels)])
}

// benchInput builds n records in a format: ndjson, text (log lines), json
// (compact array) or json-indent (an indent-2 array, as the generator writes).
func benchInput(format string, n int) []byte {
	var b bytes.Buffer
	switch format {
	case "ndjson":
		for i := range n {
			b.WriteString(benchRecord(i) + "\n")
		}
	case "text":
		for i := range n {
			fmt.Fprintf(&b, "2026-11-30T10:%02d:%02dZ INFO request served path=/api/v1/items/%d status=200 bytes=%d\n", i%60, i/60%60, i, i*7%5000)
		}
	case "json":
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(benchRecord(i))
		}
		b.WriteByte(']')
	case "json-indent":
		b.WriteString("[\n")
		for i := range n {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, "  {\n    \"ip_address\": \"10.%d.%d.%d\",\n    \"timestamp\": \"2025-01-01T00:00:00Z\",\n    \"alert_level\": \"High\"\n  }", i%256, i/256%256, i/65536%256)
		}
		b.WriteString("\n]")
	}
	return b.Bytes()
}

// BenchmarkRead reports ns/record and allocs/record for each format, read
// with Next (Data reused) and NextBatch (Data kept, one buffer per batch).
// The target for 90-byte validated NDJSON is well over 1M records/s on one core.
func BenchmarkRead(b *testing.B) {
	const n = 10_000
	for _, format := range []string{"ndjson", "text", "json", "json-indent"} {
		input := benchInput(format, n)
		f := Format(format)
		if format == "json-indent" {
			f = FormatJSON
		}
		for _, mode := range []string{"Next", "NextBatch"} {
			b.Run(format+"/"+mode, func(b *testing.B) {
				b.SetBytes(int64(len(input)))
				dst := make([]Record, 500)
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				mallocs := ms.Mallocs
				total := 0
				for b.Loop() {
					r, err := NewReader(bytes.NewReader(input), "bench", InputFormat(f))
					if err != nil {
						b.Fatal(err)
					}
					for {
						if mode == "Next" {
							_, err = r.Next()
							if err == nil {
								total++
							}
						} else {
							var k int
							k, err = r.NextBatch(dst)
							total += k
						}
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				runtime.ReadMemStats(&ms)
				if total != n*b.N {
					b.Fatalf("read %d records, want %d", total, n*b.N)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/record")
				b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(total), "allocs/record")
			})
		}
	}
}
