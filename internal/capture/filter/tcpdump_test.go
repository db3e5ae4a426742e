package filter

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/flowguard/flowguard/internal/capture"
)

// sharedDir is the shared data beside the checkout, seen from this package.
const sharedDir = "../../../../shared"

// expressions compared against tcpdump. They cover every primitive, the
// direction qualifiers, qualifier repetition, precedence, negation and the
// vlan offset shift.
var ethernetExprs = []string{
	"ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "icmp", "icmp6", "igmp",
	"vlan", "vlan 10", "vlan and ip", "vlan and tcp port 80", "vlan or ip", "not vlan",
	"vlan and vlan and ip", "not vlan 100 and udp",
	"host 192.168.1.1", "src host 10.0.0.1", "dst host 10.0.0.2", "host 192.168.3.131",
	"ip host 10.0.2.15", "arp host 192.168.1.1", "ip6 host fe80::1", "host 2001:db8::1",
	"src or dst host 10.1.1.1", "src and dst net 10.0.0.0/8",
	"net 10.0.0.0/8", "net 192.168", "net 192.168.0.0 mask 255.255.0.0", "src net 172.16.0.0/12",
	"dst net 224.0.0.0/4", "ip6 net fe80::/10", "ip6 net 2001:db8::/33", "dst net ff00::/8", "net 0.0.0.0/0",
	"port 80", "port 53", "src port 443", "dst port 53", "tcp port 80", "udp port 53",
	"tcp src port 80", "udp dst port 67", "sctp port 2905", "portrange 1-1023", "tcp portrange 6000-6063",
	"src portrange 1024-65535", "port 80 or 443", "tcp port 80 or 443 or 8080", "port 53 and not 5353",
	"host 192.168.1.1 or 192.168.1.2", "proto 17", "ip proto 6", "ip6 proto 58", "ip proto \\udp",
	"proto 47", "ether proto 0x0800", "ether proto \\arp", "ether host ff:ff:ff:ff:ff:ff",
	"ether src 00:0c:29:4f:8e:35", "ether dst 1:0:5e:0:0:fb", "ether broadcast", "ether multicast",
	"less 64", "greater 1000", "less 100 and tcp", "greater 60 or udp",
	"tcp and not port 22", "not tcp", "!udp && !icmp", "tcp || udp", "not (tcp or udp)",
	"ip and (tcp port 80 or udp port 53)", "icmp or arp or udp port 53", "tcp and port 80 or udp",
	"udp or icmp and ip6", "not port 80 and not port 443 and tcp", "(host 10.0.0.1 and port 22) or icmp6",
	"ip6 and tcp", "tcp port 443 and ip6", "icmp6 and src net fe80::/10",
	"udp port 5353 or port 1900", "tcp dst portrange 0-1023 and not src net 10.0.0.0/8",
	"dst or src portrange 1-100", "src and dst port 53", "vlan 100 or vlan 200", "not (ip or ip6 or arp)",
	"ether src 44:f4:77:0f:ea:49", "ether host 4c:72:b9:7c:b5:b7 and tcp", "ip6 src net 2001:db8::/32",
	"arp or rarp", "ip and not net 10.0.0.0/8 and not net 192.168.0.0/16", "icmp or icmp6",
	"tcp port 80 and (src host 10.0.0.1 or dst host 10.0.0.1)", "udp and (port 53 or 5353)",
	"greater 1500", "port 0x50", "net 10.1.2.0/24 or net 172.16.0.0/12", "src port 53 or 123 or 5353",
	"not host 10.0.0.1 and not 10.0.0.2", "ether proto \\ip6 and udp",
	// relations
	"tcp[13] & 2 != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
	"tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack = 0", "ip[9] = 6",
	"icmp[icmptype] = icmp-echo", "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
	"ip[2:2] > 1000", "udp[0:2] = 53", "ip6[6] = 17", "len > 100", "len <= 64", "ether[0] & 1 = 1",
	"tcp[0:2] + 1 > 80", "icmp6[0] = 128", "icmp6[icmp6type] = icmp6-neighborsolicit",
	"tcp[(tcp[12]>>4)*4] = 0x47", "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420", "arp[7] = 2",
	"ip[2:2] - ((ip[0]&0xf)<<2) > 100", "vlan and ip[9] = 6", "ip[9] = 6 or tcp[13] = 2", "5 < ip[8]",
	"len - 14 >= 100", "tcp[13] = tcp-syn|tcp-ack", "not tcp[13] & 4 != 0", "(ip[0] & 0xf) > 5",
	"ip[6:2] & 0x1fff != 0", "ip[8] < 64 and udp", "udp[4:2] % 4 = 0", "ip[1] ^ 0xff = 0xff",
	"ip[16] >= 224", "udp[8:4] = 0", "ip[12:4] / 16777216 = 10", "tcp[12] >> 4 > 5",
	"ip[0:1] & 0xf0 = 0x40 and (ip[2:2] > 576 or ip[8] = 1)", "udp[len - 40] = 0", "ip[ip[0] & 0xf] = 0",
	"tcp[tcp[12] >> 4 << 2] = 0x16", "ether[0x7ffffff0] = 0 or ip", "not ether[100000:4] = 1",
	"len * 2 > 200", "udp[2:2] = 53 || udp[0:2] = 53",
}

