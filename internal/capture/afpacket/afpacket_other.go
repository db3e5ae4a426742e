//go:build !linux

package afpacket

import (
	"fmt"

	"github.com/flowguard/flowguard/internal/capture"
)

// Source is never created off Linux; the methods exist so that callers
// build everywhere.
type Source struct{}

// Open fails: AF_PACKET exists only on Linux.
func Open(cfg Config) (*Source, error) {
	return nil, fmt.Errorf("afpacket: interface %q: %w", cfg.Interface, ErrUnsupported)
}

func (s *Source) Next(p *capture.Packet) error { return ErrUnsupported }
func (s *Source) Stats() (Stats, error)        { return Stats{}, ErrUnsupported }
func (s *Source) Close() error                 { return nil }
