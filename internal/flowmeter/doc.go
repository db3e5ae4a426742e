// Package flowmeter assembles decoded packets into bidirectional flows and
// computes the CICFlowMeter features for each, reproducing two reference
// builds exactly. It knows nothing about capture files (see Run for the
// loop that feeds it) or about models.
//
// # One engine, two profiles
//
// A Profile is a set of switches plus a column table; the engine (Meter,
// Flow) is shared. The switches are the whole behavioural difference:
//
//   - cic2017 reproduces ahlashkari/CICFlowMeter at 50d668d (2018-03-07), the
//     code that produced CIC-IDS2017 and CSE-CIC-IDS2018. A FIN on an
//     existing flow ends it (the FIN is the last packet; the peer's FIN and
//     last ACK start "tail" flows); flows of one packet are not written;
//     flows are keyed by a Flow ID whose address order compares bytes as
//     signed Java bytes; flag counters see only the first packet and are
//     written in Java HashMap order under the header's names; packet-length
//     statistics count the first packet twice; ICMP and every other
//     non-TCP/UDP packet is protocol 0 with ports 0, except ICMP errors that
//     quote a UDP header, which are metered as that UDP flow; bulk columns
//     are 0 and subflow columns equal the totals; zero-duration flows have
//     NaN/Infinity rates; the Timestamp is a 12-hour clock without AM/PM.
//   - engelen (the default) reproduces GintsEngelen/CICFlowMeter at 4dd5319
//     (2024-06-26). FIN does not end a flow: FIN from both sides followed by
//     an ACK, or any RST, marks the TCP flow ready, and the next SYN on the
//     5-tuple starts a new one. A flow opened by SYN+ACK is oriented from
//     its receiver. ICMP keeps protocol 1 and a new flow starts when both
//     type and code change. Single-packet flows are written; flags are
//     counted over all packets; subflows split at gaps over 1 s; bulk,
//     retransmission and connection-time columns are computed.
//
// Shared by both: bidirectional flows; a flow ends when a packet arrives
// more than the flow timeout (120 s) after the flow's first packet, and the
// next flow continues it (its orientation, and for engelen its connection
// time and retransmission history; engelen restarts UDP flows idle for the
// whole timeout, and non-TCP/UDP flows, in the packet's own orientation).
// The activity timeout (5 s) does not split flows; it separates Active and
// Idle periods. Times are in microseconds; standard deviations are sample
// statistics computed as Apache commons-math does, so digits match.
// ../shared/golden/README.md lists every quirk with the captures that show
// it; TestGoldenParity checks them all.
//
// # What flowguard adds
//
//   - IPv6 is metered (the references drop it); Config.IPv4Only restores
//     the references' behaviour and the parity tests use it. IPv6 flows
//     follow the same rules with 16-byte addresses; ICMPv6 is handled as
//     ICMP is.
//   - IP fragments are not reassembled, exactly as in the references: a
//     first fragment carries the transport header and joins its flow; later
//     fragments have no ports and form a protocol-0 flow between the two
//     hosts. A transport header cut short or contradicting itself likewise
//     makes a protocol-0 packet, never a dropped one.
//   - Tunnels (GRE, VXLAN, IP-in-IP, IPv6-in-IPv4) are counted and metered
//     as their outer packets, which is what the references do.
//   - Memory is bounded. Flows are written as they end. When the packet
//     clock passes a flow's timeout its record is written at once and a
//     stub keeps what a continuation needs; stubs are forgotten after two
//     more timeouts of silence. For time-ordered input this changes no
//     record; a packet older than its flow's timeout boundary (reordering
//     across it) starts a continuation where the reference would have added
//     it to the old flow. The table holds at most Config.MaxFlows flows:
//     when it is full a stub, else the oldest flow, makes room, and such
//     early records are counted as evictions.
//
// # Order of records
//
// Records are written in the order flows end: by FIN/teardown/ICMP change,
// by timeout on the packet clock, by eviction, and at the end of the input
// (Flush) the remaining flows oldest first. The references write the flows
// still open at the end in Java HashMap order instead; compare by Flow ID
// and rank among equal IDs, never by line number.
//
// Sharded runs several Meters on their own goroutines (flows dispatched by
// a symmetric hash of the two addresses, so a flow and its continuations
// stay on one meter). Every record is the one a single Meter writes; only
// the order changes: end order within a shard, shards interleaved.
//
// # Known residual difference
//
// The references' packet library sometimes reads an ARP request as an IPv4
// packet at the wrong offset and invents a protocol-0 flow (one such row in
// the golden stopddos_tcp_reflection_synack capture). flowguard decodes ARP
// as ARP and does not reproduce that row.
package flowmeter