// rawExprs are compared on raw IP captures (no link header).
var rawExprs = []string{
	"ip", "ip6", "tcp", "udp", "icmp", "icmp6", "port 53", "tcp port 80", "host 10.0.0.1",
	"net 10.0.0.0/8", "ip6 net 2001:db8::/32", "portrange 1-1023", "less 100", "proto 47",
	"ip[9] = 17", "tcp[13] & 2 != 0", "len > 60", "ip6[6] = 6", "udp[0:2] = 53",
}

// longExprs are expressions with long lists of values, folded into one test
// or (spelt out) compiled to programs longer than a conditional jump
// reaches, so that the trampolines are compared too.
func longExprs() []string {
	var hosts, ports []string
	for i := range 40 {
		hosts = append(hosts, fmt.Sprintf("192.168.%d.%d", i%4, i))
		ports = append(ports, strconv.Itoa(20+i))
	}
	return []string{
		"host " + strings.Join(hosts, " or "),
		"host " + strings.Join(hosts, " or host "),
		"tcp and (port " + strings.Join(ports, " or ") + ") or udp port 53",
	}
}

// tcpdumpProgram compiles expr with tcpdump -ddd for linkName (a DLT name).
func tcpdumpProgram(t *testing.T, expr, linkName string) ([]bpf.Instruction, error) {
	out, err := exec.Command("tcpdump", "-ddd", "-y", linkName, expr).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("tcpdump -ddd %q: %v: %s", expr, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	n, err := strconv.Atoi(lines[0])
	if err != nil || n != len(lines)-1 {
		return nil, fmt.Errorf("tcpdump -ddd %q: unexpected output %q", expr, out)
	}
	raw := make([]bpf.RawInstruction, n)
	for i, l := range lines[1:] {
		var code, jt, jf, k uint32
		if _, err := fmt.Sscan(l, &code, &jt, &jf, &k); err != nil {
			return nil, fmt.Errorf("tcpdump -ddd %q line %q: %v", expr, l, err)
		}
		raw[i] = bpf.RawInstruction{Op: uint16(code), Jt: uint8(jt), Jf: uint8(jf), K: k}
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		return nil, fmt.Errorf("tcpdump -ddd %q: program with instructions the VM does not know", expr)
	}
	return ins, nil
}

func vmFor(t *testing.T, what string, raw []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("%s: does not disassemble: %v", what, raw)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("%s: VM rejects the program: %v", what, err)
	}
	return vm
}

