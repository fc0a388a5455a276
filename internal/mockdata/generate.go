// Package mockdata generates the mock network alert records of the seed
// scenario (ip_address, timestamp, alert_level), reproducibly from a seed, as a
// JSON array or NDJSON.
package mockdata

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/brianvoe/gofakeit/v7"
)

// Alert is one mock record, with the fields of the seed scenario's data.
type Alert struct {
	IPAddress  string `json:"ip_address"`
	Timestamp  string `json:"timestamp"`
	AlertLevel string `json:"alert_level"`
}

// AlertLevels are the values of Alert.AlertLevel.
var AlertLevels = []string{"Low", "Medium", "High", "Critical"}

// Generated timestamps fall in the week before generatorEpoch. The window is
// fixed, not derived from time.Now, so a seed always yields the same data.
var (
	generatorEpoch  = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)
	generatorWindow = 7 * 24 * time.Hour
)

// Generate calls fn with n mock alerts derived only from seed (any value,
// including 0, is a fixed seed): an IPv4 address, an RFC 3339 UTC timestamp
// (second precision) within a fixed week, and an alert level from
// AlertLevels. It stops at the first error from fn and returns it.
func Generate(seed int64, n int, fn func(Alert) error) error {
	// gofakeit.New(0) would pick a random seed; build the PCG source directly
	// so that every seed is deterministic. One goroutine: no lock needed.
	bits := uint64(seed) //nolint:gosec // only the bit pattern matters: negative seeds are valid seeds
	faker := gofakeit.NewFaker(rand.NewPCG(bits, bits), false)
	start := generatorEpoch.Add(-generatorWindow)
	for range n {
		a := Alert{
			IPAddress:  faker.IPv4Address(),
			Timestamp:  faker.DateRange(start, generatorEpoch).Truncate(time.Second).Format(time.RFC3339),
			AlertLevel: faker.RandomString(AlertLevels),
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes n mock alerts for seed as one JSON array laid out exactly
// like Python's json.dump(records, f, indent=2): "[]" when n is 0, no trailing
// newline. It streams: memory does not grow with n.
func WriteJSON(w io.Writer, seed int64, n int) error {
	bw := bufio.NewWriter(w)
	if n <= 0 {
		_, _ = bw.WriteString("[]")
		return flush(bw)
	}
	_, _ = bw.WriteString("[\n")
	first := true
	err := Generate(seed, n, func(a Alert) error {
		b, err := json.MarshalIndent(a, "  ", "  ")
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		if !first {
			_, _ = bw.WriteString(",\n")
		}
		first = false
		_, _ = bw.WriteString("  ")
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	_, _ = bw.WriteString("\n]")
	return flush(bw)
}

// WriteNDJSON writes n mock alerts for seed, one compact JSON object per line,
// each line ending in "\n".
func WriteNDJSON(w io.Writer, seed int64, n int) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // Encode appends the newline
	err := Generate(seed, n, func(a Alert) error {
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush(bw)
}

func flush(bw *bufio.Writer) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write mock data: %w", err)
	}
	return nil
}
