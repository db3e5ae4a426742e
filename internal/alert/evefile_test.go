package alert

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// readEVE parses every line of an EVE file as a Suricata consumer would.
func readEVE(t *testing.T, path string) []suricataEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []suricataEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e suricataEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v: %s", len(out)+1, err, sc.Bytes())
		}
		e.check(t, path)
		out = append(out, e)
	}
	return out
}

func TestEVEFileAppendsAndReopens(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	// Appends to what is there, as Suricata does.
	os.WriteFile(path, []byte(`{"timestamp":"2024-03-05T14:07:22.418305+0100","flow_id":1,"event_type":"alert","proto":"TCP","alert":{"severity":2}}`+"\n"), 0o600)
	e, err := OpenEVEFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Send(ctx, []Alert{testAlert(0), testAlert(1)}); err != nil {
		t.Fatal(err)
	}
	// Flushed per batch: readable before Close.
	if got := readEVE(t, path); len(got) != 3 {
		t.Fatalf("%d lines after the first batch, want 3", len(got))
	}

	// logrotate: rename, then signal.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	e.Send(ctx, []Alert{testAlert(2)}) // still to the renamed file
	if err := e.Reopen(); err != nil {
		t.Fatal(err)
	}
	e.Send(ctx, []Alert{testAlert(3), testAlert(4)})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readEVE(t, path+".1"); len(got) != 4 {
		t.Errorf("rotated file has %d lines, want 4", len(got))
	}
	if got := readEVE(t, path); len(got) != 2 {
		t.Errorf("new file has %d lines, want 2", len(got))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if err := e.Send(ctx, []Alert{testAlert(5)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if err := e.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close: %v", err)
	}
}

func TestEVEFileReopenFailureKeepsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	e, err := OpenEVEFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	os.Remove(path)
	os.Mkdir(path, 0o700) // the path is now unopenable for writing
	if err := e.Reopen(); err == nil {
		t.Fatal("Reopen onto a directory succeeded")
	}
	if err := e.Send(context.Background(), []Alert{testAlert(0)}); err != nil {
		t.Errorf("old file lost after a failed Reopen: %v", err)
	}
}

// failingWriter takes limit bytes, then fails until healed.
type failingWriter struct {
	bytes.Buffer
	limit int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if room := w.limit - w.Len(); room < len(p) {
		w.Buffer.Write(p[:max(room, 0)])
		return max(room, 0), errors.New("disk full")
	}
	return w.Buffer.Write(p)
}

func TestEVEWriterRecoversFromTornWrite(t *testing.T) {
	w := &failingWriter{limit: 100}
	e := NewEVEWriter(w)
	ctx := context.Background()
	if err := e.Send(ctx, []Alert{testAlert(0)}); err == nil {
		t.Fatal("write past the limit succeeded")
	}
	w.limit = 1 << 20
	if err := e.Send(ctx, []Alert{testAlert(1)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen of a closed stream: %v", err)
	}
	// The torn line spoils only itself.
	lines := bytes.Split(bytes.TrimSuffix(w.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 2 || json.Valid(lines[0]) || !json.Valid(lines[1]) {
		t.Errorf("want a torn line then a whole one, got %q", lines)
	}
}
