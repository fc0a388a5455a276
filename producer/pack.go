package producer

// packer packs consecutive input records, each with its newline, into one
// Firehose record of up to target bytes. It never splits an input record:
// one larger than target goes alone (it is at most MaxRecordBytes, checked
// before). The concatenation of packed records is byte-identical to the
// records sent one by one.
type packer struct {
	target int
	data   []byte
	parts  []part
}

// packInitialCap is the first capacity of a pack buffer; append grows it.
const packInitialCap = 64 << 10

// fits reports whether a record of size wire bytes can join the current pack.
func (k *packer) fits(size int) bool {
	return len(k.parts) == 0 || len(k.data)+size <= k.target
}

// add appends one record (data without newline) and its part.
func (k *packer) add(p part, data []byte, newline bool) {
	if k.data == nil {
		k.data = make([]byte, 0, min(k.target, max(packInitialCap, len(data)+1)))
	}
	p.off = len(k.data)
	k.data = append(k.data, data...)
	p.end = len(k.data)
	if newline {
		k.data = append(k.data, '\n')
	}
	k.parts = append(k.parts, p)
}

// full reports whether the pack reached its target.
func (k *packer) full() bool { return len(k.data) >= k.target }

func (k *packer) empty() bool { return len(k.parts) == 0 }

// take returns the pack as an entry and starts a new one.
func (k *packer) take() entry {
	e := entry{data: k.data, parts: k.parts}
	k.data, k.parts = nil, nil
	return e
}
