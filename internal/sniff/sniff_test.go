package sniff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flowguard/flowguard/internal/alert"
	"github.com/flowguard/flowguard/internal/capture"
	"github.com/flowguard/flowguard/internal/decode"
	"github.com/flowguard/flowguard/internal/detect"
	"github.com/flowguard/flowguard/internal/detect/defaultmodel"
	"github.com/flowguard/flowguard/internal/flowmeter"
	"github.com/flowguard/flowguard/internal/sharedtest"
)

// link is a veth pair: Outer in this namespace, Inner in namespace NS.
type link struct{ NS, Outer, Inner string }

// newLink builds a namespace and a veth pair into it, IPv6 off on both
// ends so the kernel adds no traffic of its own, and tears them down when
// the test ends.
func newLink(t *testing.T) link {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (AF_PACKET, network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2's ip is not installed")
	}
	var r [3]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	l := link{NS: "fgsniff" + id, Outer: "fgso" + id, Inner: "fgsi" + id}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", l.Outer).Run()
		exec.Command("ip", "netns", "del", l.NS).Run()
	})
	ip("netns", "add", l.NS)
	ip("link", "add", l.Outer, "type", "veth", "peer", "name", l.Inner)
	ip("link", "set", l.Inner, "netns", l.NS)
	os.WriteFile("/proc/sys/net/ipv6/conf/"+l.Outer+"/disable_ipv6", []byte("1"), 0)
	ip("netns", "exec", l.NS, "sysctl", "-qw", "net.ipv6.conf."+l.Inner+".disable_ipv6=1")
	// Captures made with segmentation offload hold frames longer than
	// Ethernet's MTU.
	ip("link", "set", l.Outer, "mtu", "65000", "up")
	ip("-n", l.NS, "link", "set", l.Inner, "mtu", "65000", "up")
	return l
}

// replay sends the frames of a capture out of the inner end, keeping their
// order and their gaps divided by speedup, as tcpreplay does.
func (l link) replay(t *testing.T, path string, speedup float64) int {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p capture.Packet
	var frames [][]byte
	var stamps []int64
	for {
		if err := r.Next(&p); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), p.Data...))
		stamps = append(stamps, p.Timestamp)
	}
	errc := make(chan error, 1)
	go func() {
		// The thread enters the namespace and is never unlocked: Go ends
		// it with the goroutine instead of reusing it elsewhere.
		runtime.LockOSThread()
		errc <- l.send(frames, stamps, speedup)
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return len(frames)
}

func (l link) send(frames [][]byte, stamps []int64, speedup float64) error {
	ns, err := unix.Open(filepath.Join("/var/run/netns", l.NS), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ns)
	if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	ifc, err := net.InterfaceByName(l.Inner)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: ifc.Index}
	start := time.Now()
	for i, f := range frames {
		due := start.Add(time.Duration(float64(stamps[i]-stamps[0]) / speedup))
		time.Sleep(time.Until(due))
		if err := unix.Sendto(fd, f, 0, to); err != nil {
			return fmt.Errorf("send frame %d: %w", i+1, err)
		}
	}
	return nil
}

func goldenPcap(t *testing.T, name string) string {
	t.Helper()
	return sharedtest.Path(t, "golden/pcap/"+name+".pcap")
}

// offlineCount meters a capture as flowguard detect would and counts the
// frames a filter predicate keeps and the flows they make.
func offlineCount(t *testing.T, path string, keep func(*decode.Packet) bool) (frames, flows int64) {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := flowmeter.New(flowmeter.Config{Profile: flowmeter.CIC2017}, func(*flowmeter.Flow) { flows++ })
	if err != nil {
		t.Fatal(err)
	}
	var cp capture.Packet
	var d decode.Packet
	for r.Next(&cp) == nil {
		d.Timestamp, d.WireLen = cp.Timestamp, cp.OrigLen
		if decode.Decode(cp.Link, cp.Data, &d) != decode.OK || !keep(&d) {
			continue
		}
		frames++
		m.Add(&d)
	}
	m.Flush()
	return frames, flows
}

// TestSniff replays the genuine CIC-IDS2017 SQL-injection capture (94
// frames, gaps shortened 20×) into a veth pair and runs live detection on
// the other end with the embedded model: every frame is captured, the
// flows are the ones offline metering finds, and a filter keeps exactly
// the frames it selects. Verdicts are not compared: shortening the gaps
// changes the timing features (at the capture's own pace, 112 s, the
// embedded model alerts on 3 flows live against 14 offline, the idle
// timeout splitting the rest); the testbed test covers live alerts.
func TestSniff(t *testing.T) {
	path := goldenPcap(t, "cicids2017_webattack_sqlinj")
	a, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filter string
		keep   func(*decode.Packet) bool
	}{
		{"", func(*decode.Packet) bool { return true }},
		{"tcp and src port 80", func(d *decode.Packet) bool { return d.Proto == decode.ProtoTCP && d.SrcPort == 80 }},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("filter=%q", c.filter), func(t *testing.T) {
			l := newLink(t)
			sink := &alert.Buffer{}
			s, err := Open(Config{Interface: l.Outer, Filter: c.filter, Live: detect.LiveConfig{
				Detector: detect.Config{Model: a, Profile: flowmeter.Profiles[a.Schema.Profile]},
				Meter:    flowmeter.Config{IdleTimeout: 10 * time.Second},
			}}, sink)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			sent := l.replay(t, path, 20)
			// Let the last blocks reach the ring, then stop.
			time.Sleep(500 * time.Millisecond)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			wantFrames, wantFlows := offlineCount(t, path, c.keep)
			t.Logf("sent %d frames; %s", sent, st)
			if st.Packets != wantFrames || st.KernelDrops != 0 {
				t.Errorf("captured %d frames (%d kernel drops), want %d", st.Packets, st.KernelDrops, wantFrames)
			}
			if st.Flows != wantFlows {
				t.Errorf("%d flows, offline metering finds %d", st.Flows, wantFlows)
			}
			for _, al := range sink.Alerts() {
				if al.DestIP != "192.168.10.50" && al.SrcIP != "192.168.10.50" {
					t.Errorf("alert on a flow outside the attack: %s %s -> %s", al.CommunityID, al.SrcIP, al.DestIP)
				}
				if al.Flowguard.Source != "interface:"+l.Outer {
					t.Errorf("alert source %q", al.Flowguard.Source)
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	a, err := defaultmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	lc := detect.LiveConfig{Detector: detect.Config{Model: a, Profile: flowmeter.Profiles[a.Schema.Profile]}}
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Live: lc}, "no interface"},
		{Config{Interface: "lo", Filter: "tcp port", Live: lc}, "filter"},
		{Config{Interface: "fg-no-such0", Live: lc}, "fg-no-such0"},
	}
	for _, c := range cases {
		_, err := Open(c.cfg, &alert.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q, filter %q): %v, want an error mentioning %q", c.cfg.Interface, c.cfg.Filter, err, c.want)
		}
	}
}
