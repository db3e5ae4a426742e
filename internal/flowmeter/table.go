package flowmeter

// flowTable finds a flow by its key. Go's map hashes and compares a 40-byte
// struct key on every packet; this map is keyed by a 64-bit hash computed
// from the key's words, and keys whose hashes collide (rare, but possible)
// are chained through Flow.sameHash and told apart by full comparison.
type flowTable struct {
	byHash map[uint64]int32
	n      int
}

func (k *key) hash() uint64 {
	// The key's fields as four 64-bit words of address and one of ports,
	// protocol and family, mixed with multiply-xorshift rounds.
	w := func(b []byte) uint64 {
		return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	}
	h := uint64(k.pa)<<32 | uint64(k.pb)<<16 | uint64(k.proto)<<8
	if k.v6 {
		h |= 1
	}
	for _, x := range [4]uint64{w(k.a[:8]), w(k.a[8:]), w(k.b[:8]), w(k.b[8:])} {
		h = (h ^ x) * 0x9e3779b97f4a7c15
		h ^= h >> 32
	}
	return h
}

func (t *flowTable) get(fs *slab, k *key) (int32, bool) { return t.getHashed(fs, k, k.hash()) }

// put adds flow idx, whose key is set and not in the table.
func (t *flowTable) put(fs *slab, idx int32) { t.putHashed(fs, idx, fs.at(idx).key.hash()) }

func (t *flowTable) remove(fs *slab, idx int32) { t.removeHashed(fs, idx, fs.at(idx).key.hash()) }

// The *Hashed variants take the key's hash, so tests can force collisions.

func (t *flowTable) getHashed(fs *slab, k *key, h uint64) (int32, bool) {
	idx, ok := t.byHash[h]
	for ok {
		f := fs.at(idx)
		if f.key == *k {
			return idx, true
		}
		idx, ok = f.sameHash, f.sameHash >= 0
	}
	return -1, false
}

func (t *flowTable) putHashed(fs *slab, idx int32, h uint64) {
	f := fs.at(idx)
	f.sameHash = -1
	if head, ok := t.byHash[h]; ok {
		f.sameHash = head
	}
	t.byHash[h] = idx
	t.n++
}

func (t *flowTable) removeHashed(fs *slab, idx int32, h uint64) {
	f := fs.at(idx)
	head := t.byHash[h]
	switch {
	case head == idx && f.sameHash < 0:
		delete(t.byHash, h)
	case head == idx:
		t.byHash[h] = f.sameHash
	default:
		for p := fs.at(head); ; p = fs.at(p.sameHash) {
			if p.sameHash == idx {
				p.sameHash = f.sameHash
				break
			}
		}
	}
	f.sameHash = -1
	t.n--
}
