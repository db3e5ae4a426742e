// Command synthpcap writes a deterministic synthetic packet capture for the
// flow-meter benchmark (bench/flowmeter.sh).
//
//	go run ./bench/synthpcap -scale 40 -seed 13 -o bench.pcap
//
// The traffic follows the scenario list of the golden README's synth_small
// capture (shared/golden/README.md, section 4): HTTP sessions with handshake,
// request, multi-segment response and FIN/FIN/ACK teardown, refused
// connections, resets in the middle of a session, idle gaps of 2 s and 7 s,
// sessions longer than 120 s kept up by keepalives, retransmissions, servers
// that close first, frames without TCP options (padded to 60 bytes), reused
// 5-tuples, captures that start at the SYN-ACK, DNS over UDP, long UDP
// streams, ICMP echo, zero-duration flows and single-packet flows.
//
// Every session is a short script of packet descriptors built from its own
// random stream, so a session does not depend on which other sessions run at
// the same time. Sessions start at stratified random times over a ten-minute
// window and are merged by timestamp with a heap, so memory grows with the
// number of concurrent sessions, not with the size of the capture. Frames are
// Ethernet/IPv4 with RFC 5737 documentation addresses, correct IPv4, TCP, UDP
// and ICMP checksums, and microsecond timestamps from 2017-07-03 12:00:00 UTC.
// The same -scale and -seed always give the same bytes.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/flowguard/flowguard/internal/capture"
)

const (
	usPerSec  = int64(1_000_000)
	usPerMs   = int64(1_000)
	startUnix = int64(1499083200) // 2017-07-03 12:00:00 UTC
	snaplen   = 65535
	maxSeg    = 1448 // MSS 1460 minus the 12-byte timestamp option
	maxFrame  = 14 + 20 + 60 + 1460
)

// scenario is one kind of session.
type scenario uint8

const (
	scHTTP scenario = iota
	scRST
	scRSTMid
	scIdle
	scLong
	scRetrans
	scSrvFin
	scNoTS
	scReuse
	scSynAck1st
	scDNS
	scUDPLong
	scICMP
	scZeroDur
	scLoneSYN
	scLoneUDP
	numScenarios
)

// scenarioInfo gives, per scenario, its name (as in the golden README), the
// number of sessions at scale 1 and the window over which their start times
// are spread.
var scenarioInfo = [numScenarios]struct {
	name     string
	perScale int
	window   int64
}{
	scHTTP:      {"http", 300, 600 * usPerSec},
	scRST:       {"rst", 200, 600 * usPerSec},
	scRSTMid:    {"rstmid", 40, 600 * usPerSec},
	scIdle:      {"idle", 40, 580 * usPerSec},
	scLong:      {"long", 10, 300 * usPerSec},
	scRetrans:   {"retrans", 60, 600 * usPerSec},
	scSrvFin:    {"srvfin", 60, 600 * usPerSec},
	scNoTS:      {"nots", 150, 600 * usPerSec},
	scReuse:     {"reuse", 30, 595 * usPerSec},
	scSynAck1st: {"synack1st", 20, 600 * usPerSec},
	scDNS:       {"udp_dns", 400, 600 * usPerSec},
	scUDPLong:   {"udp_long", 8, 450 * usPerSec},
	scICMP:      {"icmp", 100, 597 * usPerSec},
	scZeroDur:   {"zerodur", 30, 600 * usPerSec},
	scLoneSYN:   {"lonesyn", 30, 600 * usPerSec},
	scLoneUDP:   {"loneudp", 30, 600 * usPerSec},
}

// TCP flags.
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// TCP option layouts.
const (
	optNone = iota
	optSYN  // MSS, SACK permitted, timestamps, NOP, window scale: 20 bytes
	optTS   // NOP, NOP, timestamps: 12 bytes
)

var optLen = [...]int{optNone: 0, optSYN: 20, optTS: 12}

// Payload kinds.
const (
	kNone     = iota
	kText     // aux: offset into the text corpus
	kHTTPReq  // aux: request template index
	kHTTPResp // aux: Content-Length; the header is followed by corpus text
	kDNSQuery // aux: name index | answers<<8 | query id<<16
	kDNSResp  // same aux as the query
	kICMP     // aux: identifier<<16 | sequence; flags holds the ICMP type
)

// pkt describes one packet of a session. Frames are rendered from it only
// when the packet is written.
type pkt struct {
	ts    int64 // µs since the capture start
	seq   uint32
	ack   uint32
	tsval uint32
	tsecr uint32
	aux   uint32
	win   uint16
	plen  uint16
	flags uint8
	dir   uint8 // 0: client to server, 1: server to client
	opt   uint8
	kind  uint8
}

