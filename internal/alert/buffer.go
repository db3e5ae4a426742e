package alert

import (
	"context"
	"sync"
)

// Buffer is a sink that keeps every alert it is sent, in order, for
// callers that score alerts after a run (the testbed) and for tests. Safe
// for concurrent use.
type Buffer struct {
	mu     sync.Mutex
	alerts []Alert
}

// Send appends copies of alerts.
func (b *Buffer) Send(_ context.Context, alerts []Alert) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alerts = append(b.alerts, alerts...)
	return nil
}

// Alerts returns a copy of the alerts kept so far.
func (b *Buffer) Alerts() []Alert {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Alert(nil), b.alerts...)
}

// Len is the number of alerts kept so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.alerts)
}

// Close does nothing: the alerts stay readable.
func (b *Buffer) Close() error { return nil }
