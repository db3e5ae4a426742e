package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/flowguard/flowguard/internal/capture"
)

// Offsets into the ring, from <linux/if_packet.h>. A block starts with a
// struct tpacket_block_desc (version, offset_to_priv, then the
// tpacket_hdr_v1 whose first word is block_status); each packet with a
// struct tpacket3_hdr followed, at TPACKET_ALIGN(sizeof(tpacket3_hdr)), by
// the struct sockaddr_ll the kernel fills in.
const (
	blockHdrOffset = 8 // tpacket_hdr_v1 within tpacket_block_desc
	sllOffset      = (unix.SizeofTpacket3Hdr + unix.TPACKET_ALIGNMENT - 1) &^ (unix.TPACKET_ALIGNMENT - 1)
	sllPkttype     = 10 // sll_pkttype within sockaddr_ll
	vlanTagLen     = 4
)

// Source captures packets from one interface. Next and Close may be called
// from different goroutines; Stats from any goroutine.
type Source struct {
	cfg     Config
	fd      int
	wakeFd  int // eventfd Close writes to, so that a blocked poll returns
	ifindex int
	link    capture.LinkType
	loop    bool // loopback: every frame is seen leaving and arriving

	// mu is held by Next for its whole run and by Close while it tears
	// the ring down, so the ring is never unmapped under a reader.
	mu     sync.Mutex
	closed atomic.Bool
	ring   []byte
	pfd    [2]unix.PollFd

	// The block being read: its index, the packets left in it, and the
	// offset of the next one. held says the block is ours until released.
	blk     int
	held    bool
	left    uint32
	off     int
	vlanBuf []byte // frames with the VLAN tag put back, allocated on first use

	// vlanFilter runs Config.Filter on frames whose VLAN tag the kernel
	// had stripped, after the tag is put back; nil when the kernel filter
	// sees every frame as it is (see attachFilter).
	vlanFilter *bpf.VM
	rejected   atomic.Uint64 // frames vlanFilter rejected, not packets for Stats

	statsMu sync.Mutex
	stats   Stats
	statErr error // set once the socket is closed
}

// Open opens a socket on the interface, maps its receive ring, attaches the
// filter and binds to the interface, in that order: the socket is created
// with protocol 0, which hooks it into no receive path, so until bind no
// frame, filtered or not, reaches it. (libpcap instead drains what arrived
// before the filter.)
func Open(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults(os.Getpagesize())
	if err != nil {
		return nil, err
	}
	name := cfg.Interface
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		// The net package's error reads "route ip+net: no such network
		// interface"; say what was done instead.
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = oe.Err
		}
		return nil, fmt.Errorf("afpacket: interface %q: look-up by name (netlink RTM_GETLINK): %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("afpacket: interface %q: socket(AF_PACKET, SOCK_RAW): %w (live capture needs root or CAP_NET_RAW)", name, err)
		}
		return nil, fmt.Errorf("afpacket: interface %q: socket(AF_PACKET, SOCK_RAW): %w", name, err)
	}
	s := &Source{cfg: cfg, fd: fd, wakeFd: -1, ifindex: ifi.Index}
	if err := s.setup(); err != nil {
		s.release()
		return nil, fmt.Errorf("afpacket: interface %q: %w", name, err)
	}
	return s, nil
}

