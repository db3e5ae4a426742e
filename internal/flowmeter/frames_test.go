package flowmeter

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/decode"
)

// frame describes a test packet; bytes builds it as an Ethernet frame.
type frame struct {
	v6         bool
	src, dst   byte // last byte of 10.0.0.x or 2001:db8::x
	sport      uint16
	dport      uint16
	proto      uint8
	flags      uint8
	payload    int
	icmpType   uint8
	icmpCode   uint8
	usec       int64 // timestamp, µs since the epoch
	window     uint16
	seq, ack   uint32
	vlan       bool
	malformedL bool // TCP data offset of 2
}

func (fr frame) bytes() []byte {
	var l4 []byte
	switch fr.proto {
	case decode.ProtoTCP:
		l4 = make([]byte, 20+fr.payload)
		binary.BigEndian.PutUint16(l4[0:], fr.sport)
		binary.BigEndian.PutUint16(l4[2:], fr.dport)
		binary.BigEndian.PutUint32(l4[4:], fr.seq)
		binary.BigEndian.PutUint32(l4[8:], fr.ack)
		l4[12] = 5 << 4
		if fr.malformedL {
			l4[12] = 2 << 4
		}
		l4[13] = fr.flags
		binary.BigEndian.PutUint16(l4[14:], fr.window)
	case decode.ProtoUDP:
		l4 = make([]byte, 8+fr.payload)
		binary.BigEndian.PutUint16(l4[0:], fr.sport)
		binary.BigEndian.PutUint16(l4[2:], fr.dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+fr.payload))
	default:
		l4 = make([]byte, 8+fr.payload)
		l4[0], l4[1] = fr.icmpType, fr.icmpCode
	}
	var b bytes.Buffer
	b.Write([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	if fr.vlan {
		b.Write([]byte{0x81, 0x00, 0, 42})
	}
	if fr.v6 {
		b.Write([]byte{0x86, 0xdd})
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(l4)))
		ip[6], ip[7] = fr.proto, 64
		ip[8], ip[9], ip[23] = 0x20, 0x01, fr.src
		ip[24], ip[25], ip[39] = 0x20, 0x01, fr.dst
		b.Write(ip)
	} else {
		b.Write([]byte{0x08, 0x00})
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
		ip[8], ip[9] = 64, fr.proto
		copy(ip[12:], []byte{10, 0, 0, fr.src})
		copy(ip[16:], []byte{10, 0, 0, fr.dst})
		b.Write(ip)
	}
	b.Write(l4)
	return b.Bytes()
}

func tcpFrame(t testing.TB, src, dst byte, sport, dport uint16, flags uint8, payload int) []byte {
	return frame{src: src, dst: dst, sport: sport, dport: dport, proto: decode.ProtoTCP, flags: flags, payload: payload}.bytes()
}

func udpFrame(t testing.TB, src, dst byte, sport, dport uint16, payload int) []byte {
	return frame{src: src, dst: dst, sport: sport, dport: dport, proto: decode.ProtoUDP, payload: payload}.bytes()
}

// buildCapture writes frames into an in-memory pcap, 1 ms apart.
func buildCapture(t testing.TB, frames [][]byte) []byte {
	var b bytes.Buffer
	w, err := capture.NewPcapWriter(&b, capture.LinkEthernet, 65535, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, fr := range frames {
		if err := w.WritePacket(int64(1_500_000_000e9)+int64(i)*1e6, fr, len(fr)); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// meterFrames meters the frames (each at its own timestamp) and returns
// the flows written, as CSV rows keyed by column name.
func meterFrames(t testing.TB, cfg Config, frames []frame) []map[string]string {
	t.Helper()
	var out bytes.Buffer
	w, err := NewCSVWriter(&out, cfg.Profile, true)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, func(f *Flow) { w.Write(f) })
	if err != nil {
		t.Fatal(err)
	}
	var d decode.Packet
	for _, fr := range frames {
		data := fr.bytes()
		d.Timestamp, d.WireLen = fr.usec*1000, len(data)
		if r := decode.Decode(capture.LinkEthernet, data, &d); r != decode.OK {
			t.Fatalf("test frame does not decode: %v", r)
		}
		m.Add(&d)
	}
	m.Flush()
	w.Close()
	recs := readCSV(t, out.Bytes())
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, name := range recs[0] {
			row[name] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}
