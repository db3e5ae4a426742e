package flowmeter

import "testing"

// TestFlowTableCollisions puts every key under one hash to check lookups,
// inserts and removals at the head, middle and tail of a collision chain,
// then the plain methods on real hashes.
func TestFlowTableCollisions(t *testing.T) {
	var fs slab
	tb := flowTable{byHash: map[uint64]int32{}}
	keys := make([]key, 6)
	idx := make([]int32, 6)
	for i := range keys {
		keys[i] = key{pa: uint16(i), proto: 6}
		idx[i] = fs.grow()
		fs.at(idx[i]).key = keys[i]
		tb.putHashed(&fs, idx[i], 42)
	}
	removed := map[int]bool{}
	for _, r := range []int{2, 5, 0} { // middle, head (last put), tail
		tb.removeHashed(&fs, idx[r], 42)
		removed[r] = true
		for i := range keys {
			got, ok := tb.getHashed(&fs, &keys[i], 42)
			if ok == removed[i] || ok && got != idx[i] {
				t.Errorf("after removing %d: key %d found=%v at %d", r, i, ok, got)
			}
		}
	}
	if tb.n != 3 {
		t.Errorf("%d flows counted, want 3", tb.n)
	}

	real := flowTable{byHash: map[uint64]int32{}}
	for i := range keys {
		real.put(&fs, idx[i])
	}
	for i := range keys {
		if got, ok := real.get(&fs, &keys[i]); !ok || got != idx[i] {
			t.Errorf("get %d: %d %v", i, got, ok)
		}
		real.remove(&fs, idx[i])
		if _, ok := real.get(&fs, &keys[i]); ok || real.n != len(keys)-i-1 {
			t.Errorf("remove %d failed", i)
		}
	}
}