// setup does the steps of Open after the socket exists; errors name the
// syscall, Open adds the interface.
func (s *Source) setup() error {
	ifr, err := unix.NewIfreq(s.cfg.Interface)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s.fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return fmt.Errorf("ioctl SIOCGIFHWADDR: %w", err)
	}
	switch hw := ifr.Uint16(); hw {
	case unix.ARPHRD_ETHER:
		s.link = capture.LinkEthernet
	case unix.ARPHRD_LOOPBACK:
		s.link, s.loop = capture.LinkEthernet, true
	case unix.ARPHRD_NONE:
		s.link = capture.LinkRaw // tun and other devices that carry bare IP
	default:
		return fmt.Errorf("unsupported hardware type ARPHRD %d%s (want Ethernet, loopback or none)", hw, arphrdName(hw))
	}

	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("setsockopt PACKET_VERSION TPACKET_V3: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size: uint32(s.cfg.BlockSize),
		Block_nr:   uint32(s.cfg.Blocks),
		// Frames mean nothing to TPACKET_V3 (packets are packed in a
		// block), but the kernel checks that frames tile the blocks.
		Frame_size:     uint32(s.cfg.BlockSize),
		Frame_nr:       uint32(s.cfg.Blocks),
		Retire_blk_tov: uint32(s.cfg.BlockTimeout / time.Millisecond),
	}
	if err := unix.SetsockoptTpacketReq3(s.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("setsockopt PACKET_RX_RING (%d blocks of %d bytes): %w", s.cfg.Blocks, s.cfg.BlockSize, err)
	}
	ring, err := unix.Mmap(s.fd, 0, s.cfg.Blocks*s.cfg.BlockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap of the %d-byte ring: %w", s.cfg.Blocks*s.cfg.BlockSize, err)
	}
	s.ring = ring

	if len(s.cfg.Filter) > 0 {
		if err := s.attachFilter(); err != nil {
			return err
		}
	}

	sll := unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: s.ifindex}
	if err := unix.Bind(s.fd, &sll); err != nil {
		return fmt.Errorf("bind to interface index %d: %w", s.ifindex, err)
	}
	if s.cfg.Promiscuous {
		mr := unix.PacketMreq{Ifindex: int32(s.ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return fmt.Errorf("setsockopt PACKET_ADD_MEMBERSHIP promiscuous: %w", err)
		}
	}
	s.wakeFd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	s.pfd = [2]unix.PollFd{
		{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLERR},
		{Fd: int32(s.wakeFd), Events: unix.POLLIN},
	}
	return nil
}

// attachFilter attaches Config.Filter to the socket.
//
// The Linux receive path takes the outer VLAN tag out of the frame into the
// packet's metadata before any socket filter runs, so a program written for
// frames as they are on the wire, in a capture file and after Next puts the
// tag back (filter.Compile's, tcpdump -dd's) would not see the tag: "vlan"
// would match nothing and "ip" also tagged IPv4. So on Ethernet the kernel
// runs, in front of the program, a test of the tag metadata that lets every
// tagged frame through, and Next runs the program on those frames once the
// tag is back. Untagged frames are filtered in the kernel as usual. A
// program that reads packet metadata itself (SKF_AD loads, as libpcap
// emits for live captures) is attached as it is.
func (s *Source) attachFilter() error {
	prog := s.cfg.Filter
	if s.link == capture.LinkEthernet && !readsMetadata(prog) {
		ins, ok := bpf.Disassemble(prog)
		if !ok {
			return errors.New("filter program has instructions that are not classic BPF")
		}
		vm, err := bpf.NewVM(ins)
		if err != nil {
			return fmt.Errorf("filter program: %w", err)
		}
		s.vlanFilter = vm
		head, err := bpf.Assemble([]bpf.Instruction{
			bpf.LoadExtension{Num: bpf.ExtVLANTagPresent},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipTrue: 1},
			bpf.RetConstant{Val: uint32(s.cfg.SnapLen)},
		})
		if err != nil {
			return err // cannot happen: a fixed, valid program
		}
		prog = append(head, prog...) // the program's jumps are relative: unchanged
	}
	if len(prog) > 4096 { // BPF_MAXINSNS
		return fmt.Errorf("filter of %d instructions exceeds the kernel's 4096", len(prog))
	}
	// bpf.RawInstruction and unix.SockFilter have the same layout (u16
	// code, u8 jt, u8 jf, u32 k); the kernel copies the program.
	fprog := unix.SockFprog{
		Len:    uint16(len(prog)),
		Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0])),
	}
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("setsockopt SO_ATTACH_FILTER (%d instructions): %w", len(prog), err)
	}
	return nil
}

