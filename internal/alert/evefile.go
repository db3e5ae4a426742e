package alert

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// EVEFile is a Sink that appends one EVE JSON line per alert to a file (the
// eve.json Suricata users already ship) or to a stream such as stdout.
type EVEFile struct {
	mu     sync.Mutex
	path   string    // "" when writing to a stream that cannot be reopened
	f      *os.File  // nil for a stream
	dst    io.Writer // f, or the stream
	w      *bufio.Writer
	sync   bool
	line   []byte
	broken bool // the last batch failed mid-line
	closed bool
}

// OpenEVEFile opens path for appending, creating it readable by owner and
// group only (alerts name hosts). With fsync, every batch is synced to disk
// before Send returns.
func OpenEVEFile(path string, fsync bool) (*EVEFile, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &EVEFile{path: path, f: f, dst: f, w: bufio.NewWriterSize(f, 64<<10), sync: fsync}, nil
}

// NewEVEWriter writes EVE lines to w, for `flowguard detect` printing to
// stdout. Reopen does nothing and Close flushes without closing w.
func NewEVEWriter(w io.Writer) *EVEFile {
	return &EVEFile{dst: w, w: bufio.NewWriterSize(w, 64<<10)}
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("alert: open EVE file: %w", err)
	}
	return f, nil
}

// Send writes the batch and flushes it, so a reader tailing the file sees
// whole batches.
func (e *EVEFile) Send(_ context.Context, alerts []Alert) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.broken {
		// End the torn line so it spoils only itself, not the next alert.
		e.w.WriteByte('\n')
	}
	for i := range alerts {
		e.line = appendAlert(e.line[:0], &alerts[i])
		e.line = append(e.line, '\n')
		e.w.Write(e.line) // a bufio.Writer keeps its first error for Flush
	}
	if err := e.w.Flush(); err != nil {
		e.broken = true
		e.w.Reset(e.dst) // a bufio.Writer never recovers from an error
		return fmt.Errorf("alert: write EVE %s: %w", e.name(), err)
	}
	e.broken = false
	if e.sync && e.f != nil {
		if err := e.f.Sync(); err != nil {
			return fmt.Errorf("alert: sync EVE %s: %w", e.name(), err)
		}
	}
	return nil
}

// Reopen starts a new file at the same path, for logrotate's rename-then-
// signal rotation: call it on SIGHUP. If the path cannot be opened the old
// file is kept.
func (e *EVEFile) Reopen() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.f == nil {
		return nil
	}
	f, err := openAppend(e.path)
	if err != nil {
		return err
	}
	err = e.w.Flush()
	if cerr := e.f.Close(); err == nil {
		err = cerr
	}
	e.f, e.dst = f, f
	e.w.Reset(f)
	e.broken = false
	if err != nil {
		return fmt.Errorf("alert: close rotated EVE %s: %w", e.path, err)
	}
	return nil
}

// Close flushes, and closes the file (not a stream given to NewEVEWriter).
func (e *EVEFile) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.w.Flush()
	if e.f != nil {
		if e.sync && err == nil {
			err = e.f.Sync()
		}
		if cerr := e.f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("alert: close EVE %s: %w", e.name(), err)
	}
	return nil
}

func (e *EVEFile) name() string {
	if e.path == "" {
		return "stream"
	}
	return e.path
}