// session is either a session with its packet script, or (gen) the stream
// of session starts of one scenario.
type session struct {
	at   int64  // time of the next packet or session start, µs
	key  uint64 // unique; seeds the session's random numbers, breaks ties
	gen  bool
	sc   scenario
	k, n int        // generator: sessions started so far, sessions in total
	rng  *rand.Rand // generator: start times
	next int        // index of the next packet to write

	proto uint8
	ip    [2][4]byte
	mac   [2][6]byte
	port  [2]uint16
	ttl   [2]uint8
	ipid  [2]uint16
	pkts  []pkt
}

func (s *session) before(o *session) bool {
	return s.at < o.at || s.at == o.at && s.key < o.key
}

// sessionHeap is a binary min-heap ordered by (at, key).
type sessionHeap []*session

func (h *sessionHeap) push(s *session) {
	*h = append(*h, s)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q[i].before(q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

// fixTop restores the heap order after the top's key grew.
func (h sessionHeap) fixTop() {
	i, n := 0, len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].before(h[l]) {
			m = r
		}
		if !h[m].before(h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h *sessionHeap) popTop() {
	q := *h
	n := len(q) - 1
	q[0] = q[n]
	q[n] = nil
	*h = q[:n]
	(*h).fixTop()
}

type config struct {
	scale      float64
	seed       uint64
	maxPackets int64 // stop after this many packets; 0: no limit
}

type stats struct {
	packets   int64
	bytes     int64 // file size
	span      int64 // µs from the first to the last packet
	sessions  [numScenarios]int64
	scPackets [numScenarios]int64
}

// generator holds the state shared by all sessions.
type generator struct {
	cfg      config
	pcg      rand.PCG
	rng      *rand.Rand // reseeded for every session
	nextPort [256]uint16
	free     []*session
	frame    [maxFrame + 64]byte
}

// sessionCount is the number of sessions of sc at the configured scale.
func (g *generator) sessionCount(sc scenario) int {
	return int(math.Round(float64(scenarioInfo[sc].perScale) * g.cfg.scale))
}

func generate(w io.Writer, cfg config) (stats, error) {
	var st stats
	if cfg.scale <= 0 || math.IsNaN(cfg.scale) || math.IsInf(cfg.scale, 0) {
		return st, fmt.Errorf("scale must be positive, got %v", cfg.scale)
	}
	g := &generator{cfg: cfg}
	g.rng = rand.New(&g.pcg)
	for i := range g.nextPort {
		g.nextPort[i] = uint16(32768 + i*97%1000)
	}
	pw, err := capture.NewPcapWriter(w, capture.LinkEthernet, snaplen, false)
	if err != nil {
		return st, err
	}
	st.bytes = 24

	var h sessionHeap
	for sc := range numScenarios {
		n := g.sessionCount(sc)
		if n == 0 {
			continue
		}
		gs := &session{gen: true, sc: sc, n: n, key: uint64(sc) << 48,
			rng: rand.New(rand.NewPCG(cfg.seed, 0x5eed0000+uint64(sc)))}
		gs.at = g.startTime(gs)
		h.push(gs)
	}

	first, last := int64(-1), int64(0)
	for len(h) > 0 && (cfg.maxPackets == 0 || st.packets < cfg.maxPackets) {
		s := h[0]
		if s.gen {
			ns := g.build(s.sc, s.k, s.at)
			st.sessions[s.sc]++
			s.k++
			if s.k < s.n {
				s.at = g.startTime(s)
				h.fixTop()
			} else {
				h.popTop()
			}
			h.push(ns)
			continue
		}
		p := &s.pkts[s.next]
		frame := g.render(s, p)
		if err := pw.WritePacket((startUnix*usPerSec+p.ts)*1000, frame, len(frame)); err != nil {
			return st, err
		}
		st.packets++
		st.bytes += 16 + int64(len(frame))
		st.scPackets[s.sc]++
		if first < 0 {
			first = p.ts
		}
		last = p.ts
		s.next++
		if s.next < len(s.pkts) {
			s.at = s.pkts[s.next].ts
			h.fixTop()
		} else {
			h.popTop()
			s.pkts = s.pkts[:0]
			g.free = append(g.free, s)
		}
	}
	if first >= 0 {
		st.span = last - first
	}
	return st, nil
}

// startTime is the start of session k of a scenario: a random point in the
// k-th of n equal slices of the scenario's window, so starts are increasing.
func (g *generator) startTime(gs *session) int64 {
	win := scenarioInfo[gs.sc].window
	slot := (float64(gs.k) + gs.rng.Float64()) / float64(gs.n)
	return int64(slot * float64(win))
}

// builder writes the packet script of one session.
type builder struct {
	s      *session
	r      *rand.Rand
	t      int64     // time of the last packet, µs
	snd    [2]uint32 // next sequence number per direction
	tsBase [2]uint32
	lastTS [2]uint32 // last TSval sent per direction
	useTS  bool
	synWin [2]uint16
	win    [2]uint16
	rtt    int64
	gap    int64 // spacing of back-to-back data segments
	text   uint32
}

// build creates session k of scenario sc starting at t0.
func (g *generator) build(sc scenario, k int, t0 int64) *session {
	var s *session
	if n := len(g.free); n > 0 {
		s = g.free[n-1]
		g.free = g.free[:n-1]
	} else {
		s = &session{pkts: make([]pkt, 0, 64)}
	}
	pk := s.pkts[:0]
	*s = session{key: 1<<47 | uint64(sc)<<48 | uint64(k), sc: sc, pkts: pk}
	g.pcg.Seed(g.cfg.seed, s.key)
	r := g.rng
	b := &builder{s: s, r: r, t: t0, useTS: true}
	b.rtt = int64(300 * math.Exp(r.Float64()*math.Log(200))) // 0.3 ms to 60 ms
	b.gap = 20 + r.Int64N(200)
	b.text = r.Uint32()
	b.snd = [2]uint32{r.Uint32(), r.Uint32()}
	b.tsBase = [2]uint32{r.Uint32(), r.Uint32()}
	b.synWin = [2]uint16{64240, 65160}
	b.win = [2]uint16{502, 509}

	// Client: 192.0.2.1-254 on the capture's LAN; servers are behind the
	// gateway, in 198.51.100.0/24 (services) or 203.0.113.0/24 (scanned or
	// refusing hosts).
	c := 1 + r.IntN(254)
	s.ip[0] = [4]byte{192, 0, 2, byte(c)}
	s.mac[0] = [6]byte{0x02, 0x00, 0xc0, 0x00, 0x02, byte(c)}
	s.mac[1] = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	s.port[0] = g.nextPort[c]
	g.nextPort[c]++
	if g.nextPort[c] >= 61000 {
		g.nextPort[c] = 32768
	}
	s.ttl = [2]uint8{64, serverTTL[r.IntN(len(serverTTL))]}
	s.ipid = [2]uint16{uint16(r.Uint32()), uint16(r.Uint32())}
	s.proto = 6
	service := func(lo, n int, port uint16) {
		s.ip[1] = [4]byte{198, 51, 100, byte(lo + r.IntN(n))}
		s.port[1] = port
	}
	remote := func(port uint16) {
		s.ip[1] = [4]byte{203, 0, 113, byte(1 + r.IntN(254))}
		s.port[1] = port
	}

	switch sc {
	case scHTTP:
		service(10, 40, httpPort(r))
		b.handshake()
		b.httpExchange(2048+r.IntN(80*1024), -1)
		b.closeClientFirst()
	case scRST:
		remote(closedPorts[r.IntN(len(closedPorts))])
		b.tcp(0, 0, fSYN, 0, kNone, 0)
		b.refuse(b.rtt)
	case scRSTMid:
		service(10, 40, 80)
		b.handshake()
		b.request()
		b.tcp(b.rtt, 1, fACK, 0, kNone, 0)
		segs := 1 + r.IntN(4)
		b.tcp(1000+r.Int64N(20000), 1, fACK, maxSeg, kHTTPResp, 100000+r.Uint32N(50000))
		for range segs {
			b.tcp(b.gap, 1, fACK, maxSeg, kText, b.s.pkts[len(b.s.pkts)-1].seq)
		}
		b.tcp(5000+r.Int64N(50000), 0, fRST|fACK, 0, kNone, 0)
		// Segments that were in flight arrive after the reset; the client
		// answers each with a bare RST.
		for i := range 1 + r.IntN(3) {
			b.tcp(b.rtt/2+int64(i)*b.gap, 1, fACK, maxSeg, kText, b.s.pkts[len(b.s.pkts)-1].seq)
			b.rst(20 + r.Int64N(100))
		}
	case scIdle:
		service(60, 10, 25)
		b.handshake()
		gaps := []int64{2*usPerSec + r.Int64N(400*usPerMs), 7*usPerSec + r.Int64N(400*usPerMs)}
		if r.IntN(2) == 0 {
			gaps[0], gaps[1] = gaps[1], gaps[0]
		}
		if r.IntN(2) == 0 {
			gaps = append(gaps, 2*usPerSec+r.Int64N(400*usPerMs))
		}
		b.chat(20+r.IntN(100), 60+r.IntN(600))
		for _, gp := range gaps {
			b.t += gp
			b.chat(20+r.IntN(100), 60+r.IntN(3000))
		}
		b.closeClientFirst()
	case scLong:
		service(70, 10, 22)
		b.handshake()
		b.chat(20+r.IntN(200), 200+r.IntN(2000))
		end := b.t + 130*usPerSec + r.Int64N(160*usPerSec)
		for n := 1; b.t < end; n++ {
			if n%6 == 0 {
				b.t += 10*usPerSec - 5*b.rtt
				b.chat(20+r.IntN(200), 40+r.IntN(1500))
				continue
			}
			// TCP keepalive: one byte below the next sequence number, no
			// data, answered by a pure ACK.
			i := b.tcp(10*usPerSec+r.Int64N(3000), 0, fACK, 0, kNone, 0)
			b.s.pkts[i].seq--
			b.tcp(b.rtt, 1, fACK, 0, kNone, 0)
		}
		b.closeClientFirst()
	case scRetrans:
		service(10, 40, 80)
		b.handshake()
		body := 4096 + r.IntN(24*1024)
		b.httpExchange(body, r.IntN(body/maxSeg+1))
		b.closeClientFirst()
	case scSrvFin:
		service(80, 10, 80)
		b.handshake()
		b.httpExchange(1024+r.IntN(8*1024), -1)
		b.closeServerFirst()
	case scNoTS:
		service(90, 10, 23)
		b.useTS = false
		b.win = b.synWin
		b.handshake()
		// 300 bytes from the client in one to three segments, each acked.
		parts := [][]int{{300}, {100, 200}, {120, 80, 100}}[r.IntN(3)]
		for i, n := range parts {
			b.tcp(1000+r.Int64N(200000), 0, fPSH|fACK, n, kText, b.text+uint32(i*300))
			b.tcp(b.rtt, 1, fACK, 0, kNone, 0)
		}
		b.tcp(1000+r.Int64N(5000), 1, fPSH|fACK, 20+r.IntN(180), kText, b.text)
		b.tcp(40+r.Int64N(200), 0, fACK, 0, kNone, 0)
		b.closeClientFirst()
	case scReuse:
		service(10, 40, 80)
		for conn := range 2 {
			if conn == 1 {
				b.t += usPerSec
				b.snd = [2]uint32{r.Uint32(), r.Uint32()}
			}
			b.handshake()
			b.httpExchange(512+r.IntN(4096), -1)
			b.closeClientFirst()
		}
	case scSynAck1st:
		service(10, 40, 80)
		// The client's SYN came before the capture started.
		b.snd[0]++
		b.lastTS[0] = b.tsBase[0] + uint32(b.t/usPerMs)
		b.tcp(0, 1, fSYN|fACK, 0, kNone, 0)
		b.tcp(30+r.Int64N(300), 0, fACK, 0, kNone, 0)
		b.httpExchange(256+r.IntN(4096), -1)
		b.closeClientFirst()
	case scDNS:
		s.proto = 17
		s.ip[1] = [4]byte{198, 51, 100, 53}
		s.port[1] = 53
		name := r.IntN(len(dnsNames))
		aux := uint32(name) | uint32(1+r.IntN(4))<<8 | r.Uint32()<<16
		b.udp(0, 0, dnsLen(aux, false), kDNSQuery, aux)
		b.udp(b.rtt+r.Int64N(20000), 1, dnsLen(aux, true), kDNSResp, aux)
	case scUDPLong:
		s.proto = 17
		service(100, 10, 514)
		b.udp(0, 0, 60+r.IntN(140), kText, b.text)
		for i := 1; i < 150; i++ {
			b.udp(usPerSec-500+r.Int64N(1000), 0, 60+r.IntN(140), kText, b.text+uint32(i*131))
		}
	case scICMP:
		s.proto = 1
		s.ip[1] = [4]byte{198, 51, 100, byte(1 + r.IntN(254))}
		s.port[0] = 0
		id := uint32(r.Uint32N(65536))
		for seq := range uint32(3) {
			dt := usPerSec
			if seq == 0 {
				dt = 0
			}
			b.icmp(dt, 0, 8, id<<16|seq)
			b.icmp(b.rtt, 1, 0, id<<16|seq)
		}
	case scZeroDur:
		remote(closedPorts[r.IntN(len(closedPorts))])
		b.tcp(0, 0, fSYN, 0, kNone, 0)
		b.refuse(0)
	case scLoneSYN:
		remote(uint16(1 + r.IntN(1024)))
		b.tcp(0, 0, fSYN, 0, kNone, 0)
	case scLoneUDP:
		s.proto = 17
		remote(loneUDPPorts[r.IntN(len(loneUDPPorts))])
		b.udp(0, 0, 20+r.IntN(200), kText, b.text)
	}
	s.at = s.pkts[0].ts
	return s
}

var (
	serverTTL    = []uint8{64, 63, 57, 56, 52, 116, 119, 128 - 6}
	closedPorts  = []uint16{23, 111, 135, 139, 445, 1433, 3306, 3389, 5900, 8081}
	loneUDPPorts = []uint16{123, 161, 1900, 5060, 11211}
)

func httpPort(r *rand.Rand) uint16 {
	if r.IntN(10) == 0 {
		return 8080
	}
	return 80
}

// tcp appends a TCP packet sent dt after the previous one and returns its
// index. Sequence and acknowledgement numbers, windows and timestamp options
// follow the connection state.
func (b *builder) tcp(dt int64, dir int, flags uint8, plen int, kind uint8, aux uint32) int {
	b.t += dt
	p := pkt{ts: b.t, dir: uint8(dir), flags: flags, plen: uint16(plen), kind: kind, aux: aux,
		seq: b.snd[dir], win: b.win[dir]}
	if flags&fACK != 0 {
		p.ack = b.snd[1-dir]
	}
	if flags&fSYN != 0 {
		p.win = b.synWin[dir]
	}
	if b.useTS && flags&fRST == 0 {
		p.opt = optTS
		if flags&fSYN != 0 {
			p.opt = optSYN
		}
		p.tsval = b.tsBase[dir] + uint32(b.t/usPerMs)
		p.tsecr = b.lastTS[1-dir]
		b.lastTS[dir] = p.tsval
	}
	if flags&fRST != 0 {
		p.win = 0
	}
	b.snd[dir] += uint32(plen)
	if flags&(fSYN|fFIN) != 0 {
		b.snd[dir]++
	}
	b.s.pkts = append(b.s.pkts, p)
	return len(b.s.pkts) - 1
}

// refuse appends the RST/ACK of a closed port answering the client's SYN.
func (b *builder) refuse(dt int64) {
	b.snd[1] = 0
	b.tcp(dt, 1, fRST|fACK, 0, kNone, 0)
}

// rst appends a bare RST from the client.
func (b *builder) rst(dt int64) {
	b.tcp(dt, 0, fRST, 0, kNone, 0)
}

func (b *builder) handshake() {
	b.tcp(0, 0, fSYN, 0, kNone, 0)
	b.tcp(b.rtt, 1, fSYN|fACK, 0, kNone, 0)
	b.tcp(30+b.r.Int64N(300), 0, fACK, 0, kNone, 0)
}

func (b *builder) request() {
	i := b.r.IntN(len(httpRequests))
	b.tcp(50+b.r.Int64N(2000), 0, fPSH|fACK, len(httpRequests[i]), kHTTPReq, uint32(i))
}

// httpExchange appends a request and a response with a body of the given
// length, acked by the client every second segment. If retrans >= 0 the
// response's segment with that index is sent again after a retransmission
// timeout, and the client acks it once more.
func (b *builder) httpExchange(body, retrans int) {
	b.request()
	b.tcp(b.rtt, 1, fACK, 0, kNone, 0)
	total := len(respHeader) + numDigits(body) + 4 + body
	think := 500 + b.r.Int64N(30000)
	var dup pkt
	for i, off := 0, 0; off < total; i++ {
		n := min(maxSeg, total-off)
		flags := uint8(fACK)
		if off+n == total {
			flags |= fPSH
		}
		dt := b.gap
		if i == 0 {
			dt = think
		}
		kind, aux := uint8(kText), b.text+uint32(off)
		if i == 0 {
			kind, aux = kHTTPResp, uint32(body)
		}
		j := b.tcp(dt, 1, flags, n, kind, aux)
		if i == retrans {
			dup = b.s.pkts[j]
		}
		off += n
		if i%2 == 1 || off == total {
			b.tcp(10+b.r.Int64N(60), 0, fACK, 0, kNone, 0)
			if b.useTS && b.win[0] < 3000 {
				b.win[0] += uint16(b.r.IntN(24))
			}
		}
	}
	if retrans >= 0 {
		b.t += 200*usPerMs + b.rtt
		dup.ts = b.t
		if dup.opt != optNone {
			dup.tsval = b.tsBase[1] + uint32(b.t/usPerMs)
			dup.tsecr = b.lastTS[0]
			b.lastTS[1] = dup.tsval
		}
		b.s.pkts = append(b.s.pkts, dup)
		b.tcp(10+b.r.Int64N(60), 0, fACK, 0, kNone, 0)
	}
}

// chat appends a small request from the client, a response and the acks.
func (b *builder) chat(req, resp int) {
	b.tcp(50+b.r.Int64N(3000), 0, fPSH|fACK, req, kText, b.text+uint32(req))
	b.tcp(b.rtt, 1, fACK, 0, kNone, 0)
	for off := 0; off < resp; off += maxSeg {
		n := min(maxSeg, resp-off)
		flags := uint8(fACK)
		if off+n == resp {
			flags |= fPSH
		}
		b.tcp(b.gap+500, 1, flags, n, kText, b.text+uint32(off))
	}
	b.tcp(20+b.r.Int64N(100), 0, fACK, 0, kNone, 0)
}

func (b *builder) closeClientFirst() {
	b.tcp(1000+b.r.Int64N(500000), 0, fFIN|fACK, 0, kNone, 0)
	b.tcp(b.rtt, 1, fFIN|fACK, 0, kNone, 0)
	b.tcp(20+b.r.Int64N(100), 0, fACK, 0, kNone, 0)
}

func (b *builder) closeServerFirst() {
	b.tcp(1000+b.r.Int64N(50000), 1, fFIN|fACK, 0, kNone, 0)
	b.tcp(20+b.r.Int64N(100), 0, fACK, 0, kNone, 0)
	b.tcp(100+b.r.Int64N(5000), 0, fFIN|fACK, 0, kNone, 0)
	b.tcp(b.rtt, 1, fACK, 0, kNone, 0)
}

func (b *builder) udp(dt int64, dir int, plen int, kind uint8, aux uint32) {
	b.t += dt
	b.s.pkts = append(b.s.pkts, pkt{ts: b.t, dir: uint8(dir), plen: uint16(plen), kind: kind, aux: aux})
}

// icmp appends an echo request (typ 8) or reply (typ 0) with 56 data bytes.
// The data starts with the request's send time, which the reply echoes; it
// is kept in seq (seconds) and ack (microseconds).
func (b *builder) icmp(dt int64, dir int, typ uint8, aux uint32) {
	b.t += dt
	p := pkt{ts: b.t, dir: uint8(dir), flags: typ, plen: 56, kind: kICMP, aux: aux}
	if typ == 8 {
		p.seq, p.ack = uint32(startUnix+b.t/usPerSec), uint32(b.t%usPerSec)
	} else if n := len(b.s.pkts); n > 0 {
		p.seq, p.ack = b.s.pkts[n-1].seq, b.s.pkts[n-1].ack
	}
	b.s.pkts = append(b.s.pkts, p)
}

// render builds the Ethernet frame of p into the generator's frame buffer.
func (g *generator) render(s *session, p *pkt) []byte {
	f := g.frame[:]
	src, dst := int(p.dir), 1-int(p.dir)
	copy(f[0:6], s.mac[dst][:])
	copy(f[6:12], s.mac[src][:])
	f[12], f[13] = 0x08, 0x00

	ip := f[14:]
	var l4 []byte
	var l4len int
	switch s.proto {
	case 6:
		hl := 20 + optLen[p.opt]
		l4len = hl + int(p.plen)
		l4 = ip[20 : 20+l4len]
		binary.BigEndian.PutUint16(l4[0:], s.port[src])
		binary.BigEndian.PutUint16(l4[2:], s.port[dst])
		binary.BigEndian.PutUint32(l4[4:], p.seq)
		binary.BigEndian.PutUint32(l4[8:], p.ack)
		l4[12] = byte(hl/4) << 4
		l4[13] = p.flags
		binary.BigEndian.PutUint16(l4[14:], p.win)
		l4[16], l4[17], l4[18], l4[19] = 0, 0, 0, 0
		o := l4[20:hl]
		switch p.opt {
		case optSYN:
			copy(o, []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10})
			binary.BigEndian.PutUint32(o[8:], p.tsval)
			binary.BigEndian.PutUint32(o[12:], p.tsecr)
			o[16], o[17], o[18], o[19] = 1, 3, 3, 7
		case optTS:
			o[0], o[1], o[2], o[3] = 1, 1, 8, 10
			binary.BigEndian.PutUint32(o[4:], p.tsval)
			binary.BigEndian.PutUint32(o[8:], p.tsecr)
		}
		fillPayload(l4[hl:], p)
	case 17:
		l4len = 8 + int(p.plen)
		l4 = ip[20 : 20+l4len]
		binary.BigEndian.PutUint16(l4[0:], s.port[src])
		binary.BigEndian.PutUint16(l4[2:], s.port[dst])
		binary.BigEndian.PutUint16(l4[4:], uint16(l4len))
		l4[6], l4[7] = 0, 0
		fillPayload(l4[8:], p)
	case 1:
		l4len = 8 + int(p.plen)
		l4 = ip[20 : 20+l4len]
		l4[0], l4[1], l4[2], l4[3] = p.flags, 0, 0, 0
		binary.BigEndian.PutUint32(l4[4:], p.aux)
		// Like ping(8): a struct timeval of the send time, then a counting
		// pattern.
		d := l4[8:]
		binary.LittleEndian.PutUint64(d[0:], uint64(p.seq))
		binary.LittleEndian.PutUint64(d[8:], uint64(p.ack))
		for i := 16; i < len(d); i++ {
			d[i] = byte(i)
		}
	}

	total := 20 + l4len
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[4:], s.ipid[src])
	s.ipid[src]++
	ip[6], ip[7] = 0x40, 0 // don't fragment
	ip[8], ip[9] = s.ttl[src], s.proto
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], s.ip[src][:])
	copy(ip[16:20], s.ip[dst][:])
	binary.BigEndian.PutUint16(ip[10:], checksum(sum16(ip[:20], 0)))

	var cs uint16
	if s.proto == 1 {
		cs = checksum(sum16(l4, 0))
		binary.BigEndian.PutUint16(l4[2:], cs)
	} else {
		pseudo := sum16(ip[12:20], uint64(s.proto)+uint64(l4len))
		cs = checksum(sum16(l4, pseudo))
		if s.proto == 17 {
			if cs == 0 {
				cs = 0xffff
			}
			binary.BigEndian.PutUint16(l4[6:], cs)
		} else {
			binary.BigEndian.PutUint16(l4[16:], cs)
		}
	}

	n := 14 + total
	if n < 60 { // Ethernet minimum frame size without FCS
		clear(f[n:60])
		n = 60
	}
	return f[:n]
}

