package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// idDigits is the width of the number in a record id: "<prefix>-00000042".
const idDigits = 8

// idRecordSpec names an input of records that carry an id, so that the
// delivered files can be checked record by record afterwards.
type idRecordSpec struct {
	prefix string // id prefix, unique per producer: "L25", "p0"
	n      int    // records
	size   int    // bytes per line, newline included (at least the unpadded line)
}

// idInputs writes each idRecordSpec's file once, in dir.
type idInputs struct {
	dir   string
	files map[idRecordSpec]inputFile
}

// file returns the input for spec, writing it on first use.
func (in *idInputs) file(spec idRecordSpec) (inputFile, error) {
	if f, ok := in.files[spec]; ok {
		return f, nil
	}
	path := filepath.Join(in.dir, fmt.Sprintf("ids-%s-%d-%d.ndjson", spec.prefix, spec.n, spec.size))
	f, err := os.Create(path)
	if err != nil {
		return inputFile{}, fmt.Errorf("create input: %w", err)
	}
	cw := &countingWriter{w: f}
	err = writeIDRecords(cw, spec)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return inputFile{}, fmt.Errorf("write input %s: %w", path, err)
	}
	in.files[spec] = inputFile{path: path, bytes: cw.n}
	return in.files[spec], nil
}

// writeIDRecords writes spec.n NDJSON lines, each spec.size bytes long
// (newline included) unless the line without padding is already longer:
// {"id":"<prefix>-00000000","ip":"10.1.2.3","level":"High","msg":"<letters>"}
// The content is the same for the same spec.
func writeIDRecords(w io.Writer, spec idRecordSpec) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(uint64(len(spec.prefix)), uint64(spec.size)))
	levels := []string{"Low", "Medium", "High", "Critical"}
	var line []byte
	for i := range spec.n {
		line = line[:0]
		line = append(line, `{"id":"`...)
		line = appendID(line, spec.prefix, i)
		line = append(line, `","ip":"`...)
		for o := range 4 {
			if o > 0 {
				line = append(line, '.')
			}
			line = strconv.AppendInt(line, int64(rng.IntN(256)), 10)
		}
		line = append(line, `","level":"`...)
		line = append(line, levels[rng.IntN(len(levels))]...)
		line = append(line, `","msg":"`...)
		pad := spec.size - len(line) - len(`"}`) - 1
		for range pad {
			line = append(line, byte('a'+rng.IntN(26)))
		}
		line = append(line, "\"}\n"...)
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("write records: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

func appendID(b []byte, prefix string, i int) []byte {
	b = append(b, prefix...)
	b = append(b, '-')
	digits := strconv.Itoa(i)
	for range idDigits - len(digits) {
		b = append(b, '0')
	}
	return append(b, digits...)
}

// parseID reads the id at the start of a delivered line written by
// writeIDRecords: its prefix and number.
func parseID(line []byte) (prefix string, n int, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte(`{"id":"`))
	if !found {
		return "", 0, false
	}
	id, _, found := bytes.Cut(rest, []byte(`"`))
	if !found {
		return "", 0, false
	}
	dash := bytes.LastIndexByte(id, '-')
	if dash < 0 || len(id)-dash-1 != idDigits {
		return "", 0, false
	}
	num, err := strconv.Atoi(string(id[dash+1:]))
	if err != nil || num < 0 {
		return "", 0, false
	}
	return string(id[:dash]), num, true
}

// deliveryCount is the record-by-record check of what reached the files.
type deliveryCount struct {
	Expected   int64 // records sent
	Lost       int64 // ids never found
	Duplicates int64 // copies beyond the first
	Foreign    int64 // lines that are not one of the expected records
}

// String is the table cell: "300000 of 300000, 0 lost, 0 duplicates".
func (d deliveryCount) String() string {
	s := fmt.Sprintf("%d of %d, %d lost, %d duplicates", d.Expected-d.Lost, d.Expected, d.Lost, d.Duplicates)
	if d.Foreign > 0 {
		s += fmt.Sprintf(", %d unexpected lines", d.Foreign)
	}
	return s
}

// idCounter counts each expected id in delivered lines.
type idCounter struct {
	seen    map[string][]uint8 // prefix -> count per number (saturating)
	foreign int64
	dups    int64
}

func newIDCounter(specs ...idRecordSpec) *idCounter {
	c := &idCounter{seen: map[string][]uint8{}}
	for _, s := range specs {
		c.seen[s.prefix] = make([]uint8, s.n)
	}
	return c
}

// add counts the lines of one delivered object (records end in "\n").
func (c *idCounter) add(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 8<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		prefix, n, ok := parseID(line)
		counts, known := c.seen[prefix]
		if !ok || !known || n >= len(counts) {
			c.foreign++
			continue
		}
		if counts[n] > 0 {
			c.dups++
		}
		if counts[n] < 255 {
			counts[n]++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read delivered records: %w", err)
	}
	return nil
}

func (c *idCounter) result() deliveryCount {
	d := deliveryCount{Duplicates: c.dups, Foreign: c.foreign}
	for _, counts := range c.seen {
		d.Expected += int64(len(counts))
		for _, k := range counts {
			if k == 0 {
				d.Lost++
			}
		}
	}
	return d
}

// deliveredFileName matches the emulator's object names of one stream,
// "<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<random>".
func deliveredFileName(stream string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(stream) + `-\d+-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-`)
}

// countDelivered reads every object of stream under root (the emulator's
// bucket directory) and checks the records of specs in them.
func countDelivered(root, stream string, specs ...idRecordSpec) (deliveryCount, error) {
	c := newIDCounter(specs...)
	name := deliveredFileName(stream)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !name.MatchString(d.Name()) {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		return c.add(f)
	})
	if err != nil {
		return deliveryCount{}, fmt.Errorf("count delivered records under %s: %w", root, err)
	}
	return c.result(), nil
}
