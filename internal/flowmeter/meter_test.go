package flowmeter

import (
	"testing"
	"time"

	"github.com/flowguard/flowguard/internal/decode"
)

const t0 = int64(1_600_000_000_000_000) // µs

func TestMeterCases(t *testing.T) {
	udp := func(src, dst byte, sport, dport uint16, usec int64) frame {
		return frame{src: src, dst: dst, sport: sport, dport: dport, proto: decode.ProtoUDP, payload: 10, usec: usec}
	}
	cases := map[string]struct {
		cfg    Config
		frames []frame
		check  func(t *testing.T, rows []map[string]string)
	}{
		"ipv6 is metered by default": {
			cfg: Config{Profile: Engelen},
			frames: []frame{
				{v6: true, src: 1, dst: 2, sport: 5000, dport: 443, proto: decode.ProtoTCP, flags: decode.FlagSYN, usec: t0},
				{v6: true, src: 2, dst: 1, sport: 443, dport: 5000, proto: decode.ProtoTCP, flags: decode.FlagSYN | decode.FlagACK, usec: t0 + 10},
			},
			check: func(t *testing.T, rows []map[string]string) {
				wantRows(t, rows, 1)
				r := rows[0]
				if r["Src IP"] != "2001::1" || r["Total Fwd Packet"] != "1" || r["Total Bwd packets"] != "1" || r["Flow ID"] != "2001::1-2001::2-5000-443-6" {
					t.Errorf("unexpected IPv6 flow %v", r)
				}
			},
		},
		"ipv4-only skips ipv6": {
			cfg:    Config{Profile: Engelen, IPv4Only: true},
			frames: []frame{{v6: true, src: 1, dst: 2, sport: 1, dport: 2, proto: decode.ProtoUDP, usec: t0}},
			check:  func(t *testing.T, rows []map[string]string) { wantRows(t, rows, 0) },
		},
		"flow timeout splits and keeps orientation (cic2017)": {
			cfg: Config{Profile: CIC2017, FlowTimeout: time.Second},
			frames: []frame{
				udp(1, 2, 1000, 53, t0), udp(2, 1, 53, 1000, t0+100),
				udp(2, 1, 53, 1000, t0+1_500_000), udp(1, 2, 1000, 53, t0+1_600_000),
			},
			check: func(t *testing.T, rows []map[string]string) {
				wantRows(t, rows, 2)
				// The continuation keeps 10.0.0.1 as source; its first packet
				// came from 10.0.0.2 but counts as forward, as in the reference.
				for i, want := range [][2]string{{"1", "1"}, {"2", "0"}} {
					if r := rows[i]; r["Src IP"] != "10.0.0.1" || r["Tot Fwd Pkts"] != want[0] || r["Tot Bwd Pkts"] != want[1] {
						t.Errorf("flow %d: unexpected row %v", i, r)
					}
				}
			},
		},
		"malformed TCP header is metered as protocol 0": {
			cfg:    Config{Profile: Engelen},
			frames: []frame{{src: 1, dst: 2, proto: decode.ProtoTCP, malformedL: true, usec: t0}},
			check: func(t *testing.T, rows []map[string]string) {
				wantRows(t, rows, 1)
				if rows[0]["Protocol"] != "0" || rows[0]["Src Port"] != "0" {
					t.Errorf("want a protocol-0 flow, got %v", rows[0])
				}
			},
		},
		"engelen: teardown then SYN starts a new flow": {
			cfg: Config{Profile: Engelen},
			frames: []frame{
				{src: 1, dst: 2, sport: 1000, dport: 80, proto: decode.ProtoTCP, flags: decode.FlagSYN, usec: t0},
				{src: 2, dst: 1, sport: 80, dport: 1000, proto: decode.ProtoTCP, flags: decode.FlagRST | decode.FlagACK, usec: t0 + 5},
				{src: 1, dst: 2, sport: 1000, dport: 80, proto: decode.ProtoTCP, flags: decode.FlagSYN, usec: t0 + 10},
			},
			check: func(t *testing.T, rows []map[string]string) {
				wantRows(t, rows, 2)
				if rows[0]["Total Fwd Packet"] != "1" || rows[0]["Total Bwd packets"] != "1" || rows[0]["Bwd RST Flags"] != "1" {
					t.Errorf("first connection: %v", rows[0])
				}
			},
		},
		"cic2017: FIN ends the flow and single-packet tails are dropped": {
			cfg: Config{Profile: CIC2017},
			frames: []frame{
				{src: 1, dst: 2, sport: 1000, dport: 80, proto: decode.ProtoTCP, flags: decode.FlagSYN, usec: t0},
				{src: 2, dst: 1, sport: 80, dport: 1000, proto: decode.ProtoTCP, flags: decode.FlagFIN | decode.FlagACK, usec: t0 + 5},
				{src: 1, dst: 2, sport: 1000, dport: 80, proto: decode.ProtoTCP, flags: decode.FlagACK, usec: t0 + 10},
			},
			check: func(t *testing.T, rows []map[string]string) {
				wantRows(t, rows, 1)
				if rows[0]["Flow Duration"] != "5" {
					t.Errorf("want the FIN to end the first flow: %v", rows[0])
				}
			},
		},
		"vlan padding counts as payload, untagged padding does not": {
			cfg: Config{Profile: Engelen},
			frames: []frame{
				{src: 1, dst: 2, sport: 1, dport: 2, proto: decode.ProtoTCP, flags: decode.FlagACK, vlan: true, usec: t0},
			},
			check: func(t *testing.T, rows []map[string]string) {
				wantRows(t, rows, 1)
				if rows[0]["Total Length of Fwd Packet"] != "0.0" {
					t.Errorf("an unpadded frame has no payload: %v", rows[0]["Total Length of Fwd Packet"])
				}
			},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { c.check(t, meterFrames(t, c.cfg, c.frames)) })
	}
}

