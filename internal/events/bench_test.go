package events

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"
)

func csicBytes(b *testing.B) []byte {
	p := sharedFile(b, "http/csic2010/normalTrafficTraining.txt.gz")
	fh, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(gz)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkParseCSIC reports events/s parsing raw CSIC requests.
func BenchmarkParseCSIC(b *testing.B) {
	data := csicBytes(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	n := 0
	for b.Loop() {
		r, _ := NewReader(bytes.NewReader(data), FormatCSIC, nil)
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTransform reports events/s featurizing (decode, hash, scale,
// project) with the default model, one goroutine.
func BenchmarkTransform(b *testing.B) {
	evs, _, _, err := ReadAll(mustReader(b, csicBytes(b)))
	if err != nil {
		b.Fatal(err)
	}
	f, err := Featurizer{MaxFitRows: 10000}.Fit(evs)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float64, f.Dim())
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		dst = f.Transform(evs[i%len(evs)], dst)
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
}

func mustReader(b *testing.B, data []byte) Reader {
	r, err := NewReader(bytes.NewReader(data), FormatCSIC, nil)
	if err != nil {
		b.Fatal(err)
	}
	return r
}
