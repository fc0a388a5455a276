package records

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// benchmarkRead reads input repeatedly and reports records/s; the target for
// 90-byte NDJSON lines is over 1M records/s on one core.
func benchmarkRead(b *testing.B, input []byte, records int) {
	b.Helper()
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		r := NewReader(bytes.NewReader(input), "bench", FormatAuto)
		for {
			_, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			total++
		}
	}
	if total != records*b.N {
		b.Fatalf("read %d records, want %d", total, records*b.N)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkReadNDJSON(b *testing.B) {
	const n = 10_000
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, 1, n); err != nil {
		b.Fatal(err)
	}
	benchmarkRead(b, buf.Bytes(), n)
}

func BenchmarkReadJSONArray(b *testing.B) {
	const n = 10_000
	var buf bytes.Buffer
	if err := WriteJSON(&buf, 1, n); err != nil {
		b.Fatal(err)
	}
	benchmarkRead(b, buf.Bytes(), n)
}

func BenchmarkReadJSONArrayCompact(b *testing.B) {
	const n = 10_000
	var buf bytes.Buffer
	buf.WriteByte('[')
	if err := Generate(1, n, func(a Alert) error {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"ip_address":"` + a.IPAddress + `","timestamp":"` + a.Timestamp + `","alert_level":"` + a.AlertLevel + `"}`)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	buf.WriteByte(']')
	benchmarkRead(b, buf.Bytes(), n)
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteNDJSON(io.Discard, 1, 1000); err != nil {
			b.Fatal(err)
		}
	}
}
