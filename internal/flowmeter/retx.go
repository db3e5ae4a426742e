package flowmeter

// retxKey identifies a TCP segment for retransmission counting: the engelen
// reference counts a packet as retransmitted when its direction, sequence
// and acknowledgement numbers, payload length and window all repeat.
type retxKey struct {
	fwd      bool
	win      uint16
	seq, ack uint32
	size     uint32
}

// fingerprint hashes the key to 64 bits. The set stores fingerprints, not
// keys: half the memory of a flow's history, at the cost of a false
// "retransmission" with probability about n²/2⁶⁵ for a flow of n packets
// (below 1e-7 for a million-packet flow).
func (k retxKey) fingerprint() uint64 {
	h := uint64(k.seq)<<32 | uint64(k.ack)
	h ^= (uint64(k.size)<<17 | uint64(k.win)) * 0x9e3779b97f4a7c15
	if k.fwd {
		h ^= 0x165667b19e3779f9
	}
	// splitmix64 finaliser: every input bit affects every output bit.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h | 1 // 0 marks an empty slot
}

// retxSet is a small open-addressing hash set of fingerprints. A Go map per
// flow would allocate for every TCP flow; this grows only for flows with
// many packets and keeps its storage when reset for the slot's next flow.
type retxSet struct {
	slots []uint64
	n     int
}

// addSeen inserts k and reports whether it was already there.
func (s *retxSet) addSeen(k retxKey) bool {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	fp := k.fingerprint()
	mask := uint64(len(s.slots) - 1)
	for i := fp & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = fp
			s.n++
			return false
		case fp:
			return true
		}
	}
}

func (s *retxSet) grow() {
	old := s.slots
	// 32 slots hold a 24-packet flow, longer than most, without a rehash.
	size := 32
	if len(old) > 0 {
		size = len(old) * 2
	}
	s.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for _, fp := range old {
		if fp == 0 {
			continue
		}
		i := fp & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = fp
	}
}

func (s *retxSet) reset() {
	clear(s.slots)
	s.n = 0
}
