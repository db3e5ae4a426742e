package events

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// drain reads all events and parse errors from a testdata file.
func drain(t *testing.T, name string, f Format, opt *Options) ([]*Event, []error) {
	t.Helper()
	fh, err := Open(filepath.Join("testdata", name), f, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var evs []*Event
	var errs []error
	for i := 0; i < 1000; i++ {
		e, err := fh.Next()
		if err == io.EOF {
			return evs, errs
		}
		var pe *ParseError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("%s: final error %v", name, err)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		evs = append(evs, e)
	}
	t.Fatalf("%s: reader does not end", name)
	return nil, nil
}

func TestMLPTReadmeRequest(t *testing.T) {
	evs, errs := drain(t, "mlpt_readme_request.json", FormatAuto, nil)
	if len(errs) > 0 || len(evs) != 2 {
		t.Fatalf("%d events, errors %v", len(evs), errs)
	}
	e := evs[0]
	if e.ClientIP != "188.138.92.55" || e.UserAgent != "" || e.RequestSize != 166 || e.ResponseCode != 404 ||
		e.MatchedSrc != "REQUEST_URI" || e.MatchedName != "" || e.MatchedValue != "//tmp/20160925122692indo.php.vob" ||
		e.EventID != "AVdhXFgVq1Ppo9zF5Fxu" || e.Path != "//tmp/20160925122692indo.php.vob" {
		t.Errorf("event 0 = %+v", e)
	}
	if e := evs[1]; e.MatchedName != "url" || e.Query != "http://www.galitsios.gr/?option=com_k2%5C%5C" || !strings.HasPrefix(e.UserAgent, "Mozilla/5.0") {
		t.Errorf("event 1 = %+v", e)
	}
}

func TestMLPTArrayAndLines(t *testing.T) {
	evs, errs := drain(t, "mlpt_array.json", FormatMLPT, nil)
	if len(errs) > 0 || len(evs) != 2 {
		t.Fatalf("%d events, errors %v", len(evs), errs)
	}
	if evs[0].RequestSize != 166 || evs[0].Path != "/index.php" || evs[0].Query != "id=1%27+or+1=1--" {
		t.Errorf("event 0 = %+v", evs[0])
	}
	// Infinity → null → 0; NaN inside strings untouched.
	if evs[1].RequestSize != 0 || evs[1].ResponseCode != 0 || evs[1].Body != `NaN is not a token "NaN" here` {
		t.Errorf("event 1 = %+v", evs[1])
	}
	evs, errs = drain(t, "mlpt_lines.jsonl", FormatAuto, nil)
	if len(evs) != 2 || len(errs) != 1 {
		t.Fatalf("lines: %d events, errors %v", len(evs), errs)
	}
	var pe *ParseError
	if !errors.As(errs[0], &pe) || pe.Pos.Line != 2 {
		t.Errorf("error %v not at line 2", errs[0])
	}
	if evs[1].EventID != "L3" || evs[1].RequestSize != 12 || evs[1].Source.Line != 4 {
		t.Errorf("line event = %+v", evs[1])
	}
}

func TestCSICSmall(t *testing.T) {
	evs, errs := drain(t, "csic_small.txt", FormatAuto, &Options{Label: LabelNormal})
	if len(evs) != 4 || len(errs) != 1 {
		t.Fatalf("%d events, errors %v", len(evs), errs)
	}
	e := evs[0]
	if e.Method != "GET" || e.Path != "/shop/item.jsp" || e.Query != "id=3&name=Vino+Rioja&B1=A%F1adir" || e.Host != "localhost:8080" ||
		e.CookieLen != len("JSESSIONID=ABC") || e.Label != LabelNormal || e.Source.Line != 1 {
		t.Errorf("GET = %+v", e)
	}
	if e := evs[1]; e.Method != "POST" || e.Body != "user=bob&pass=%27+or+1%3D1" || e.ContentType == "" || e.Source.Line != 7 {
		t.Errorf("POST = %+v", e)
	}
	if e := evs[2]; e.Method != "PUT" || e.Body != "ab\ncd" {
		t.Errorf("PUT body %q", e.Body)
	}
	if e := evs[3]; e.Path != "/last" || e.UserAgent != "été" {
		t.Errorf("last = %+v (Latin-1 UA must become UTF-8)", e)
	}
	if !strings.Contains(errs[0].Error(), "line 20") {
		t.Errorf("error lacks its line: %v", errs[0])
	}
}

func TestAccessLog(t *testing.T) {
	evs, errs := drain(t, "access_combined.log", FormatAuto, nil)
	if len(evs) != 4 || len(errs) != 1 {
		t.Fatalf("%d events, errors %v", len(evs), errs)
	}
	e := evs[0]
	if e.ClientIP != "192.168.1.10" || e.Method != "GET" || e.Path != "/index.php" || e.Query != "q=%3Cscript%3E" ||
		e.ResponseCode != 200 || e.ResponseSize != 2326 || e.UserAgent != "Mozilla/5.0 (X11; Linux x86_64)" || e.Time.Hour() != 13 {
		t.Errorf("event 0 = %+v", e)
	}
	if e := evs[1]; e.UserAgent != `sqlmap/1.7 ("quoted" ua)` || e.ResponseSize != 0 || e.ClientIP != "2001:db8::7" {
		t.Errorf("event 1 = %+v", e)
	}
	if e := evs[2]; e.Method != "" || e.Path != "\x16\x03\x01\x00" {
		t.Errorf("junk request = %+v", e)
	}
	if e := evs[3]; e.Path != `/a"b` || e.UserAgent != "" {
		t.Errorf("common format = %+v", e)
	}
	if !strings.Contains(errs[0].Error(), "line 5") {
		t.Errorf("error lacks its line: %v", errs[0])
	}
}

func TestModSecNative(t *testing.T) {
	evs, errs := drain(t, "modsec_native.log", FormatAuto, nil)
	if len(evs) != 3 || len(errs) != 0 {
		t.Fatalf("%d events, errors %v", len(evs), errs)
	}
	e := evs[0]
	if e.ClientIP != "203.0.113.9" || e.EventID != "V5guiH8AAQEAADTeJ2wAAAAK" || e.Method != "POST" || e.Path != "/wp-login.php" ||
		e.Query != "action=login" || e.UserAgent != "python-requests/2.9.1" || e.CookieLen != 8 || e.Body != "log=admin&pwd=%27+union+select+1--" ||
		e.ResponseCode != 403 || !strings.HasPrefix(e.MatchedValue, "Matched Data: union select") || e.Time.Minute() != 46 {
		t.Errorf("event 0 = %+v", e)
	}
	// The second lacks Z: it ends at the next A boundary.
	if e := evs[1]; e.Path != "/etc/passwd" || e.ResponseCode != 404 || e.ClientIP != "198.51.100.4" {
		t.Errorf("event 1 = %+v", e)
	}
	if e := evs[2]; e.Path != "/ok" || e.ClientIP != "10.1.1.1" {
		t.Errorf("event 2 = %+v", e)
	}
}

func TestModSecJSON(t *testing.T) {
	evs, errs := drain(t, "modsec_v3.json", FormatAuto, nil)
	if len(evs) != 2 || len(errs) != 1 {
		t.Fatalf("%d events, errors %v", len(evs), errs)
	}
	e := evs[0]
	if e.ClientIP != "127.0.0.1" || e.Method != "GET" || e.Path != "/" || e.Query != "id=1%20union%20select" || e.ResponseCode != 403 ||
		e.UserAgent != "ApacheBench/2.3" || e.MatchedValue != "Matched Data: union select" || e.Time.Year() != 2019 {
		t.Errorf("v3 = %+v", e)
	}
	if e := evs[1]; e.ClientIP != "203.0.113.9" || e.Method != "POST" || e.Path != "/form" || e.Body != "a=1&b=2" || e.ResponseCode != 200 || e.UserAgent != "curl/8" {
		t.Errorf("v2 = %+v", e)
	}
}

func TestCSVMapping(t *testing.T) {
	m := &CSVMapping{URL: "uri", IP: "src", UserAgent: "#2", Label: "verdict",
		LabelValues: map[string]string{"good": LabelNormal, "bad": LabelAnomalous}}
	evs, errs := drain(t, "custom.csv", FormatCSV, &Options{CSV: m})
	if len(evs) != 2 || len(errs) != 0 {
		t.Fatalf("%d events, errors %v", len(evs), errs)
	}
	if e := evs[1]; e.ClientIP != "8.8.8.8" || e.UserAgent != "curl, the tool" || e.Path != "/x" || e.Query != "y=<script>" || e.Label != LabelAnomalous || e.Source.Line != 3 {
		t.Errorf("row 2 = %+v", e)
	}
	// Without a mapping the header is guessed.
	evs, _ = drain(t, "custom.csv", FormatAuto, nil)
	if len(evs) != 2 || evs[0].Path != "/a" {
		t.Errorf("guessed mapping: %+v", evs)
	}
	if _, err := NewReader(strings.NewReader("a,b\n1,2\n"), FormatCSV, nil); err == nil {
		t.Error("CSV without URL/payload column accepted")
	}
	if _, err := NewReader(strings.NewReader("a,b\n"), FormatCSV, &Options{CSV: &CSVMapping{URL: "nope"}}); err == nil {
		t.Error("mapping to a missing column accepted")
	}
}

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		file string
		want Format
	}{
		{"mlpt_readme_request.json", FormatMLPT}, {"mlpt_array.json", FormatMLPT}, {"mlpt_lines.jsonl", FormatMLPT},
		{"csic_small.txt", FormatCSIC}, {"access_combined.log", FormatAccess}, {"modsec_native.log", FormatModSec},
		{"modsec_v3.json", FormatModSec}, {"custom.csv", FormatCSV},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Detect(b[:min(len(b), 1024)]); got != c.want || err != nil {
			t.Errorf("Detect(%s) = %q, %v; want %q", c.file, got, err, c.want)
		}
	}
	for in, want := range map[string]Format{
		"\"payload\",\"length\",\"attack_type\",\"label\"\n": FormatHTTPParams,
		"/top.php?stuff='uname\n":                            FormatLines,
	} {
		if got, _ := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := Detect([]byte("   \n")); err == nil {
		t.Error("empty input detected")
	}
	if _, err := Detect([]byte("hello world")); err == nil {
		t.Error("prose detected")
	}
}

func TestLineLimit(t *testing.T) {
	in := "/ok\n/" + strings.Repeat("a", 5000) + "\n/ok2\n"
	r, err := NewReader(strings.NewReader(in), FormatLines, &Options{MaxLine: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var errs int
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrTooLong) {
			errs++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Path)
	}
	if errs != 1 || len(got) != 2 || got[1] != "/ok2" {
		t.Errorf("got %v with %d errors", got, errs)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"auto", "mlpt", "csic", "access", "nginx", "modsec", "csv", "httpparams", "fwaf", "lines"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
}