// sum16 adds b as big-endian 16-bit words to the ones'-complement
// accumulator acc (not yet folded).
func sum16(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// checksum folds acc and returns the Internet checksum.
func checksum(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// fillPayload writes the payload of p into d (len(d) == p.plen).
func fillPayload(d []byte, p *pkt) {
	switch p.kind {
	case kText:
		copyText(d, p.aux)
	case kHTTPReq:
		copy(d, httpRequests[p.aux])
	case kHTTPResp:
		n := copy(d, respHeader)
		digits := strconv.AppendUint(d[n:n], uint64(p.aux), 10)
		n += len(digits)
		n += copy(d[n:], "\r\n\r\n")
		copyText(d[n:], p.aux)
	case kDNSQuery, kDNSResp:
		writeDNS(d, p.aux, p.kind == kDNSResp)
	default:
		clear(d)
	}
}

// copyText fills d from the text corpus starting at a position derived from
// off.
func copyText(d []byte, off uint32) {
	span := len(corpus) - maxSeg
	for len(d) > 0 {
		start := int(off % uint32(span))
		n := copy(d, corpus[start:start+min(len(d), maxSeg)])
		d = d[n:]
		off += uint32(n)
	}
}

const respHeader = "HTTP/1.1 200 OK\r\nServer: nginx/1.10.3\r\nDate: Mon, 03 Jul 2017 12:00:00 GMT\r\n" +
	"Content-Type: text/html; charset=utf-8\r\nConnection: keep-alive\r\nContent-Length: "

func numDigits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

var dnsNames = [][]string{
	{"www", "example", "com"},
	{"mail", "example", "org"},
	{"cdn", "static", "example", "net"},
	{"api", "example", "com"},
	{"ntp", "example", "org"},
	{"updates", "example", "net"},
	{"login", "accounts", "example", "com"},
	{"images", "example", "org"},
	{"ws", "chat", "example", "net"},
	{"intranet", "example"},
}

func qnameLen(labels []string) int {
	n := 1
	for _, l := range labels {
		n += 1 + len(l)
	}
	return n
}

// dnsLen is the UDP payload length of a DNS query or of its response with
// aux>>8&0xff A records.
func dnsLen(aux uint32, resp bool) int {
	n := 12 + qnameLen(dnsNames[aux&0xff]) + 4
	if resp {
		n += int(aux>>8&0xff) * 16
	}
	return n
}

func writeDNS(d []byte, aux uint32, resp bool) {
	labels := dnsNames[aux&0xff]
	answers := int(aux >> 8 & 0xff)
	binary.BigEndian.PutUint16(d[0:], uint16(aux>>16))
	flags, an := uint16(0x0100), 0 // standard query, recursion desired
	if resp {
		flags, an = 0x8180, answers
	}
	binary.BigEndian.PutUint16(d[2:], flags)
	binary.BigEndian.PutUint16(d[4:], 1)
	binary.BigEndian.PutUint16(d[6:], uint16(an))
	binary.BigEndian.PutUint32(d[8:], 0)
	n := 12
	for _, l := range labels {
		d[n] = byte(len(l))
		n += 1 + copy(d[n+1:], l)
	}
	d[n] = 0
	n++
	binary.BigEndian.PutUint32(d[n:], 0x00010001) // type A, class IN
	n += 4
	for i := range an {
		binary.BigEndian.PutUint16(d[n:], 0xc00c) // pointer to the question name
		binary.BigEndian.PutUint32(d[n+2:], 0x00010001)
		binary.BigEndian.PutUint32(d[n+6:], 300)
		binary.BigEndian.PutUint16(d[n+10:], 4)
		d[n+12], d[n+13], d[n+14], d[n+15] = 198, 51, 100, byte(150+int(aux&0xff)*8+i)
		n += 16
	}
}

var (
	corpus       []byte   // HTML-like text that fills bodies and other payloads
	httpRequests [][]byte // complete GET requests
)

func init() {
	words := []string{"<div class=\"row\">", "<p>", "</p>", "flow", "packet", "network", "the", "of", "and",
		"<a href=\"/docs/index.html\">", "</a>", "intrusion", "detection", "example", "</div>\n", "data",
		"session", "server", "client", "report", "<li>", "</li>", "traffic", "window", "segment"}
	r := rand.New(rand.NewPCG(1, 2))
	corpus = make([]byte, 0, 64*1024+maxSeg)
	for len(corpus) < cap(corpus)-32 {
		corpus = append(corpus, words[r.IntN(len(words))]...)
		corpus = append(corpus, ' ')
	}
	agents := []string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:54.0) Gecko/20100101 Firefox/54.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.115 Safari/537.36",
		"curl/7.52.1",
		"Wget/1.18 (linux-gnu)",
	}
	paths := []string{"/", "/index.html", "/static/app.js", "/images/logo.png", "/api/v1/items?page=2",
		"/docs/getting-started.html", "/news/2017/07/03/", "/search?q=flow+meter"}
	for i, p := range paths {
		for j, a := range agents {
			if (i+j)%2 == 1 {
				continue
			}
			req := "GET " + p + " HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: " + a +
				"\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n" +
				"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n"
			httpRequests = append(httpRequests, []byte(req))
		}
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("synthpcap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scale := fs.Float64("scale", 1, "sessions multiplier: scale 1 has 1,508 sessions (about 27k packets)")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("o", "", "output pcap file (- for stdout)")
	packets := fs.Int64("packets", 0, "stop after this many packets (0: when all sessions are done); "+
		"without -scale, the scale is chosen large enough")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: synthpcap [-scale S] [-seed N] [-packets N] -o FILE.pcap")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	scaleSet := false
	fs.Visit(func(f *flag.Flag) { scaleSet = scaleSet || f.Name == "scale" })
	if *packets < 0 {
		fmt.Fprintln(stderr, "synthpcap: -packets must not be negative")
		return 2
	}
	if *packets > 0 && !scaleSet {
		*scale = math.Ceil(float64(*packets)/20000) + 1
	}
	cfg := config{scale: *scale, seed: *seed, maxPackets: *packets}

	start := time.Now()
	st, err := writeFile(*out, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "synthpcap:", err)
		return 1
	}
	el := time.Since(start)
	fmt.Fprintf(stderr, "synthpcap: wrote %s: %d packets, %d bytes, %.1f s of traffic (scale %g, seed %d) in %.2f s (%.0f packets/s)\n",
		*out, st.packets, st.bytes, float64(st.span)/1e6, cfg.scale, cfg.seed, el.Seconds(), float64(st.packets)/el.Seconds())
	fmt.Fprintf(stderr, "%-10s %9s %10s\n", "scenario", "sessions", "packets")
	var ns int64
	for sc := range numScenarios {
		fmt.Fprintf(stderr, "%-10s %9d %10d\n", scenarioInfo[sc].name, st.sessions[sc], st.scPackets[sc])
		ns += st.sessions[sc]
	}
	fmt.Fprintf(stderr, "%-10s %9d %10d\n", "total", ns, st.packets)
	return 0
}

// writeFile writes the capture to path through a temporary file in the same
// directory, so a cached capture is either complete or absent.
func writeFile(path string, cfg config) (stats, error) {
	if path == "-" {
		bw := bufio.NewWriterSize(os.Stdout, 1<<20)
		st, err := generate(bw, cfg)
		if err == nil {
			err = bw.Flush()
		}
		return st, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return stats{}, err
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	st, err := generate(bw, cfg)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return st, err
}
