package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/firehose-tools/firehose/internal/mockdata"
)

// inputSeed makes every input file of every run the same data.
const inputSeed = 42

// inputs generates NDJSON input files once per record count, in dir, and
// hands out their paths.
type inputs struct {
	dir   string
	files map[int]inputFile
}

type inputFile struct {
	path  string
	bytes int64
}

// ndjson returns a file of n generated records, writing it on first use.
// It streams to disk: memory does not grow with n.
func (in *inputs) ndjson(n int) (inputFile, error) {
	if f, ok := in.files[n]; ok {
		return f, nil
	}
	path := filepath.Join(in.dir, fmt.Sprintf("records-%d.ndjson", n))
	f, err := os.Create(path)
	if err != nil {
		return inputFile{}, fmt.Errorf("create input: %w", err)
	}
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	err = mockdata.WriteNDJSON(bw, inputSeed, n)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return inputFile{}, fmt.Errorf("write input %s: %w", path, err)
	}
	in.files[n] = inputFile{path: path, bytes: cw.n}
	return in.files[n], nil
}

// recordsForBytes estimates how many generated records make target bytes,
// from the size of a sample of them.
func recordsForBytes(target int64) (int, error) {
	const sample = 20000
	cw := &countingWriter{w: io.Discard}
	if err := mockdata.WriteNDJSON(cw, inputSeed, sample); err != nil {
		return 0, fmt.Errorf("sample records: %w", err)
	}
	return recordsFor(target, cw.n, sample), nil
}

// recordsFor is ceil(target / (sampleBytes/sampleRecords)), at least 1.
func recordsFor(target, sampleBytes int64, sampleRecords int) int {
	if sampleBytes <= 0 || target <= 0 {
		return 1
	}
	n := (target*int64(sampleRecords) + sampleBytes - 1) / sampleBytes
	return int(max(n, 1))
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
