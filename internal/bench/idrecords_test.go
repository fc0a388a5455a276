package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteIDRecordsSizeAndIDs(t *testing.T) {
	tests := []struct {
		name     string
		spec     idRecordSpec
		wantSize int // bytes per line, newline included
	}{
		{"~90-byte records", idRecordSpec{prefix: "L25", n: 1000, size: 90}, 90},
		{"~200-byte records", idRecordSpec{prefix: "P3", n: 300, size: 200}, 200},
		{"size below the bare line keeps the bare line", idRecordSpec{prefix: "x", n: 50, size: 10}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeIDRecords(&buf, tt.spec); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
			i := 0
			for sc.Scan() {
				line := sc.Bytes()
				if tt.wantSize > 0 && len(line)+1 != tt.wantSize {
					t.Fatalf("line %d is %d bytes with its newline, want %d: %s", i, len(line)+1, tt.wantSize, line)
				}
				var rec map[string]string
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatalf("line %d is not a JSON object of strings: %v: %s", i, err, line)
				}
				prefix, n, ok := parseID(line)
				if !ok || prefix != tt.spec.prefix || n != i {
					t.Fatalf("line %d: parseID = %q, %d, %v; want %q, %d", i, prefix, n, ok, tt.spec.prefix, i)
				}
				if want := fmt.Sprintf("%s-%08d", tt.spec.prefix, i); rec["id"] != want {
					t.Fatalf("line %d: id %q, want %q", i, rec["id"], want)
				}
				i++
			}
			if i != tt.spec.n {
				t.Errorf("%d lines, want %d", i, tt.spec.n)
			}
			var again bytes.Buffer
			if err := writeIDRecords(&again, tt.spec); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Error("the same spec wrote different content")
			}
		})
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		name, line string
		prefix     string
		n          int
		ok         bool
	}{
		{"simple", `{"id":"L25-00000042","ip":"1.2.3.4"}`, "L25", 42, true},
		{"prefix with a dash", `{"id":"a-b-00000007"}`, "a-b", 7, true},
		{"largest", `{"id":"p-99999999"}`, "p", 99_999_999, true},
		{"short number", `{"id":"p-42"}`, "", 0, false},
		{"not a number", `{"id":"p-0000004x"}`, "", 0, false},
		{"no dash", `{"id":"00000042"}`, "", 0, false},
		{"id not first", `{"ip":"1.2.3.4","id":"p-00000001"}`, "", 0, false},
		{"unterminated", `{"id":"p-00000001`, "", 0, false},
		{"other data", `{"ip_address":"1.2.3.4"}`, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix, n, ok := parseID([]byte(tt.line))
			if prefix != tt.prefix || n != tt.n || ok != tt.ok {
				t.Errorf("parseID(%s) = %q, %d, %v; want %q, %d, %v", tt.line, prefix, n, ok, tt.prefix, tt.n, tt.ok)
			}
		})
	}
}

// idLines writes the records of spec with the given numbers, as a delivered
// object would hold them.
func idLines(t *testing.T, spec idRecordSpec, numbers ...int) string {
	t.Helper()
	var all bytes.Buffer
	if err := writeIDRecords(&all, spec); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(all.String(), "\n")
	var b strings.Builder
	for _, n := range numbers {
		b.WriteString(lines[n])
	}
	return b.String()
}

