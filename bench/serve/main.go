// Command serve-bench loads a running flowguard server on loopback and
// prints its figures: flows/s through POST /v1/predict/flows with large
// batches (CSV and pandas-split JSON), and the latency percentiles of
// single-flow requests sent at a fixed rate, with the error count.
//
// The fixed-rate phase is open-loop: requests leave on schedule whether or
// not earlier ones have answered, and latency counts from the scheduled
// send time, so a stalled server shows up as latency instead of quietly
// lowering the rate (coordinated omission).
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var (
		base     = flag.String("url", "http://127.0.0.1:8080", "server base URL")
		data     = flag.String("data", "/work/shared/data/seeds/ml-ids/api_client_dataset.csv", "CSV of flows (ml-ids columns)")
		batch    = flag.Int("batch", 20000, "rows per batched request")
		conc     = flag.Int("concurrency", 2, "batched requests in flight")
		batchDur = flag.Duration("batch-duration", 10*time.Second, "length of each batched phase")
		rate     = flag.Int("rate", 2000, "single-flow requests per second")
		rateDur  = flag.Duration("rate-duration", 10*time.Second, "length of the fixed-rate phase")
	)
	flag.Parse()
	header, rows, err := readCSV(*data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve-bench:", err)
		os.Exit(1)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}
	url := *base + "/v1/predict/flows?allow_nonfinite=true"

	csvBody := csvBatch(header, rows, *batch)
	splitBody := splitBatch(header, rows, *batch)
	failed := false
	for _, p := range []struct {
		name, ct string
		body     []byte
	}{
		{"csv", "text/csv", csvBody},
		{"pandas-split", "application/json; format=pandas-split", splitBody},
	} {
		flows, reqs, errs, el := batched(client, url, p.ct, p.body, *batch, *conc, *batchDur)
		fmt.Printf("batched %-12s %8.0f flows/s  (%d requests of %d rows, %.1f MB each, %d errors, %.1fs)\n",
			p.name, float64(flows)/el.Seconds(), reqs, *batch, float64(len(p.body))/1e6, errs, el.Seconds())
		failed = failed || errs > 0
	}

	single := recordsBody(header, rows[0])
	lat, errs := fixedRate(client, url, single, *rate, *rateDur)
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	fmt.Printf("single-flow at %d req/s: %d requests, p50 %v, p99 %v, max %v, %d errors\n",
		*rate, len(lat)+int(errs), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond),
		pct(1).Round(time.Microsecond), errs)
	if failed || errs > 0 {
		os.Exit(1)
	}
}

func readCSV(path string) ([]string, [][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		return nil, nil, fmt.Errorf("%s: want a header and rows: %v", path, err)
	}
	return recs[0], recs[1:], nil
}

// csvBatch repeats the rows to n.
func csvBatch(header []string, rows [][]string, n int) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for i := range n {
		w.Write(rows[i%len(rows)])
	}
	w.Flush()
	return b.Bytes()
}

// jsonValue writes a CSV cell as JSON: numbers bare, inf as Python
// writes it, anything else (timestamp, label) as a string.
func jsonValue(v string) string {
	switch v {
	case "inf":
		return "Infinity"
	case "-inf":
		return "-Infinity"
	case "":
		return "null"
	}
	if json.Valid([]byte(v)) && !strings.ContainsAny(v, `"[]{}`) {
		return v
	}
	q, _ := json.Marshal(v)
	return string(q)
}

func splitBatch(header []string, rows [][]string, n int) []byte {
	var b bytes.Buffer
	cols, _ := json.Marshal(header)
	fmt.Fprintf(&b, `{"columns":%s,"data":[`, cols)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j, v := range rows[i%len(rows)] {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonValue(v))
		}
		b.WriteByte(']')
	}
	b.WriteString("]}")
	return b.Bytes()
}

func recordsBody(header, row []string) []byte {
	var b bytes.Buffer
	b.WriteString("[{")
	for j, v := range row {
		if j > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(header[j])
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(jsonValue(v))
	}
	b.WriteString("}]")
	return b.Bytes()
}

func post(client *http.Client, url, ct string, body []byte) error {
	resp, err := client.Post(url, ct, bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// batched sends the body from conc goroutines for d.
func batched(client *http.Client, url, ct string, body []byte, rows, conc int, d time.Duration) (flows, reqs, errs int64, el time.Duration) {
	var nreq, nerr atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for time.Since(start) < d {
				if err := post(client, url, ct, body); err != nil {
					nerr.Add(1)
					fmt.Fprintln(os.Stderr, "batched:", err)
					continue
				}
				nreq.Add(1)
			}
		})
	}
	wg.Wait()
	el = time.Since(start)
	return nreq.Load() * int64(rows), nreq.Load(), nerr.Load(), el
}

// fixedRate sends one request every 1/rate seconds for d, open-loop.
func fixedRate(client *http.Client, url string, body []byte, rate int, d time.Duration) ([]time.Duration, int64) {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		wg.Go(func() {
			if err := post(client, url, "application/json", body); err == nil {
				lat[i], ok[i] = time.Since(due), true
			}
		})
	}
	wg.Wait()
	var out []time.Duration
	var errs int64
	for i := range n {
		if ok[i] {
			out = append(out, lat[i])
		} else {
			errs++
		}
	}
	return out, errs
}
