package events

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// fuzzReader drains a reader over arbitrary input: it must end (EOF or a
// final error) without panicking, every event must hold valid UTF-8, and
// a *ParseError must always make progress.
func fuzzReader(t *testing.T, data []byte, f Format, opt *Options) {
	if opt == nil {
		opt = &Options{MaxLine: 4096, MaxBody: 4096}
	}
	r, err := NewReader(bytes.NewReader(data), f, opt)
	if err != nil {
		return
	}
	for i := 0; i <= len(data)+2; i++ {
		e, err := r.Next()
		if err == io.EOF {
			return
		}
		var pe *ParseError
		if err != nil && !errors.As(err, &pe) {
			return
		}
		if e != nil {
			for _, s := range []string{e.Path, e.Query, e.Body, e.UserAgent, e.ClientIP, e.Method} {
				if f != FormatMLPT && f != FormatModSec && !utf8.ValidString(s) {
					t.Fatalf("invalid UTF-8 in %+v", e)
				}
			}
			if e.RequestSize < 0 {
				t.Fatalf("negative size in %+v", e)
			}
		}
	}
	t.Fatalf("reader yielded more records than input bytes")
}

func addSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzMLPT(f *testing.F) {
	addSeeds(f, "mlpt_readme_request.json", "mlpt_array.json", "mlpt_lines.jsonl")
	f.Add([]byte(`[{"data": "{\"A\": NaN, \"B\": -Infinity}"}, 1, "x"]`))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzReader(t, b, FormatMLPT, nil) })
}

func FuzzCSIC(f *testing.F) {
	addSeeds(f, "csic_small.txt")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzReader(t, b, FormatCSIC, nil) })
}

func FuzzAccess(f *testing.F) {
	addSeeds(f, "access_combined.log")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzReader(t, b, FormatAccess, nil) })
}

func FuzzModSec(f *testing.F) {
	addSeeds(f, "modsec_native.log", "modsec_v3.json")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzReader(t, b, FormatModSec, nil) })
}

func FuzzCSV(f *testing.F) {
	addSeeds(f, "custom.csv")
	f.Add([]byte("\"payload\",\"length\",\"attack_type\",\"label\"\n\"a\"\"b\",\"3\",\"norm\",\"norm\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzReader(t, b, FormatCSV, nil)
		fuzzReader(t, b, FormatHTTPParams, nil)
		fuzzReader(t, b, FormatLines, nil)
	})
}

func FuzzDetect(f *testing.F) {
	addSeeds(f, "csic_small.txt", "modsec_native.log", "access_combined.log")
	f.Fuzz(func(t *testing.T, b []byte) {
		if fm, err := Detect(b); err == nil {
			fuzzReader(t, b, fm, nil)
		}
	})
}

// FuzzDecode checks the decoder's invariants: valid UTF-8 out, idempotent
// once stable (a fourth round changes nothing when three did not), and
// never longer than its input plus the expansion of %u and cp1252.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"%2527", "a+b%u003c", "A%F1adir", "&#x3c;&lt", "%%%", "%u%u0"} {
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, s string, plus, html bool) {
		out, rounds := DecodeRounds(s, plus, html)
		if !utf8.ValidString(out) {
			t.Fatalf("Decode(%q) = %q: invalid UTF-8", s, out)
		}
		if rounds < 0 || rounds > maxDecodeRounds {
			t.Fatalf("rounds %d", rounds)
		}
		if len(out) > 3*len(s)+3 {
			t.Fatalf("Decode(%q) grew to %d bytes", s, len(out))
		}
		if !html && rounds < maxDecodeRounds {
			if again, r := DecodeRounds(out, false, false); again != out && r > 0 && !bytes.ContainsAny([]byte(out), "%") {
				t.Fatalf("not stable: %q → %q", out, again)
			}
		}
	})
}

// FuzzTransform feeds arbitrary events through a fitted model: finite
// output of the right length, always.
func FuzzTransform(f *testing.F) {
	model, err := Featurizer{Components: 4, NgramBits: 8, TokenBits: 6}.Fit(synthEvents(200, 9))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("/a", "b=%27", "x", "sqlmap", "1.2.3.4")
	f.Fuzz(func(t *testing.T, path, query, body, ua, ip string) {
		x := model.Transform(&Event{Path: path, Query: query, Body: body, UserAgent: ua, ClientIP: ip}, nil)
		if len(x) != model.Dim() {
			t.Fatalf("dim %d", len(x))
		}
		for _, v := range x {
			if !finite(v) {
				t.Fatalf("non-finite output %v", x)
			}
		}
	})
}
