package producer

// packer packs consecutive input records, each with its newline, into one
// Firehose record of up to target bytes. It never splits an input record:
// one larger than target goes alone (it is at most MaxRecordBytes, checked
// before). The concatenation of packed records is byte-identical to the
// records sent one by one.
type packer struct {
	target    int
	data      []byte
	parts     []part
	partsHint int // parts in the previous pack, to size the next one
}

// add appends one record (data without newline) and its part.
func (k *packer) add(p part, data []byte, newline bool) {
	if k.data == nil {
		// One allocation of the full target: appends never copy. take gives
		// back the unused room of a pack closed early.
		k.data = make([]byte, 0, max(k.target, len(data)+1))
		k.parts = make([]part, 0, max(k.partsHint, 16))
	}
	p.off = len(k.data)
	k.data = append(k.data, data...)
	p.end = len(k.data)
	if newline {
		k.data = append(k.data, '\n')
	}
	k.parts = append(k.parts, p)
}

// fits reports whether a record of size wire bytes can join the current pack.
func (k *packer) fits(size int) bool {
	return len(k.parts) == 0 || len(k.data)+size <= k.target
}

// full reports whether the pack reached its target.
func (k *packer) full() bool { return len(k.data) >= k.target }

func (k *packer) empty() bool { return len(k.parts) == 0 }

// take returns the pack as an entry and starts a new one. A pack closed
// well below its target (by Linger or the end of input) is copied to a
// buffer of its size, so lingering packs do not pin a full target each.
func (k *packer) take() entry {
	data := k.data
	if len(data) < cap(data)/2 {
		data = append(make([]byte, 0, len(data)), data...)
	}
	e := entry{data: data, parts: k.parts, buffered: true} // packs hold records added through the buffer
	k.partsHint = len(k.parts)
	k.data, k.parts = nil, nil
	return e
}

// addEntry appends a one-record entry whose data already carries its
// newline (or needs none).
func (k *packer) addEntry(e entry) {
	pt := e.parts[0]
	data := e.data[pt.off:pt.end]
	k.add(pt, data, len(e.data) > pt.end)
}