func TestIDCounter(t *testing.T) {
	a := idRecordSpec{prefix: "a", n: 5, size: 90}
	b := idRecordSpec{prefix: "b", n: 3, size: 200}
	tests := []struct {
		name    string
		specs   []idRecordSpec
		objects func(t *testing.T) []string
		want    deliveryCount
	}{
		{"everything once, in two objects", []idRecordSpec{a}, func(t *testing.T) []string {
			return []string{idLines(t, a, 0, 1, 2), idLines(t, a, 3, 4)}
		}, deliveryCount{Expected: 5}},
		{"one lost, one twice", []idRecordSpec{a}, func(t *testing.T) []string {
			return []string{idLines(t, a, 0, 1, 1, 3, 4)}
		}, deliveryCount{Expected: 5, Lost: 1, Duplicates: 1}},
		{"two producers, a third copy counts twice", []idRecordSpec{a, b}, func(t *testing.T) []string {
			return []string{idLines(t, a, 0, 1, 2, 3, 4), idLines(t, b, 0, 1, 2, 2, 2)}
		}, deliveryCount{Expected: 8, Duplicates: 2}},
		{"unknown prefix, out of range, other data and empty lines", []idRecordSpec{a}, func(t *testing.T) []string {
			return []string{idLines(t, a, 0, 1, 2, 3, 4) + "\n" + idLines(t, b, 0) + `{"id":"a-00000005"}` + "\nnot json\n"}
		}, deliveryCount{Expected: 5, Foreign: 3}},
		{"nothing delivered", []idRecordSpec{a, b}, func(*testing.T) []string { return nil }, deliveryCount{Expected: 8, Lost: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newIDCounter(tt.specs...)
			for _, obj := range tt.objects(t) {
				if err := c.add(strings.NewReader(obj)); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.result(); got != tt.want {
				t.Errorf("count = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCountDeliveredReadsOnlyTheStreamsObjects(t *testing.T) {
	spec := idRecordSpec{prefix: "s", n: 4, size: 90}
	other := idRecordSpec{prefix: "o", n: 2, size: 90}
	root := t.TempDir()
	files := map[string]string{
		"2026/11/30/22/lat-1-2026-11-30-22-01-02-abcd":       idLines(t, spec, 0, 1),
		"2026/11/30/23/lat-1-2026-11-30-23-00-00-ef01":       idLines(t, spec, 2, 3, 3),
		"2026/11/30/22/lat-boto3-1-2026-11-30-22-01-02-abcd": idLines(t, other, 0, 1),
		"notes.txt": "lat-1-2026 is not an object name\n",
	}
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		stream string
		spec   idRecordSpec
		want   deliveryCount
	}{
		{"stream whose name prefixes another's", "lat", spec, deliveryCount{Expected: 4, Duplicates: 1}},
		{"the longer name", "lat-boto3", other, deliveryCount{Expected: 2}},
		{"a stream with no objects", "none", spec, deliveryCount{Expected: 4, Lost: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := countDelivered(root, tt.stream, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("countDelivered = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := countDelivered(filepath.Join(root, "missing"), "lat", spec); err == nil {
		t.Error("countDelivered on a missing directory: want an error")
	}
}

func TestDeliveryCountString(t *testing.T) {
	tests := []struct {
		name string
		in   deliveryCount
		want string
	}{
		{"all", deliveryCount{Expected: 10}, "10 of 10, 0 lost, 0 duplicates"},
		{"lost and duplicated", deliveryCount{Expected: 10, Lost: 2, Duplicates: 3}, "8 of 10, 2 lost, 3 duplicates"},
		{"foreign lines", deliveryCount{Expected: 1, Foreign: 4}, "1 of 1, 0 lost, 0 duplicates, 4 unexpected lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIDInputsWritesOnce(t *testing.T) {
	in := &idInputs{dir: t.TempDir(), files: map[idRecordSpec]inputFile{}}
	spec := idRecordSpec{prefix: "p0", n: 100, size: 200}
	f1, err := in.file(spec)
	if err != nil {
		t.Fatal(err)
	}
	if f1.bytes != 100*200 {
		t.Errorf("file is %d bytes, want %d", f1.bytes, 100*200)
	}
	if err := os.WriteFile(f1.path, []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	f2, err := in.file(spec)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f2.path); f2 != f1 || string(b) != "changed" {
		t.Errorf("second call = %+v and rewrote the file, want the cached %+v", f2, f1)
	}
}
