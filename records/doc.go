// Package records reads the records to send from files and pipes: a JSON
// array, NDJSON (JSON Lines) or plain text lines, optionally gzip or zstd
// compressed, streaming, with every record's position in the input.
//
// # Formats
//
//   - text ([FormatText]): every line is a record, sent byte for byte as it
//     is: no JSON check, invalid UTF-8 kept. A line ends at "\n"; a "\r"
//     just before it is part of a Windows line ending and is dropped. Blank
//     lines (empty, or only spaces, tabs and "\r") are skipped.
//   - ndjson ([FormatNDJSON]): one JSON value per line; blank lines are
//     skipped; each line is validated (JSON syntax and UTF-8) and sent as it
//     is. An invalid line is rejected and reading goes on.
//   - json ([FormatJSON]): one JSON array, read element by element (the array
//     is never held in memory); each element is compacted to one line and
//     validated like an NDJSON line. A malformed element is rejected and
//     reading goes on; a broken array structure (no '[', no closing ']', data
//     after it) is fatal.
//   - auto ([FormatAuto], the default) picks one of the others, as below.
//
// A UTF-8 byte order mark at the start of the input is skipped in every
// format.
//
// # How auto decides
//
// The name's extension, after removing .gz/.zst, comes first:
// .log, .txt and .text are text. Otherwise the first line that is not blank
// decides:
//
//  1. A JSON object or array that is valid on its own: NDJSON, except an
//     array followed by nothing but white space (the whole input is one
//     array, such as `[1,2]` or a one-line `[{"a":1},{"a":2}]`), which is
//     a JSON array, unless the name ends in .ndjson, .jsonl or .ldjson. So
//     `[1,2]\n[3,4]\n` is NDJSON: two records.
//  2. The opening of a JSON array that goes on over the next lines ("[", or
//     `[{"a": 1,`, as pretty-printers write): a JSON array. So is a first
//     line that starts like an array and is too long to see whole (longer
//     than the record limit): a one-line array.
//  3. Anything else (plain text such as `2026-11-30 INFO started`,
//     `[INFO] started` or `hello world`, a bare number or string): text; but
//     NDJSON, so that bad lines are rejected rather than sent, when the name
//     ends in .json, .ndjson, .jsonl or .ldjson.
//
// Only the first non-blank line (and, for rule 1, whether anything follows
// it) is looked at, so auto works on a pipe that has delivered one line.
//
// # Compression
//
// gzip and zstd input is recognized by its first bytes, not its name, on
// files and on standard input alike, and decompressed as it is read.
// Positions and offsets count the decompressed bytes. Concatenated gzip
// members are read as one stream. A zstd frame needs its window in memory:
// 8 MiB at most for the zstd tool's levels 1 to 19, more only for --long.
//
// # Bounded memory
//
// A line or array element longer than the record limit ([MaxRecordBytes],
// default [DefaultMaxRecordBytes] = 1,024,000 bytes, the Firehose limit) is
// skipped as it is read, never buffered, and rejected with [ErrTooLarge] and
// its position: a 500 MB line costs no more memory than a short one. The
// reader holds at most about twice the record limit plus 64 KiB.
//
// # Positions and resuming
//
// Every record carries its [Position]: its number (Seq), its line, and its
// byte offsets [Start, End) in the decompressed input. [Position.Resume]
// gives the [Checkpoint] to pass to [ResumeFrom] to go on after that record,
// by seeking an uncompressed file or by skipping decompressed bytes.
//
// # Rejected records and errors
//
// A bad record never stops the reading: it comes back with a [*RecordError]
// (ErrInvalidJSON, ErrTooLarge, ErrUnterminatedArray) that names the file,
// the line and, for arrays, the element index, and the next call goes on.
// Other errors are fatal and name the input.
//
// # Speed
//
// [Reader.Next] returns Data that points into the reader's buffer (valid
// until the next call): no allocation per record. [Reader.NextBatch] fills a
// slice of records whose Data the caller may keep (copied into 32 KiB
// buffers, about one allocation per 32 KiB), for callers that hold records,
// such as a producer.
package records