// readsMetadata says whether a program loads any of the kernel's packet
// metadata (absolute loads at SKF_AD_OFF and above).
func readsMetadata(prog []bpf.RawInstruction) bool {
	const skfAdOff = 0xfffff000 // SKF_AD_OFF, -0x1000
	for _, in := range prog {
		if in.Op&0x07 == 0x00 && in.Op&0xe0 == 0x20 && in.K >= skfAdOff { // BPF_LD | BPF_ABS
			return true
		}
	}
	return false
}

// Next reads the next packet into p. p.Data points into the ring (or, for a
// frame whose VLAN tag was put back, into a buffer of the Source) and is
// valid until the next call to Next or Close. Next returns ErrTimeout when
// no packet arrived within the poll timeout, and io.EOF once Close was
// called, also when Close is called while Next waits.
func (s *Source) Next(p *capture.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var deadline time.Time
	for {
		if s.closed.Load() {
			return io.EOF
		}
		if s.nextInRing(p) {
			return nil
		}
		// Nothing ready: wait for the kernel to hand over a block.
		timeout := s.cfg.PollTimeout
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(timeout)
		} else if timeout = deadline.Sub(now); timeout <= 0 {
			return ErrTimeout
		}
		ms := int((timeout + time.Millisecond - 1) / time.Millisecond)
		n, err := unix.Poll(s.pfd[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("afpacket: interface %q: poll: %w", s.cfg.Interface, err)
		}
		if s.pfd[1].Revents != 0 {
			return io.EOF
		}
		if s.pfd[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			if s.pfd[0].Revents&unix.POLLNVAL == 0 {
				// POLLERR on a packet socket reports a pending socket
				// error, such as the interface going away; read it.
				if serr, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && serr != 0 {
					return fmt.Errorf("afpacket: interface %q: %w", s.cfg.Interface, unix.Errno(serr))
				}
			}
			if s.pfd[0].Revents&unix.POLLIN == 0 {
				return fmt.Errorf("afpacket: interface %q: poll: socket error (revents 0x%x)", s.cfg.Interface, s.pfd[0].Revents)
			}
		}
		if n == 0 {
			return ErrTimeout
		}
	}
}

// nextInRing hands out the next packet of the ring if one is ready. When the
// packets of the held block are used up, the block goes back to the kernel
// first: only now, so that the previous packet's Data stayed valid until
// this call.
func (s *Source) nextInRing(p *capture.Packet) bool {
	for {
		if s.held && s.left == 0 {
			atomic.StoreUint32(s.blockStatus(s.blk), unix.TP_STATUS_KERNEL)
			s.held = false
			if s.blk++; s.blk == s.cfg.Blocks {
				s.blk = 0
			}
		}
		if !s.held {
			if atomic.LoadUint32(s.blockStatus(s.blk))&unix.TP_STATUS_USER == 0 {
				return false
			}
			base := s.blk * s.cfg.BlockSize
			h := (*unix.TpacketHdrV1)(unsafe.Pointer(&s.ring[base+blockHdrOffset]))
			s.held, s.left, s.off = true, h.Num_pkts, base+int(h.Offset_to_first_pkt)
			continue // an empty block (possible on timeout) is given back
		}
		h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&s.ring[s.off]))
		off := s.off
		s.left--
		s.off += int(h.Next_offset)
		if s.loop && s.ring[off+sllOffset+sllPkttype] == unix.PACKET_OUTGOING {
			continue // seen again as it arrives, as libpcap drops it
		}
		start := off + int(h.Mac)
		data := s.ring[start : start+int(h.Snaplen) : start+int(h.Snaplen)]
		origLen := int(h.Len)
		if h.Status&unix.TP_STATUS_VLAN_VALID != 0 && s.link == capture.LinkEthernet && len(data) >= 12 {
			tpid := uint16(unix.ETH_P_8021Q)
			if h.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && h.Hv1.Vlan_tpid != 0 {
				tpid = h.Hv1.Vlan_tpid
			}
			data = s.insertVLAN(data, tpid, uint16(h.Hv1.Vlan_tci))
			origLen += vlanTagLen
			if s.vlanFilter != nil {
				n, err := s.vlanFilter.Run(data)
				if err != nil || n == 0 {
					s.rejected.Add(1)
					continue
				}
				if n < len(data) {
					data = data[:n]
				}
			}
		}
		if len(data) > s.cfg.SnapLen {
			data = data[:s.cfg.SnapLen]
		}
		p.Data = data
		p.OrigLen = max(origLen, len(data))
		p.Timestamp = int64(h.Sec)*1e9 + int64(h.Nsec)
		p.Link = s.link
		p.Interface = 0
		return true
	}
}

