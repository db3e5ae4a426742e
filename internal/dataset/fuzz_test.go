package dataset

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// fuzzLoad loads data as the file p: whatever the bytes, Load must
// return an error or a consistent table, never panic or hang.
func fuzzLoad(t *testing.T, p string, data []byte) {
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tab, rep, err := Load([]string{p}, LoadOptions{Workers: 2, KeepIdentifiers: true})
	if err != nil {
		if !strings.Contains(err.Error(), p) && !strings.HasPrefix(err.Error(), "load:") {
			t.Errorf("error %q does not name the file", err)
		}
		return
	}
	checkTable(t, tab)
	if z, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
		data, _ = io.ReadAll(z)
	}
	if lines := bytes.Count(data, []byte{'\n'}) + 1; rep.RowsRead > lines {
		t.Errorf("%d rows from %d lines", rep.RowsRead, lines)
	}
	_ = rep.String()
}

func addFixtures(f *testing.F, ext string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"+ext))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzCSV(f *testing.F) {
	addFixtures(f, ".csv")
	addFixtures(f, ".gz")
	f.Add([]byte("Tot Fwd Pkts,Label\n1,\"a,b\"\n\"2\",x\n"))
	f.Add([]byte("Flow Duration,Timestamp,Label\n3,6/7/2017 10:40,BENIGN\r\n4,,\n"))
	p := filepath.Join(f.TempDir(), "f.csv") // one fuzzing process runs one input at a time
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLoad(t, p, data) })
}

func FuzzJSONL(f *testing.F) {
	addFixtures(f, ".jsonl")
	f.Add([]byte(`{"Flow Duration":1,"Label":"a\u00e9\"b","Flow Bytes/s":"Infinity"}` + "\n" + `{"Flow Duration":null}`))
	f.Add([]byte(`{"Tot Fwd Pkts": NaN, "Timestamp": "2017-07-06 13:40:13.1", "Label": "\ud83d\ude00"}`))
	p := filepath.Join(f.TempDir(), "f.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLoad(t, p, data) })
}

// The number parser agrees with strconv on everything both accept, and
// accepts what strconv does.
func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"0", "-0.5", "1.0E7", "8.666666667000001", "Infinity", "nan", "1e400", ".5", "12345678901234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		got, err := parseFloat([]byte(s))
		want, serr := strconv.ParseFloat(s, 64)
		if serr != nil && !strings.Contains(serr.Error(), "range") {
			if err == nil {
				t.Fatalf("parseFloat(%q) = %v, strconv rejects it: %v", s, got, serr)
			}
			return
		}
		if err != nil {
			t.Fatalf("parseFloat(%q): %v, strconv reads %v", s, err, want)
		}
		if want == 0 {
			want = 0
		}
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("parseFloat(%q) = %v, strconv %v", s, got, want)
		}
	})
}

func FuzzParquet(f *testing.F) {
	type flow struct {
		Duration int64   `parquet:"Flow Duration"`
		Rate     float64 `parquet:"Flow Byts/s"`
		Time     string  `parquet:"Timestamp"`
		Label    string  `parquet:"Label"`
	}
	var buf bytes.Buffer
	err := parquet.Write(&buf, []flow{{3, 4e6, "06/07/2017 01:40:07", "BENIGN"}, {5, math.Inf(1), "", "DoS"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	p := filepath.Join(f.TempDir(), "f.parquet")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzLoad(t, p, data) })
}
