// Package afpacket captures live packets from a Linux network interface
// through an AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring,
// in pure Go (golang.org/x/sys/unix, no cgo), so that flowguard stays one
// static binary. On other systems Open fails with ErrUnsupported.
//
// The kernel fills the ring block by block and hands a block to user space
// when it is full or when Config.BlockTimeout has passed since its first
// packet; a Source reads the packets of a block in place and gives the block
// back on the call to Next after its last packet, so the hot path neither
// copies nor allocates. The one exception is a frame whose 802.1Q tag the
// kernel stripped into the ring header: the tag is put back, as libpcap
// does, so that the decoder sees the same frame as in a capture file, and
// that needs a copy into a buffer of the Source.
package afpacket

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/net/bpf"
)

// Config says what to capture and how large the ring is. Only Interface is
// required; zero values take the defaults documented on each field.
type Config struct {
	Interface string // required

	// Filter is a classic BPF program (see internal/capture/filter) the
	// kernel runs on every frame before it reaches the ring. It is
	// attached before the socket is bound to the interface, so no frame
	// escapes it. Its return value bounds the bytes captured, as in
	// libpcap. Empty accepts everything.
	//
	// It sees frames as Next returns them, VLAN tags included: Linux takes
	// the tag out of a received frame before socket filters run, so on
	// Ethernet tagged frames pass the kernel and the program runs on them
	// in user space once the tag is back. VLAN traffic thus costs a copy
	// to user space even when the filter rejects it.
	Filter []bpf.RawInstruction

	SnapLen int // bytes kept of each frame; default 65535

	// BlockSize is the size of a ring block, a power-of-two multiple of
	// the page size; default 1 MiB. A frame longer than a block is
	// truncated by the kernel.
	BlockSize int
	Blocks    int // number of ring blocks; default 64

	// BlockTimeout makes the kernel hand over a partly filled block after
	// this long, so that a quiet link still delivers packets promptly;
	// default 50 ms. The kernel counts it in whole milliseconds.
	BlockTimeout time.Duration

	Promiscuous bool

	// PollTimeout is how long Next waits for a packet before it returns
	// ErrTimeout; default 200 ms.
	PollTimeout time.Duration
}

// Stats are counters of the kernel, cumulative since Open.
type Stats struct {
	// Packets that passed the filter, including the dropped ones (as
	// libpcap's ps_recv).
	Packets uint64
	// Drops are packets that passed the filter but found no room in the
	// ring: the reader is too slow or the ring too small.
	Drops uint64
	// Freezes counts the times the ring was full and the kernel froze
	// the queue until user space released a block.
	Freezes uint64
}

// ErrTimeout is returned by Next when no packet arrived within
// Config.PollTimeout. It is not a failure: callers use it to advance
// clocks (flow timeouts) on a quiet link and call Next again.
var ErrTimeout = errors.New("afpacket: no packet within the poll timeout")

// ErrUnsupported is wrapped by the error of Open on systems other than
// Linux.
var ErrUnsupported = errors.New("live capture needs Linux (AF_PACKET)")

const (
	defaultSnapLen      = 65535
	defaultBlockSize    = 1 << 20
	defaultBlocks       = 64
	defaultBlockTimeout = 50 * time.Millisecond
	defaultPollTimeout  = 200 * time.Millisecond
	maxSnapLen          = 256 << 10 // as capture.Reader accepts from files
)

// withDefaults fills in the zero fields and checks the others; pageSize is
// the system's page size, a parameter so that the checks are testable.
func (c Config) withDefaults(pageSize int) (Config, error) {
	if c.Interface == "" {
		return c, errors.New("afpacket: no interface given")
	}
	if c.SnapLen == 0 {
		c.SnapLen = defaultSnapLen
	}
	if c.BlockSize == 0 {
		c.BlockSize = defaultBlockSize
	}
	if c.Blocks == 0 {
		c.Blocks = defaultBlocks
	}
	if c.BlockTimeout == 0 {
		c.BlockTimeout = defaultBlockTimeout
	}
	if c.PollTimeout == 0 {
		c.PollTimeout = defaultPollTimeout
	}
	switch {
	case c.SnapLen < 0 || c.SnapLen > maxSnapLen:
		return c, fmt.Errorf("afpacket: interface %q: snap length %d out of range 1..%d", c.Interface, c.SnapLen, maxSnapLen)
	case c.BlockSize < pageSize || c.BlockSize&(c.BlockSize-1) != 0 || c.BlockSize > 1<<30:
		return c, fmt.Errorf("afpacket: interface %q: block size %d is not a power of two between the page size (%d) and 1 GiB", c.Interface, c.BlockSize, pageSize)
	case c.Blocks < 1 || int64(c.Blocks)*int64(c.BlockSize) > 1<<34:
		return c, fmt.Errorf("afpacket: interface %q: %d blocks of %d bytes: want at least one block and a ring of at most 16 GiB", c.Interface, c.Blocks, c.BlockSize)
	case c.BlockTimeout < time.Millisecond || c.BlockTimeout > time.Minute:
		return c, fmt.Errorf("afpacket: interface %q: block timeout %v out of range 1ms..1m", c.Interface, c.BlockTimeout)
	case c.PollTimeout < 0:
		return c, fmt.Errorf("afpacket: interface %q: negative poll timeout %v", c.Interface, c.PollTimeout)
	}
	return c, nil
}
