package flowmeter

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowguard/flowguard/internal/capture"
)

// BenchmarkPipeline meters a capture held in memory (read, decode, meter,
// CSV) and reports packets/s. It uses $FLOWGUARD_BENCH_PCAP when set (e.g.
// the 1M-packet capture of bench/flowmeter.sh), else the golden synth_small:
//
//	go test -run XXX -bench Pipeline -benchmem -cpuprofile cpu.out ./internal/flowmeter
func BenchmarkPipeline(b *testing.B) {
	path := os.Getenv("FLOWGUARD_BENCH_PCAP")
	if path == "" {
		path = filepath.Join(sharedDir(b), "golden", "pcap", "synth_small.pcap")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, pr := range []*Profile{Engelen, CIC2017} {
		b.Run(pr.Name, func(b *testing.B) {
			var packets int64
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r, err := capture.NewReader(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				w, _ := NewCSVWriter(io.Discard, pr, false)
				m, _ := New(Config{Profile: pr}, func(f *Flow) { w.Write(f) })
				if err := Run(context.Background(), r, m); err != nil {
					b.Fatal(err)
				}
				m.Flush()
				w.Close()
				packets = m.Stats().Packets
			}
			b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