func wantRows(t *testing.T, rows []map[string]string, n int) {
	t.Helper()
	if len(rows) != n {
		t.Fatalf("got %d flows, want %d: %v", len(rows), n, rows)
	}
}

// TestBoundedTable checks that a flood of distinct flows (a spoofed SYN
// flood) never grows the table past MaxFlows, that every flow is still
// written, and that the early writes are counted.
func TestBoundedTable(t *testing.T) {
	const n, capFlows = 5000, 100
	var written int
	m, err := New(Config{Profile: Engelen, MaxFlows: capFlows}, func(*Flow) { written++ })
	if err != nil {
		t.Fatal(err)
	}
	var d decode.Packet
	for i := range n {
		fr := frame{src: byte(i), dst: byte(i >> 8), sport: uint16(i), dport: 80, proto: decode.ProtoTCP, flags: decode.FlagSYN}
		data := fr.bytes()
		d.Timestamp = (t0 + int64(i)) * 1000
		decode.Decode(1, data, &d)
		m.Add(&d)
		if m.Open() > capFlows {
			t.Fatalf("table holds %d flows, cap %d", m.Open(), capFlows)
		}
	}
	m.Flush()
	st := m.Stats()
	if written != n || st.Flows != n || st.Evicted != n-capFlows || st.MaxOpen != capFlows {
		t.Errorf("written %d, stats %+v", written, st)
	}
}

// TestStreamingExpiry checks that flows are written once the packet clock
// passes their timeout, not held until the end of the input.
func TestStreamingExpiry(t *testing.T) {
	var written int
	m, err := New(Config{Profile: Engelen, FlowTimeout: time.Second}, func(*Flow) { written++ })
	if err != nil {
		t.Fatal(err)
	}
	var d decode.Packet
	for i := range 100 {
		data := frame{src: 1, dst: 2, sport: uint16(i), dport: 53, proto: decode.ProtoUDP}.bytes()
		d.Timestamp = (t0 + int64(i)*100_000) * 1000 // 100 ms apart, 10 s in all
		decode.Decode(1, data, &d)
		m.Add(&d)
	}
	// Flows older than the timeout are out; their stubs (kept for a
	// continuation) go after two more timeouts of silence.
	if written < 85 || m.Open() > 35 {
		t.Errorf("after 10 s of 1 s flows: %d written, %d in the table", written, m.Open())
	}
	m.Flush()
	if written != 100 {
		t.Errorf("written %d of 100", written)
	}
}

