package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/store"
)

// The kill test's server runs in a child process: this test binary again,
// running TestKillChild with killDirEnv set.
const killDirEnv = "FLOWGUARD_SERVER_KILL_DIR"

// TestKillChild is the helper process of TestKill: a server on a loopback
// port that writes its address to DIR/addr and runs until killed.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(killDirEnv)
	if dir == "" {
		t.Skip("helper process of TestKill")
	}
	ctx := context.Background()
	s, err := New(ctx, killConfig(dir), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(s.Addr()), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
	t.Fatal(s.Run(ctx)) // never returns before the kill
}

// killConfig keeps the kill test on SQLite: the child process and the
// parent must name the same database (the store's own kill tests cover
// PostgreSQL).
func killConfig(dir string) Config {
	return Config{Listen: "127.0.0.1:0", StoreURL: killStore(dir), SpoolDir: filepath.Join(dir, "spool"), Token: testToken,
		MaxPcapBytes: 1 << 30}
}

// bigCapture repeats the SQL-injection capture copies times, an hour
// apart, so every copy's flows are new flows with new alerts.
func bigCapture(t *testing.T, copies int) []byte {
	src, err := os.ReadFile(shared(t, "golden/pcap/cicids2017_webattack_sqlinj.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(src) != 0xa1b2c3d4 {
		t.Skip("the capture is not a little-endian microsecond pcap")
	}
	var out bytes.Buffer
	out.Write(src[:24])
	rec := make([]byte, 0, 64<<10)
	for c := range copies {
		for off := 24; off+16 <= len(src); {
			n := int(binary.LittleEndian.Uint32(src[off+8:]))
			rec = append(rec[:0], src[off:off+16+n]...)
			binary.LittleEndian.PutUint32(rec, binary.LittleEndian.Uint32(rec)+uint32(c*3600))
			out.Write(rec)
			off += 16 + n
		}
	}
	return out.Bytes()
}

// TestKill: kill -9 the server during a pcap job, restart it on the same
// store: every alert a client saw before the kill is stored, and the job
// is resumed to completion (or failed with a reason), never lost.
func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test starts a child process")
	}
	capture := bigCapture(t, 1500)
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v")
	child.Env = append(os.Environ(), killDirEnv+"="+dir)
	var childOut bytes.Buffer
	child.Stdout, child.Stderr = &childOut, &childOut
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	var addr []byte
	for deadline := time.Now().Add(30 * time.Second); len(addr) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("child did not start:\n%s", childOut.String())
		}
		time.Sleep(20 * time.Millisecond)
		addr, _ = os.ReadFile(filepath.Join(dir, "addr"))
	}
	base := "http://" + string(addr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/alerts/stream", nil)
	sse, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	code, _, b := do(t, "POST", base+"/v1/jobs/pcap?name=big.pcap", "application/vnd.tcpdump.pcap", bytes.NewReader(capture), testToken)
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %s", code, b)
	}
	jobID := decode[JobInfo](t, b).ID

	// Kill once the first alerts have been reported.
	seen := map[string]bool{}
	sc := bufio.NewScanner(sse.Body)
	for len(seen) < 100 && sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			seen[id] = true
		}
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	if len(seen) < 100 {
		t.Fatalf("only %d alerts streamed before the kill: %v\n%s", len(seen), sc.Err(), childOut.String())
	}

	st, err := store.Open(ctx, killStore(dir))
	if err != nil {
		t.Fatal(err)
	}
	j, err := st.GetJob(ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != store.Running {
		t.Logf("job was %s at the kill (want running: the kill came too late to test resumption)", j.State)
	}
	for id := range seen {
		if _, err := st.GetAlert(ctx, id); err != nil {
			t.Fatalf("alert %s streamed before the kill is not stored: %v", id, err)
		}
	}
	st.Close()

	// Restart on the same store and spool: the job is resumed.
	s, err := New(ctx, killConfig(dir), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base = "http://" + s.Addr()
	res := waitJob(t, base, jobID)
	if res.State == "failed" && res.Error == "" {
		t.Fatal("job failed without a reason")
	}
	if res.State != "done" {
		t.Fatalf("job not resumed: %+v", res)
	}
	if res.Attempts < 2 && j.State == store.Running {
		t.Fatalf("job ran %d times, want a resumed second attempt", res.Attempts)
	}
	// Exactly the alerts of one complete run: none lost, none doubled.
	var all []alert.Alert
	for cursor := ""; ; {
		_, _, b := do(t, "GET", base+"/v1/jobs/"+jobID+"/alerts?limit=1000&cursor="+cursor, "", nil, "")
		p := decode[alertsPage](t, b)
		all = append(all, p.Alerts...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if int64(len(all)) != res.Alerts {
		t.Fatalf("%d alerts stored for the job, the completed run made %d", len(all), res.Alerts)
	}
	for id := range seen {
		found := false
		for i := range all {
			found = found || all[i].ID == id
		}
		if !found {
			t.Fatalf("pre-kill alert %s missing after the resumed run", id)
		}
	}
	t.Logf("killed after %d streamed alerts; resumed job: %d flows, %d alerts, %d attempts", len(seen), res.Flows, res.Alerts, res.Attempts)
}

func killStore(dir string) string { return "sqlite:" + filepath.Join(dir, "flowguard.db") }
