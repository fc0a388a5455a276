package emulator

import (
	"io"
	"sync"
)

// chunkSize is the unit a stream's buffer grows by. Growing in fixed chunks
// keeps memory near what is buffered and never copies what is already
// there (a single slice grown to SizeInMBs = 128 MiB by append costs up to
// twice that, and a copy of everything at each growth).
const chunkSize = 256 << 10

// chunkPool recycles chunks between a written buffer and the next one.
var chunkPool = sync.Pool{New: func() any { return new([chunkSize]byte) }}

// recordBuffer is a stream's buffered bytes: full chunks, then a partly
// filled last one. Its zero value is empty and ready to use.
type recordBuffer struct {
	chunks []*[chunkSize]byte
	size   int
}

// Len returns the number of buffered bytes.
func (b *recordBuffer) Len() int { return b.size }

// Write appends p; it never fails.
func (b *recordBuffer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		off := b.size % chunkSize
		if off == 0 {
			b.chunks = append(b.chunks, chunkPool.Get().(*[chunkSize]byte))
		}
		c := copy(b.chunks[len(b.chunks)-1][off:], p)
		p = p[c:]
		b.size += c
	}
	return n, nil
}

// WriteTo writes the buffered bytes to w, chunk by chunk; the buffer is
// left as it was.
func (b *recordBuffer) WriteTo(w io.Writer) (int64, error) {
	var written int64
	rest := b.size
	for _, c := range b.chunks {
		n, err := w.Write(c[:min(rest, chunkSize)])
		written += int64(n)
		rest -= n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// appendBuffer appends the bytes of other, leaving other as it was.
func (b *recordBuffer) appendBuffer(other *recordBuffer) {
	_, _ = other.WriteTo(b)
}

// release gives the chunks back to the pool and empties the buffer.
func (b *recordBuffer) release() {
	for i, c := range b.chunks {
		chunkPool.Put(c)
		b.chunks[i] = nil
	}
	b.chunks = b.chunks[:0]
	b.size = 0
}