func TestConfigErrors(t *testing.T) {
	for i, cfg := range []Config{
		{FlowTimeout: -time.Second},
		{ActivityTimeout: time.Nanosecond},
		{MaxFlows: -1},
		{IdleTimeout: -time.Second},
		{Early: func(*Flow) {}, EarlyPackets: 1},
	} {
		if _, err := New(cfg, func(*Flow) {}); err == nil {
			t.Errorf("config %d: want an error", i)
		}
	}
	if _, err := New(Config{}, func(*Flow) {}); err != nil {
		t.Errorf("zero config uses defaults: %v", err)
	}
}

// TestLiveClock checks what live capture relies on: the wall clock ends
// flows that get no more packets (flow timeout and idle timeout), an idle
// gap splits a flow, and an early verdict sees a flow once, in progress.
func TestLiveClock(t *testing.T) {
	type rec struct {
		sport   uint16
		packets int64
		end     EndReason
	}
	var out, early []rec
	m, err := New(Config{
		Profile: Engelen, FlowTimeout: 10 * time.Second, IdleTimeout: 2 * time.Second,
		EarlyPackets: 3,
		Early:        func(f *Flow) { early = append(early, rec{f.SrcPort, f.Packets(), f.End}) },
	}, func(f *Flow) { out = append(out, rec{f.SrcPort, f.Packets(), f.End}) })
	if err != nil {
		t.Fatal(err)
	}
	var d decode.Packet
	add := func(sport uint16, usec int64) {
		data := frame{src: 1, dst: 2, sport: sport, dport: 53, proto: decode.ProtoUDP, payload: 10}.bytes()
		d.Timestamp = usec * 1000
		decode.Decode(1, data, &d)
		m.Add(&d)
	}
	// Flow 1000: four packets 100 ms apart, then one after a 3 s gap: the
	// gap ends the first flow (idle) and the late packet starts another.
	for i := range 4 {
		add(1000, t0+int64(i)*100_000)
	}
	add(1000, t0+3_400_000)
	// Flow 2000: two packets, then silence.
	add(2000, t0+3_500_000)
	add(2000, t0+3_600_000)
	if len(out) != 1 || out[0] != (rec{1000, 4, EndIdle}) {
		t.Fatalf("after the gap: %v", out)
	}
	if len(early) != 1 || early[0].packets != 3 {
		t.Fatalf("early verdicts: %v, want one at the third packet", early)
	}
	m.Advance(t0 + 5_000_000) // 1.4 s after the last packet: nothing idle yet
	if len(out) != 1 {
		t.Fatalf("ended too soon: %v", out)
	}
	m.Advance(t0 + 6_000_000) // 2.4 s of silence for both open flows
	if len(out) != 3 || m.Open() != 0 {
		t.Fatalf("after the wall clock passed the idle timeout: %v, %d open", out, m.Open())
	}
	for _, r := range out[1:] {
		if r.end != EndIdle {
			t.Errorf("flow %d ended by %v, want idle", r.sport, r.end)
		}
	}
	// Without an idle timeout the wall clock ends flows at the flow timeout.
	out = out[:0]
	m2, err := New(Config{Profile: Engelen, FlowTimeout: time.Second}, func(f *Flow) { out = append(out, rec{f.SrcPort, f.Packets(), f.End}) })
	if err != nil {
		t.Fatal(err)
	}
	m = m2
	add(3000, t0)
	m.Advance(t0 + 900_000)
	if len(out) != 0 {
		t.Fatalf("flow ended before its timeout: %v", out)
	}
	m.Advance(t0 + 1_100_000)
	if len(out) != 1 || out[0].end != EndTimeout {
		t.Fatalf("flow timeout by the wall clock: %v", out)
	}
}
