package afpacket

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/capture/filter"
)

// fakeRing lays out blocks the way the kernel fills them, each holding
// perBlock frames of frameLen bytes, optionally with a stripped VLAN tag,
// and returns a Source reading them without a socket.
func fakeRing(blocks, blockSize, perBlock, frameLen int, vlan bool) *Source {
	s := &Source{cfg: Config{BlockSize: blockSize, Blocks: blocks, SnapLen: 65535}, fd: -1, wakeFd: -1, link: capture.LinkEthernet}
	s.ring = make([]byte, blocks*blockSize)
	step := (sllOffset + unix.SizeofSockaddrLinklayer + 2 + frameLen + 15) &^ 15
	for b := range blocks {
		base := b * blockSize
		h := (*unix.TpacketHdrV1)(unsafe.Pointer(&s.ring[base+blockHdrOffset]))
		h.Num_pkts = uint32(perBlock)
		h.Offset_to_first_pkt = 48
		off := base + 48
		for i := range perBlock {
			ph := (*unix.Tpacket3Hdr)(unsafe.Pointer(&s.ring[off]))
			ph.Next_offset = uint32(step)
			ph.Sec, ph.Nsec = 1_700_000_000, uint32(i)
			ph.Snaplen, ph.Len = uint32(frameLen), uint32(frameLen)
			ph.Mac = uint16(sllOffset + unix.SizeofSockaddrLinklayer + 2)
			if vlan {
				ph.Status = unix.TP_STATUS_VLAN_VALID
				ph.Hv1.Vlan_tci = 10
			}
			binary.BigEndian.PutUint16(s.ring[off+int(ph.Mac)+12:], 0x0800)
			off += step
		}
	}
	return s
}

// refill hands every block to user space again, as the kernel would.
func (s *Source) refill() {
	for b := range s.cfg.Blocks {
		*s.blockStatus(b) = unix.TP_STATUS_USER
	}
}

func TestRingWalk(t *testing.T) {
	for _, vlan := range []bool{false, true} {
		s := fakeRing(3, 1<<16, 7, 60, vlan)
		s.refill()
		var p capture.Packet
		n := 0
		for s.nextInRing(&p) {
			want := 60
			if vlan {
				want = 64
				if binary.BigEndian.Uint16(p.Data[12:]) != 0x8100 || binary.BigEndian.Uint16(p.Data[14:]) != 10 || binary.BigEndian.Uint16(p.Data[16:]) != 0x0800 {
					t.Fatalf("packet %d: tag not put back: %x", n, p.Data[:18])
				}
			}
			if len(p.Data) != want || p.OrigLen != want || p.Timestamp != 1_700_000_000e9+int64(n%7) {
				t.Fatalf("packet %d (vlan %v): %d bytes, OrigLen %d, ts %d", n, vlan, len(p.Data), p.OrigLen, p.Timestamp)
			}
			n++
		}
		if n != 21 {
			t.Errorf("vlan %v: walked %d packets, want 21", vlan, n)
		}
		for b := range 3 {
			if *s.blockStatus(b) != unix.TP_STATUS_KERNEL && b != s.blk {
				t.Errorf("block %d not given back", b)
			}
		}
	}
}

// BenchmarkRing measures the per-packet cost of Next's ring walk (block
// hand-over and give-back included, no syscalls): the hot path of a busy
// link, where a block is always ready.
func BenchmarkRing(b *testing.B) {
	// "udp port 53 or vlan" from internal/capture/filter: a tagged frame
	// fails the port test and is accepted by the vlan test.
	prog, err := filter.Compile("udp port 53 or vlan", capture.LinkEthernet, 65535)
	if err != nil {
		b.Fatal(err)
	}
	ins, _ := bpf.Disassemble(prog)
	vm, err := bpf.NewVM(ins)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		vlan bool
		vm   *bpf.VM
	}{{"plain", false, nil}, {"vlan", true, nil}, {"vlan-filtered", true, vm}} {
		b.Run(bc.name, func(b *testing.B) {
			s := fakeRing(4, 1<<20, 1024, 512, bc.vlan)
			s.vlanFilter = bc.vm
			s.refill()
			var p capture.Packet
			b.ReportAllocs()
			b.SetBytes(512)
			for b.Loop() {
				if !s.nextInRing(&p) {
					s.refill()
					s.nextInRing(&p)
				}
			}
		})
	}
}
