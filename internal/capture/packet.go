// Package capture reads packets from capture files (pcap, pcapng, optionally
// gzip-compressed, or a stream such as stdin) and hands them on as raw frames
// with their link type and timestamp. It knows nothing about protocols above
// the link layer; internal/decode does that.
package capture

import "errors"

// LinkType is a pcap LINKTYPE_* value (https://www.tcpdump.org/linktypes.html).
type LinkType uint32

// Link types flowguard decodes. Others are read and reported as unsupported by
// the decoder, never silently dropped.
const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte host-order address family
	LinkEthernet  LinkType = 1   // IEEE 802.3 Ethernet
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6, version from the first nibble
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkLinuxSLL  LinkType = 113 // Linux "cooked" capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux "cooked" capture v2
)

// Packet is one captured frame. Data is only valid until the next call to
// Next on the source that returned it: sources reuse their buffers so the hot
// path does not allocate.
type Packet struct {
	Data      []byte   // captured bytes (may be shorter than OrigLen)
	OrigLen   int      // length of the frame on the wire
	Timestamp int64    // capture time, nanoseconds since the Unix epoch
	Link      LinkType // link type of the interface the frame came from
	Interface int      // interface index (pcapng); 0 for pcap
}

// ErrFormat is wrapped by every error caused by a malformed capture file, so
// callers can tell bad input from I/O failures with errors.Is.
var ErrFormat = errors.New("malformed capture file")
