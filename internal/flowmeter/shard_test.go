package flowmeter

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flowguard/flowguard/internal/capture"
)

// TestShardedMatchesSingle checks that sharded metering writes exactly the
// records of one Meter (compared as sorted lines) with the same counters.
func TestShardedMatchesSingle(t *testing.T) {
	path := filepath.Join(sharedDir(t), "golden", "pcap", "synth_small.pcap")
	for _, pr := range []*Profile{CIC2017, Engelen} {
		want := strings.Split(string(meterFile(t, path, pr)), "\n")
		r, err := capture.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var out bytes.Buffer
		base, err := NewCSVWriter(&out, pr, false)
		if err != nil {
			t.Fatal(err)
		}
		ws := []Writer{base, base.Fork(), base.Fork()}
		cfg := DefaultConfig()
		cfg.Profile, cfg.IPv4Only = pr, true
		s, err := NewSharded(cfg, 3, func(i int, f *Flow) {
			mu.Lock()
			defer mu.Unlock()
			ws[i].Write(f)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := Run(context.Background(), r, s); err != nil {
			t.Fatal(err)
		}
		s.Flush()
		r.Close()
		for _, w := range slices.Backward(ws) {
			w.Close()
		}
		got := strings.Split(out.String(), "\n")
		if got[0] != want[0] {
			t.Fatalf("%s: header differs", pr.Name)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: sharded records differ from a single meter's (%d vs %d lines)", pr.Name, len(got), len(want))
		}
		if st := s.Stats(); st.Packets != 26937 || st.Flows != int64(len(want)-2) {
			t.Errorf("%s: stats %+v", pr.Name, st)
		}
	}
}
