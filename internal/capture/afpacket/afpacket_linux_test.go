package afpacket

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/capture/filter"
)

// vethPair is a veth pair whose one end (Root) is in the test's network
// namespace and the other (Peer) in a fresh namespace NS, so that nothing
// but the frames a test sends crosses it: no addresses are configured and
// IPv6 is off on both ends.
type vethPair struct {
	NS, Root, Peer string
	RootMAC        []byte
}

// needRoot skips a test that creates namespaces and raw sockets.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture tests need root (network namespaces, AF_PACKET sockets)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("live capture tests need the ip command (iproute2): ", err)
	}
}

func run(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newVeth creates the namespace and the pair, with names unique to the run,
// and removes them when the test ends, whether it passed or not.
func newVeth(t testing.TB) vethPair {
	t.Helper()
	needRoot(t)
	var r [4]byte
	rand.Read(r[:])
	sfx := hex.EncodeToString(r[:])
	v := vethPair{NS: "fgcap-" + sfx, Root: "fgr" + sfx, Peer: "fgp" + sfx}
	run(t, "ip", "netns", "add", v.NS)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", v.NS).Run() })
	run(t, "ip", "link", "add", v.Root, "type", "veth", "peer", "name", v.Peer, "netns", v.NS)
	t.Cleanup(func() { exec.Command("ip", "link", "del", v.Root).Run() })
	// Without IPv6 the links stay silent (no router solicitations, no
	// duplicate address detection), so packet counts are exact.
	os.WriteFile("/proc/sys/net/ipv6/conf/"+v.Root+"/disable_ipv6", []byte("1"), 0)
	exec.Command("ip", "netns", "exec", v.NS, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/"+v.Peer+"/disable_ipv6").Run()
	run(t, "ip", "link", "set", v.Root, "up")
	run(t, "ip", "-n", v.NS, "link", "set", v.Peer, "up")
	ifi, err := netInterface(v.Root)
	if err != nil {
		t.Fatal(err)
	}
	v.RootMAC = ifi
	return v
}

func netInterface(name string) ([]byte, error) {
	b, err := os.ReadFile("/sys/class/net/" + name + "/address")
	if err != nil {
		return nil, err
	}
	return parseMAC(strings.TrimSpace(string(b)))
}

func parseMAC(s string) ([]byte, error) {
	return hex.DecodeString(strings.ReplaceAll(s, ":", ""))
}

// injector sends raw frames out of the peer end, from inside the namespace
// (its socket is opened there, see inNS).
type injector struct {
	fd int
	to unix.SockaddrLinklayer
}

func newInjector(t testing.TB, v vethPair) *injector {
	t.Helper()
	var fd, idx int
	var err error
	inNS(t, v.NS, func() {
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return
		}
		var ifr *unix.Ifreq
		if ifr, err = unix.NewIfreq(v.Peer); err == nil {
			if err = unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err == nil {
				idx = int(ifr.Uint32())
			}
		}
	})
	if err != nil {
		t.Fatal("injector socket: ", err)
	}
	in := &injector{fd: fd, to: unix.SockaddrLinklayer{Ifindex: idx, Halen: 6}}
	t.Cleanup(func() { unix.Close(fd) })
	return in
}

func (in *injector) send(t testing.TB, frame []byte) {
	t.Helper()
	if err := unix.Sendto(in.fd, frame, 0, &in.to); err != nil {
		t.Fatal("sendto: ", err)
	}
}

var peerMAC = []byte{0x02, 0, 0, 0, 0, 0x02}

// udpFrame builds an Ethernet/IPv4/UDP frame to the root end with payload,
// optionally with one VLAN tag (tpid 0 for none).
func udpFrame(dst []byte, tpid, tci uint16, dport uint16, payload []byte) []byte {
	var b []byte
	b = append(b, dst...)
	b = append(b, peerMAC...)
	if tpid != 0 {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, tci)
	}
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 9, 0, 2, 10, 9, 0, 1}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, 40000)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = binary.BigEndian.AppendUint16(b, 0)
	return append(b, payload...)
}