// loadPackets reads every capture under the shared pcaps and golden
// directories, tarball members included, and returns copies of the frames
// of the given link type. perFile bounds what one capture contributes.
func loadPackets(t *testing.T, link capture.LinkType, perFile int) (pkts [][]byte, files int) {
	t.Helper()
	take := func(name string, rd io.Reader) {
		r, err := capture.NewReader(rd)
		if err != nil {
			return
		}
		defer r.Close()
		var p capture.Packet
		n := 0
		for n < perFile && r.Next(&p) == nil {
			if p.Link != link {
				if n == 0 {
					return
				}
				continue
			}
			pkts = append(pkts, bytes.Clone(p.Data))
			n++
		}
		if n > 0 {
			files++
		}
	}
	for _, root := range []string{"pcaps", "golden"} {
		filepath.WalkDir(filepath.Join(sharedDir, root), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if !strings.HasSuffix(path, ".tar.gz") {
				take(path, f)
				return nil
			}
			zr, err := gzip.NewReader(bufio.NewReader(f))
			if err != nil {
				return nil
			}
			tr := tar.NewReader(zr)
			for {
				h, err := tr.Next()
				if err != nil {
					return nil
				}
				if h.Typeflag == tar.TypeReg {
					take(path+":"+h.Name, tr)
				}
			}
		})
	}
	return pkts, files
}

// TestAgainstTcpdump compiles each expression with Compile and with
// tcpdump, runs both programs on every frame of the shared captures and
// requires the same accept/reject decision for each.
func TestAgainstTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed: ", err)
	}
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skip("shared data not found at ", sharedDir, ": ", err)
	}
	for _, lc := range []struct {
		dlt   string
		link  capture.LinkType
		exprs []string
	}{
		{"EN10MB", capture.LinkEthernet, append(ethernetExprs, longExprs()...)},
		{"RAW", capture.LinkRaw, rawExprs},
	} {
		t.Run(lc.dlt, func(t *testing.T) {
			pkts, files := loadPackets(t, lc.link, 20000)
			if len(pkts) == 0 {
				t.Skip("no captures of this link type in the shared data")
			}
			compared, accepted := 0, 0
			for _, expr := range lc.exprs {
				theirs, err := tcpdumpProgram(t, expr, lc.dlt)
				if err != nil {
					t.Errorf("%v", err)
					continue
				}
				ours, err := Compile(expr, lc.link, 262144)
				if err != nil {
					t.Errorf("Compile(%q): %v", expr, err)
					continue
				}
				tvm, err := bpf.NewVM(theirs)
				if err != nil {
					t.Fatalf("tcpdump's program for %q: %v", expr, err)
				}
				ovm := vmFor(t, expr, ours)
				mismatches, acc := 0, 0
				for i, pkt := range pkts {
					want, err1 := tvm.Run(pkt)
					got, err2 := ovm.Run(pkt)
					if err1 != nil || err2 != nil {
						t.Fatalf("%q packet %d: VM errors %v / %v", expr, i, err1, err2)
					}
					if (want != 0) != (got != 0) {
						if mismatches < 3 {
							t.Errorf("%q packet %d (%d bytes): tcpdump %d, ours %d\n%x", expr, i, len(pkt), want, got, pkt[:min(len(pkt), 80)])
						}
						mismatches++
					}
					if got != 0 {
						acc++
					}
				}
				if mismatches > 0 {
					t.Errorf("%q: %d of %d packets decided differently", expr, mismatches, len(pkts))
				}
				t.Logf("%-60q %4d insns (tcpdump %3d), accepts %6d of %d", expr, len(ours), len(theirs), acc, len(pkts))
				compared += len(pkts)
				accepted += acc
			}
			t.Logf("%s: %d expressions × %d packets from %d captures = %d decisions compared, %d accepts",
				lc.dlt, len(lc.exprs), len(pkts), files, compared, accepted)
			if lc.link == capture.LinkEthernet && len(pkts) < 10000 {
				t.Errorf("only %d Ethernet packets in the shared data; the comparison wants tens of thousands", len(pkts))
			}
		})
	}
}
