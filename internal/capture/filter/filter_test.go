package filter

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/flowguard/flowguard/internal/capture"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr string
		link capture.LinkType
		want string
	}{
		{"tcp and", capture.LinkEthernet, "unexpected end of expression at offset 7"},
		{"and tcp", capture.LinkEthernet, `unexpected "and" at offset 0`},
		{"tcp and and udp", capture.LinkEthernet, `unexpected "and" at offset 8`},
		{"tcp udp", capture.LinkEthernet, `unexpected "udp" at offset 4`},
		{"(tcp or udp", capture.LinkEthernet, `missing ")" for the "(" at offset 0`},
		{"tcp)", capture.LinkEthernet, `unexpected ")" at offset 3`},
		{"port", capture.LinkEthernet, "expression ends at offset 4 where a value was expected"},
		{"port 70000", capture.LinkEthernet, `"70000" at offset 5: larger than 65535`},
		{"port http", capture.LinkEthernet, `"http" at offset 5: service names are not resolved`},
		{"port 080", capture.LinkEthernet, `"080" at offset 5: not a number`},
		{"portrange 80", capture.LinkEthernet, "LOW-HIGH"},
		{"host example.com", capture.LinkEthernet, `"example.com" at offset 5: not an IPv4 or IPv6 address (host names are not resolved)`},
		{"host 10.1", capture.LinkEthernet, "not an IPv4 or IPv6 address"},
		{"net 10.0.0.1/8", capture.LinkEthernet, "non-network bits set"},
		{"net 10.0.0.0 mask 255.0.255.0", capture.LinkEthernet, "holes"},
		{"tcp host 1.2.3.4", capture.LinkEthernet, `"tcp" modifier applied to host`},
		{"ip6 host 1.2.3.4", capture.LinkEthernet, `"ip6" modifier applied to host`},
		{"ip port 80", capture.LinkEthernet, "ip is not a qualifier of port"},
		{"tcp[13] & 2", capture.LinkEthernet, "expression ends at offset 11 where a comparison"},
		{"tcp[13 = 2", capture.LinkEthernet, `unexpected "=" at offset 7`},
		{"ip[9:3] = 6", capture.LinkEthernet, `"3" at offset 5: an accessor's size is 1, 2 or 4`},
		{"ip[0] / 0 = 1", capture.LinkEthernet, "division by zero at offset 6"},
		{"-ip[0] = 1", capture.LinkEthernet, "unary minus at offset 0 is not supported"},
		{"len > 100 or", capture.LinkEthernet, "unexpected end of expression at offset 12"},
		{"ether[0] = 1", capture.LinkRaw, "needs an Ethernet link"},
		{"tcp[13] = 2 or 4", capture.LinkEthernet, `"4" at offset 15: a value needs a qualifier`},
		{"gateway 1.2.3.4", capture.LinkEthernet, `"gateway" at offset 0: not supported`},
		{"80", capture.LinkEthernet, `"80" at offset 0: a value needs a qualifier`},
		{"tcp or 80", capture.LinkEthernet, `"80" at offset 7: not an IPv4 or IPv6 address`},
		{"vlan 5000", capture.LinkEthernet, "larger than 4095"},
		{"vlan", capture.LinkRaw, "no VLAN tags on raw IP links"},
		{"arp", capture.LinkRaw, "no ARP on raw IP links"},
		{"ether host 1:2:3:4:5:6", capture.LinkRaw, "needs an Ethernet link"},
		{"ether host 1:2:3:4:5", capture.LinkEthernet, "not a MAC address"},
		{"ether proto 100", capture.LinkEthernet, "above 1500"},
		{"ether", capture.LinkEthernet, `"ether" at offset 0: needs host`},
		{"proto \\bogus", capture.LinkEthernet, "unknown protocol name"},
		{"src proto 6", capture.LinkEthernet, "proto takes no src or dst"},
		{"tcp $", capture.LinkEthernet, `unexpected character '$' at offset 4`},
		{"ip", capture.LinkNull, "link type 0 not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			prog, err := Compile(tt.expr, tt.link, 0)
			if err == nil {
				t.Fatalf("compiled to %d instructions, want an error", len(prog))
			}
			if !strings.HasPrefix(err.Error(), "filter: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEmptyAcceptsAll(t *testing.T) {
	for _, e := range []string{"", "  ", "\t\n"} {
		prog, err := Compile(e, capture.LinkEthernet, 0)
		if prog != nil || err != nil {
			t.Errorf("Compile(%q) = %v, %v; want nil, nil", e, prog, err)
		}
	}
}

// frame builds an Ethernet frame carrying IPv4 with the given protocol and
// ports (an 8-byte transport header), optionally VLAN-tagged.
func frame(vlan int, proto byte, src, dst string, sport, dport uint16) []byte {
	b := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if vlan >= 0 {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, uint16(vlan))
	}
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	ip := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, proto, 0, 0}
	var s, d [4]byte
	fmt.Sscanf(src, "%d.%d.%d.%d", &s[0], &s[1], &s[2], &s[3])
	fmt.Sscanf(dst, "%d.%d.%d.%d", &d[0], &d[1], &d[2], &d[3])
	ip = append(append(ip, s[:]...), d[:]...)
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	return append(b, 0, 8, 0, 0)
}