// collect reads until want packets came or a second passed without any,
// then keeps reading for one more poll timeout to catch extra packets. It
// returns copies of the frames and their timestamps.
func collect(t *testing.T, s *Source, want int) (frames [][]byte, pkts []capture.Packet) {
	t.Helper()
	var p capture.Packet
	idle := time.Now()
	for time.Since(idle) < time.Second {
		err := s.Next(&p)
		if err == ErrTimeout {
			if len(frames) >= want {
				break
			}
			continue
		}
		if err != nil {
			t.Fatal("Next: ", err)
		}
		idle = time.Now()
		frames = append(frames, bytes.Clone(p.Data))
		q := p
		q.Data = nil
		pkts = append(pkts, q)
	}
	return frames, pkts
}

func openTest(t *testing.T, cfg Config) *Source {
	t.Helper()
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = 100 * time.Millisecond
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCapture sends numbered UDP datagrams and checks that exactly those
// arrive, in order, intact, with increasing timestamps close to now.
func TestCapture(t *testing.T) {
	v := newVeth(t)
	s := openTest(t, Config{Interface: v.Root, BlockSize: 1 << 16, Blocks: 8})
	in := newInjector(t, v)
	const n = 300
	start := time.Now().UnixNano()
	var sent [][]byte
	for i := range n {
		f := udpFrame(v.RootMAC, 0, 0, 9999, fmt.Appendf(nil, "flowguard afpacket test %04d", i))
		sent = append(sent, f)
		in.send(t, f)
	}
	frames, pkts := collect(t, s, n)
	if len(frames) != n {
		t.Fatalf("captured %d frames, sent %d", len(frames), n)
	}
	end := time.Now().UnixNano()
	for i, f := range frames {
		p := pkts[i]
		if !bytes.Equal(f, sent[i]) {
			t.Fatalf("frame %d:\n got %x\nwant %x", i, f, sent[i])
		}
		if p.OrigLen != len(f) || p.Link != capture.LinkEthernet {
			t.Errorf("frame %d: OrigLen %d (len %d), Link %d", i, p.OrigLen, len(f), p.Link)
		}
		if p.Timestamp < start || p.Timestamp > end {
			t.Errorf("frame %d: timestamp %d outside the test's run %d..%d", i, p.Timestamp, start, end)
		}
		if i > 0 && p.Timestamp <= pkts[i-1].Timestamp {
			t.Errorf("frame %d: timestamp %d not after %d", i, p.Timestamp, pkts[i-1].Timestamp)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != n || st.Drops != 0 {
		t.Errorf("stats %+v, want %d packets and no drops", st, n)
	}
}

// TestSnapLen checks that frames are cut to the snap length while OrigLen
// keeps the length on the wire.
func TestSnapLen(t *testing.T) {
	v := newVeth(t)
	s := openTest(t, Config{Interface: v.Root, SnapLen: 40})
	in := newInjector(t, v)
	f := udpFrame(v.RootMAC, 0, 0, 9999, bytes.Repeat([]byte{'x'}, 200))
	in.send(t, f)
	frames, pkts := collect(t, s, 1)
	if len(frames) != 1 || !bytes.Equal(frames[0], f[:40]) || pkts[0].OrigLen != len(f) {
		t.Fatalf("got %d frames (%x), OrigLen %v; want the first 40 bytes of a %d-byte frame", len(frames), frames, pkts, len(f))
	}
}

// udpPortFilter accepts IPv4 UDP to one port (no IP options), whole frames.
func udpPortFilter(t *testing.T, port uint32) []bpf.RawInstruction {
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: 5},
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: 3},
		bpf.LoadAbsolute{Off: 36, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: port, SkipTrue: 1},
		bpf.RetConstant{Val: 262144},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// TestFilter floods the link with frames the filter rejects from before
// Open until after it, and checks that only the accepted ones arrive: none
// slips in between the socket's creation and the filter's attachment.
func TestFilter(t *testing.T) {
	v := newVeth(t)
	in := newInjector(t, v)
	stop := make(chan struct{})
	done := make(chan int)
	to := in.to // Sendto writes into the address it is given
	go func() {
		n := 0
		f := udpFrame(v.RootMAC, 0, 0, 8888, []byte("rejected"))
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			if unix.Sendto(in.fd, f, 0, &to) == nil {
				n++
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	s := openTest(t, Config{Interface: v.Root, Filter: udpPortFilter(t, 9999)})
	const n = 100
	for i := range n {
		in.send(t, udpFrame(v.RootMAC, 0, 0, 9999, fmt.Appendf(nil, "accepted %d", i)))
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	rejected := <-done
	frames, _ := collect(t, s, n)
	for i, f := range frames {
		if want := fmt.Sprintf("accepted %d", i); !bytes.HasSuffix(f, []byte(want)) {
			t.Fatalf("frame %d: %q, want it to end in %q", i, f[42:], want)
		}
	}
	if len(frames) != n {
		t.Fatalf("captured %d frames, want the %d the filter accepts (%d others sent)", len(frames), n, rejected)
	}
	if rejected < 100 {
		t.Errorf("only %d rejected frames sent: the flood did not run", rejected)
	}
	t.Logf("%d accepted frames captured, %d rejected ones filtered out", n, rejected)
}

// TestVLAN sends tagged frames: the receive path moves the outer tag into
// the ring header, and Next must put it back so the frame is as sent.
func TestVLAN(t *testing.T) {
	v := newVeth(t)
	s := openTest(t, Config{Interface: v.Root})
	in := newInjector(t, v)
	tests := []struct {
		name string
		tpid uint16
		tci  uint16
	}{
		{"802.1Q id 10", 0x8100, 10},
		{"802.1Q id 10 priority 5", 0x8100, 5<<13 | 10},
		{"802.1ad id 4000", 0x88a8, 4000},
		{"priority tag id 0", 0x8100, 3 << 13},
		{"untagged", 0, 0},
	}
	var sent [][]byte
	for _, tt := range tests {
		f := udpFrame(v.RootMAC, tt.tpid, tt.tci, 9999, []byte(tt.name))
		sent = append(sent, f)
		in.send(t, f)
	}
	frames, pkts := collect(t, s, len(tests))
	if len(frames) != len(tests) {
		t.Fatalf("captured %d frames, sent %d", len(frames), len(tests))
	}
	for i, tt := range tests {
		if !bytes.Equal(frames[i], sent[i]) {
			t.Errorf("%s:\n got %x\nwant %x", tt.name, frames[i], sent[i])
		}
		if pkts[i].OrigLen != len(sent[i]) {
			t.Errorf("%s: OrigLen %d, want %d", tt.name, pkts[i].OrigLen, len(sent[i]))
		}
	}
}

// TestCloseUnblocksNext closes the source while Next waits with a long poll
// timeout: Next must return io.EOF at once, and so must later calls.
func TestCloseUnblocksNext(t *testing.T) {
	v := newVeth(t)
	s, err := Open(Config{Interface: v.Root, PollTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		var p capture.Packet
		errc <- s.Next(&p)
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal("Close: ", err)
	}
	select {
	case err := <-errc:
		if err != io.EOF {
			t.Fatalf("Next returned %v, want io.EOF", err)
		}
		t.Logf("Next returned %v after Close in %v", err, time.Since(start))
	case <-time.After(2 * time.Second):
		t.Fatal("Next still blocked 2s after Close")
	}
	var p capture.Packet
	if err := s.Next(&p); err != io.EOF {
		t.Errorf("Next after Close: %v, want io.EOF", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Stats(); err != nil {
		t.Errorf("Stats after Close: %v", err)
	}
}

// TestTimeout checks that a quiet link makes Next return ErrTimeout after
// about the poll timeout.
func TestTimeout(t *testing.T) {
	v := newVeth(t)
	s := openTest(t, Config{Interface: v.Root, PollTimeout: 150 * time.Millisecond})
	var p capture.Packet
	start := time.Now()
	err := s.Next(&p)
	d := time.Since(start)
	if err != ErrTimeout {
		t.Fatalf("Next on a quiet link: %v, want ErrTimeout", err)
	}
	if d < 140*time.Millisecond || d > time.Second {
		t.Errorf("ErrTimeout after %v, want about 150ms", d)
	}
}

// TestStatsDrops overfills a small ring without reading and checks that
// the kernel's drops are counted, and that the counters add up across reads
// although the kernel resets them on each.
func TestStatsDrops(t *testing.T) {
	v := newVeth(t)
	s := openTest(t, Config{Interface: v.Root, BlockSize: os.Getpagesize(), Blocks: 2})
	in := newInjector(t, v)
	f := udpFrame(v.RootMAC, 0, 0, 9999, bytes.Repeat([]byte{'d'}, 1000))
	const n1, n2 = 50, 30
	for range n1 {
		in.send(t, f)
	}
	st1, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for range n2 {
		in.send(t, f)
	}
	st2, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d frames: %+v; after %d more: %+v", n1, st1, n2, st2)
	if st1.Packets != n1 || st2.Packets != n1+n2 {
		t.Errorf("packets %d then %d, want %d then %d", st1.Packets, st2.Packets, n1, n1+n2)
	}
	if st1.Drops == 0 || st2.Drops <= st1.Drops {
		t.Errorf("drops %d then %d: want some, growing", st1.Drops, st2.Drops)
	}
	// What the ring held is still delivered.
	frames, _ := collect(t, s, 1)
	if got := uint64(len(frames)); got == 0 || got+st2.Drops != n1+n2 {
		t.Errorf("read %d frames with %d drops, want them to add up to %d", got, st2.Drops, n1+n2)
	}
}

// TestNextAllocs checks that reading packets, including waiting for a block
// and giving it back, does not allocate.
func TestNextAllocs(t *testing.T) {
	v := newVeth(t)
	s := openTest(t, Config{Interface: v.Root, BlockSize: 1 << 16, Blocks: 16})
	in := newInjector(t, v)
	f := udpFrame(v.RootMAC, 0, 0, 9999, []byte("alloc"))
	for range 600 {
		in.send(t, f)
	}
	var p capture.Packet
	if err := s.Next(&p); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(500, func() {
		if err := s.Next(&p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Next, want 0", allocs)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no interface", Config{}, "no interface"},
		{"missing interface", Config{Interface: "fgnosuch0"}, `interface "fgnosuch0": look-up by name (netlink RTM_GETLINK): no such network interface`},
		{"odd block size", Config{Interface: "lo", BlockSize: 3 << 12}, "block size"},
		{"snap length", Config{Interface: "lo", SnapLen: -1}, "snap length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			t.Log(err)
		})
	}
}

// TestOpenLoopback opens the loopback device: Ethernet framing, and each
// frame seen once although the kernel shows it leaving and arriving.
func TestOpenLoopback(t *testing.T) {
	needRoot(t)
	l, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skip("no IPv4 loopback: ", err)
	}
	defer l.Close()
	addr := l.LocalAddr().(*net.UDPAddr)
	s := openTest(t, Config{Interface: "lo", Filter: udpPortFilter(t, uint32(addr.Port))})
	if s.link != capture.LinkEthernet {
		t.Errorf("link %d, want Ethernet", s.link)
	}
	c, err := net.DialUDP("udp4", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		if _, err := c.Write([]byte("loop")); err != nil {
			t.Fatal(err)
		}
	}
	frames, _ := collect(t, s, 5)
	if len(frames) != 5 {
		t.Errorf("captured %d frames on lo, want 5", len(frames))
	}
}

func TestOpenNotRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs as root; the permission error cannot be seen")
	}
	_, err := Open(Config{Interface: "lo"})
	if err == nil || !strings.Contains(err.Error(), "CAP_NET_RAW") {
		t.Errorf("Open as non-root: %v, want a hint at CAP_NET_RAW", err)
	}
}

// TestFilterVLAN attaches compiled pcap-filter expressions and sends tagged
// and untagged frames: the decisions must be those of tcpdump on the frames
// as sent (with their tags), although the kernel strips the tag before the
// socket filter runs.
func TestFilterVLAN(t *testing.T) {
	v := newVeth(t)
	in := newInjector(t, v)
	frames := []struct {
		name string
		f    []byte
	}{
		{"untagged 9999", udpFrame(v.RootMAC, 0, 0, 9999, []byte("u9999"))},
		{"vlan 10 9999", udpFrame(v.RootMAC, 0x8100, 10, 9999, []byte("v10-9999"))},
		{"vlan 11 9999", udpFrame(v.RootMAC, 0x8100, 11, 9999, []byte("v11-9999"))},
		{"vlan 10 8888", udpFrame(v.RootMAC, 0x8100, 10, 8888, []byte("v10-8888"))},
		{"qinq 10 9999", udpFrame(v.RootMAC, 0x88a8, 10, 9999, []byte("q10-9999"))},
		{"untagged 8888", udpFrame(v.RootMAC, 0, 0, 8888, []byte("u8888"))},
	}
	tests := []struct {
		expr string
		want []string
	}{
		{"udp port 9999", []string{"untagged 9999"}},
		{"vlan", []string{"vlan 10 9999", "vlan 11 9999", "vlan 10 8888", "qinq 10 9999"}},
		{"vlan 10 and udp port 9999", []string{"vlan 10 9999", "qinq 10 9999"}},
		{"not vlan", []string{"untagged 9999", "untagged 8888"}},
		{"udp", []string{"untagged 9999", "untagged 8888"}},
		{"vlan and udp", []string{"vlan 10 9999", "vlan 11 9999", "vlan 10 8888", "qinq 10 9999"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			prog, err := filter.Compile(tt.expr, capture.LinkEthernet, 65535)
			if err != nil {
				t.Fatal(err)
			}
			s := openTest(t, Config{Interface: v.Root, Filter: prog})
			for _, fr := range frames {
				in.send(t, fr.f)
			}
			got, _ := collect(t, s, len(tt.want))
			var names []string
			for _, g := range got {
				for _, fr := range frames {
					if bytes.Equal(g, fr.f) {
						names = append(names, fr.name)
					}
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") || len(got) != len(tt.want) {
				t.Errorf("captured %v (%d frames), want %v", names, len(got), tt.want)
			}
			st, err := s.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.Packets != uint64(len(tt.want)) {
				t.Errorf("Stats.Packets %d, want %d", st.Packets, len(tt.want))
			}
		})
	}
}

// TestFilterLong attaches a program longer than a conditional jump reaches
// (filter.Compile puts in unconditional jumps): the kernel's checker must
// accept it and it must decide as compiled.
func TestFilterLong(t *testing.T) {
	v := newVeth(t)
	in := newInjector(t, v)
	var hosts []string
	for i := range 60 {
		hosts = append(hosts, fmt.Sprintf("10.0.%d.%d", i/200, i%200+1))
	}
	for _, tc := range []struct {
		last string
		want int
	}{{"10.9.0.1", 1}, {"10.9.0.3", 0}} {
		expr := "host " + strings.Join(append(hosts, tc.last), " or host ")
		prog, err := filter.Compile(expr, capture.LinkEthernet, 65535)
		if err != nil {
			t.Fatal(err)
		}
		s := openTest(t, Config{Interface: v.Root, Filter: prog})
		in.send(t, udpFrame(v.RootMAC, 0, 0, 9999, []byte("long"))) // 10.9.0.2 -> 10.9.0.1
		got, _ := collect(t, s, tc.want)
		if len(got) != tc.want {
			t.Errorf("%d-instruction filter ending in host %s: captured %d frames, want %d", len(prog), tc.last, len(got), tc.want)
		}
		s.Close()
	}
}

// inNS runs f on an OS thread switched into the namespace ns; sockets f
// opens stay in that namespace.
func inNS(t testing.TB, ns string, f func()) {
	t.Helper()
	nsf, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nsf.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	if err := unix.Setns(int(nsf.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal("setns: ", err)
	}
	f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.LockOSThread() // leave the thread to die in the wrong namespace
		t.Fatal("setns back: ", err)
	}
}

// TestUDPSocketTraffic captures datagrams the kernel's own IP stack sends
// from a UDP socket in the namespace (ARP resolution included), filtered
// with a compiled "udp port N": exactly the datagrams, with their payloads.
func TestUDPSocketTraffic(t *testing.T) {
	v := newVeth(t)
	run(t, "ip", "addr", "add", "10.77.0.1/24", "dev", v.Root)
	run(t, "ip", "-n", v.NS, "addr", "add", "10.77.0.2/24", "dev", v.Peer)
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 77, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.LocalAddr().(*net.UDPAddr).Port
	prog, err := filter.Compile(fmt.Sprintf("udp port %d", port), capture.LinkEthernet, 65535)
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, Config{Interface: v.Root, Filter: prog})
	var c *net.UDPConn
	inNS(t, v.NS, func() {
		c, err = net.DialUDP("udp4", nil, l.LocalAddr().(*net.UDPAddr))
	})
	if err != nil {
		t.Fatal("dial from the namespace: ", err)
	}
	defer c.Close()
	const n = 50
	for i := range n {
		if _, err := fmt.Fprintf(c, "datagram %02d", i); err != nil {
			t.Fatal(err)
		}
	}
	frames, pkts := collect(t, s, n)
	if len(frames) != n {
		t.Fatalf("captured %d datagrams, sent %d", len(frames), n)
	}
	for i, f := range frames {
		if want := fmt.Sprintf("datagram %02d", i); len(f) < 42 || string(f[42:]) != want {
			t.Errorf("frame %d: payload %q, want %q", i, f[min(42, len(f)):], want)
		}
		if i > 0 && pkts[i].Timestamp <= pkts[i-1].Timestamp {
			t.Errorf("frame %d: timestamp not after the previous one", i)
		}
	}
}
