// Package snifftest gives live-capture tests a real link to capture on: a
// veth pair into a fresh network namespace, and a replay of a capture
// file out of its far end. It needs root and iproute2; without them the
// test is skipped.
package snifftest

import (
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

	"github.com/flowguard/flowguard/internal/capture"
)

// Link is a veth pair: Outer in this namespace, Inner in namespace NS.
type Link struct{ NS, Outer, Inner string }

// NewLink builds a namespace and a veth pair into it, IPv6 off on both
// ends so the kernel adds no traffic of its own, and tears them down when
// the test ends.
func NewLink(t testing.TB) Link {
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
	l := Link{NS: "fgsniff" + id, Outer: "fgso" + id, Inner: "fgsi" + id}
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

// Replay sends the frames of a capture out of the inner end, keeping their
// order and their gaps divided by speedup, as tcpreplay does.
func (l Link) Replay(t testing.TB, path string, speedup float64) int {
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

func (l Link) send(frames [][]byte, stamps []int64, speedup float64) error {
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