// insertVLAN copies frame into the Source's buffer with the 802.1Q tag the
// kernel took out put back after the MAC addresses.
func (s *Source) insertVLAN(frame []byte, tpid, tci uint16) []byte {
	n := len(frame) + vlanTagLen
	if cap(s.vlanBuf) < n {
		s.vlanBuf = make([]byte, max(n, s.cfg.SnapLen+vlanTagLen))
	}
	b := s.vlanBuf[:n]
	copy(b, frame[:12])
	binary.BigEndian.PutUint16(b[12:], tpid)
	binary.BigEndian.PutUint16(b[14:], tci)
	copy(b[16:], frame[12:])
	return b
}

func (s *Source) blockStatus(blk int) *uint32 {
	return (*uint32)(unsafe.Pointer(&s.ring[blk*s.cfg.BlockSize+blockHdrOffset]))
}

// Stats returns the kernel's counters, cumulative since Open. The kernel
// resets them on every read, so the Source adds them up. After Close it
// returns the totals as of Close. Packets leaves out the tagged frames the
// filter rejected in user space (see attachFilter); Drops may include such
// frames, as the kernel drops them before they are filtered.
func (s *Source) Stats() (Stats, error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	var err error
	if s.statErr == nil {
		err = s.readStatsLocked()
	}
	st := s.stats
	st.Packets -= min(st.Packets, s.rejected.Load())
	return st, err
}

func (s *Source) readStatsLocked() error {
	st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return fmt.Errorf("afpacket: interface %q: getsockopt PACKET_STATISTICS: %w", s.cfg.Interface, err)
	}
	s.stats.Packets += uint64(st.Packets)
	s.stats.Drops += uint64(st.Drops)
	s.stats.Freezes += uint64(st.Freeze_q_cnt)
	return nil
}

// Close stops the capture. A Next blocked in another goroutine returns
// io.EOF; later calls of Next return io.EOF too. Close may be called more
// than once.
func (s *Source) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(s.wakeFd, one[:]) // cannot fail short of a closed fd; Next also checks closed
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statsMu.Lock()
	err := s.readStatsLocked()
	s.statErr = io.EOF
	s.statsMu.Unlock()
	if rerr := s.release(); err == nil {
		err = rerr
	}
	return err
}

// release unmaps the ring and closes the descriptors.
func (s *Source) release() error {
	var err error
	if s.ring != nil {
		err = unix.Munmap(s.ring)
		s.ring = nil
	}
	if s.wakeFd >= 0 {
		unix.Close(s.wakeFd)
		s.wakeFd = -1
	}
	if s.fd >= 0 {
		if cerr := unix.Close(s.fd); err == nil {
			err = cerr
		}
		s.fd = -1
	}
	if err != nil {
		return fmt.Errorf("afpacket: interface %q: close: %w", s.cfg.Interface, err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// arphrdName names a few hardware types an interface may have, for the
// error of Open.
func arphrdName(hw uint16) string {
	switch hw {
	case unix.ARPHRD_PPP:
		return " (PPP)"
	case unix.ARPHRD_IEEE80211_RADIOTAP:
		return " (802.11 radiotap)"
	case unix.ARPHRD_IPGRE:
		return " (GRE)"
	case unix.ARPHRD_SIT:
		return " (sit)"
	case unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6:
		return " (IP tunnel)"
	case unix.ARPHRD_INFINIBAND:
		return " (InfiniBand)"
	case unix.ARPHRD_CAN:
		return " (CAN)"
	}
	return ""
}
