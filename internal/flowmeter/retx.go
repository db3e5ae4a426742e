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

// retxSet is a small open-addressing hash set of retxKey. A Go map per flow
// would allocate for every TCP flow; this grows only for flows that have
// many packets and is reset, keeping its storage, when the flow ends.
type retxSet struct {
	slots []retxSlot
	n     int
}

type retxSlot struct {
	used bool
	k    retxKey
}

func (k retxKey) hash() uint64 {
	h := uint64(k.seq)*0x9e3779b97f4a7c15 ^ uint64(k.ack)*0xc2b2ae3d27d4eb4f ^
		uint64(k.size)<<17 ^ uint64(k.win)<<49
	if k.fwd {
		h ^= 0x165667b19e3779f9
	}
	h ^= h >> 29
	return h * 0xbf58476d1ce4e5b9
}

// addSeen inserts k and reports whether it was already there.
func (s *retxSet) addSeen(k retxKey) bool {
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := k.hash() & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if !sl.used {
			sl.used, sl.k = true, k
			s.n++
			return false
		}
		if sl.k == k {
			return true
		}
	}
}

func (s *retxSet) grow() {
	old := s.slots
	size := 16
	if len(old) > 0 {
		size = len(old) * 2
	}
	s.slots = make([]retxSlot, size)
	s.n = 0
	for _, sl := range old {
		if sl.used {
			s.addSeen(sl.k)
		}
	}
}

func (s *retxSet) reset() {
	clear(s.slots)
	s.n = 0
}