func run(t *testing.T, prog []bpf.RawInstruction, pkt []byte) bool {
	t.Helper()
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("program does not disassemble: %v", prog)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vm.Run(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return n != 0
}

// TestSemantics checks decisions on hand-made frames, for the quirks that
// are easy to get wrong: precedence, qualifier repetition, vlan shifts.
func TestSemantics(t *testing.T) {
	web := frame(-1, 6, "10.0.0.1", "192.168.1.9", 40000, 80)
	dns := frame(-1, 17, "10.0.0.2", "8.8.8.8", 40001, 53)
	tagged := frame(10, 17, "10.0.0.2", "8.8.8.8", 40001, 53)
	tests := []struct {
		expr string
		pkt  []byte
		want bool
	}{
		{"tcp port 80", web, true},
		{"udp port 80", web, false},
		{"port 443 or 80", web, true},
		{"port 443 or 8080", web, false},
		{"src port 40001 or 40000", web, true},
		{"src port 40001 or 80", web, false},
		{"tcp or udp and port 53", web, false}, // (tcp or udp) and port 53
		{"udp and port 53 or tcp", web, true},  // (udp and port 53) or tcp
		{"not tcp and not udp", dns, false},
		{"host 10.0.0.2 and not 10.0.0.3", dns, true},
		{"src net 10.0.0.0/8 and dst net 8.0.0.0/8", dns, true},
		{"udp port 53", tagged, false},
		{"vlan 10 and udp port 53", tagged, true},
		{"vlan 11 and udp port 53", tagged, false},
		{"vlan and host 8.8.8.8", tagged, true},
		{"less 41", dns, false}, // the frame is 42 bytes
		{"less 42", dns, true},
		{"greater 42", dns, true},
		{"greater 43", dns, false},
	}
	for _, tt := range tests {
		prog, err := Compile(tt.expr, capture.LinkEthernet, 0)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		if got := run(t, prog, tt.pkt); got != tt.want {
			t.Errorf("%q: accepted %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// TestLongJumps compiles an expression longer than a conditional jump
// reaches and checks the program against one without trampolines.
func TestLongJumps(t *testing.T) {
	var hosts []string
	for i := range 60 {
		hosts = append(hosts, fmt.Sprintf("10.0.%d.%d", i/200, i%200+1))
	}
	expr := "host " + strings.Join(hosts, " or host ") // spelt out, so not folded into one test
	prog, err := Compile(expr, capture.LinkEthernet, 96)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 300 {
		t.Fatalf("only %d instructions; the test wants jumps past 255", len(prog))
	}
	for i, h := range append(hosts, "10.9.9.9") {
		pkt := frame(-1, 17, "172.16.0.1", h, 1, 2)
		want := i < len(hosts)
		if got := run(t, prog, pkt); got != want {
			t.Errorf("dst %s: accepted %v, want %v", h, got, want)
		}
	}
	for i, in := range prog {
		if in.Op == opRetK && in.K == 96 {
			continue
		}
		if in.Op&0x07 == 0x05 && in.Op != opJa && (i+1+int(in.Jt) >= len(prog) || i+1+int(in.Jf) >= len(prog)) {
			t.Fatalf("instruction %d jumps out of the program", i)
		}
	}
}

func TestTooLong(t *testing.T) {
	expr := strings.Repeat("port 1 or ", 300) + "port 2"
	if _, err := Compile(expr, capture.LinkEthernet, 0); err == nil || !strings.Contains(err.Error(), "more than the kernel's limit of 4096") {
		t.Errorf("error %v, want the kernel's instruction limit", err)
	}
}

// FuzzCompile feeds arbitrary expressions: Compile must not panic, and a
// program it returns must be accepted by the BPF VM and run on a packet.
func FuzzCompile(f *testing.F) {
	for _, e := range ethernetExprs {
		f.Add(e, false)
	}
	for _, e := range []string{"", "(", "not not not ip", "vlan 1 and vlan 2 and vlan 3 and port 1-2",
		"net 10 mask 255.0.0.0", "src and dst host ::1", "ether 1:2:3:4:5:6", "portrange 5-1", "\\tcp"} {
		f.Add(e, true)
	}
	pkt := frame(10, 6, "10.0.0.1", "10.0.0.2", 1234, 80)
	f.Fuzz(func(t *testing.T, expr string, raw bool) {
		link := capture.LinkEthernet
		if raw {
			link = capture.LinkRaw
		}
		prog, err := Compile(expr, link, 1500)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "filter: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		if prog == nil {
			if strings.TrimSpace(expr) != "" {
				t.Fatalf("%q: nil program for a non-empty expression", expr)
			}
			return
		}
		if len(prog) > maxInstructions {
			t.Fatalf("%q: %d instructions", expr, len(prog))
		}
		ins, ok := bpf.Disassemble(prog)
		if !ok {
			t.Fatalf("%q: program does not disassemble", expr)
		}
		vm, err := bpf.NewVM(ins)
		if err != nil {
			t.Fatalf("%q: VM rejects the program: %v", expr, err)
		}
		if _, err := vm.Run(pkt); err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
	})
}
