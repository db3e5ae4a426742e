// Package lab is flowguard's attack testbed: it builds a small network of
// Linux network namespaces (a victim running real HTTP, SSH, FTP and DNS
// services, benign clients, an attacker) joined by veth pairs to a bridge,
// runs attack scenarios with real tools against it while capturing the
// bridge, and turns each run into a labelled dataset (capture, flows in
// both profiles with the CIC Label column filled from the scenario) and,
// with a Watcher, into a detection score.
//
// Scenarios are data (scenarios/*.json); docs/lab.md describes the format,
// the topology and how to add a scenario.
package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Host is one namespace of the lab.
type Host struct {
	Role string     // "victim", "attacker", "client1", ...
	NS   string     // network namespace name
	Addr netip.Addr // its address on the lab network
	veth string     // the veth end on the bridge (root namespace)
	ino  uint64     // the namespace's inode, to find its processes
}

// Lab is one built testbed. Names carry a random suffix so that parallel
// runs do not collide; Close removes everything.
type Lab struct {
	ID       string // 4 hex digits in every name of this run
	Prefix   netip.Prefix
	Victim   Host
	Attacker Host
	Clients  []Host
	Dir      string // scratch directory (configs, keys, logs)

	bridge string
	ip     string
	procs  procs
	closed bool
}

// Bridge is the bridge joining the hosts, in the root namespace; live
// capture of the whole lab happens there.
func (l *Lab) Bridge() string { return l.bridge }

// hosts returns every host, victim first.
func (l *Lab) hosts() []Host {
	return append([]Host{l.Victim, l.Attacker}, l.Clients...)
}

// Build creates the topology: a bridge without address in the root
// namespace (the root namespace neither routes to nor reaches the lab),
// and namespaces victim, attacker and client1..clients, each with loopback
// up and a veth to the bridge, addressed in a private /24. On error,
// whatever was built is removed.
func Build(ctx context.Context, clients int) (l *Lab, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the lab needs root (network namespaces, bridge, raw sockets)")
	}
	ipPath, err := progIP.find("ip")
	if err != nil {
		return nil, err
	}
	var rb [3]byte
	var id string
	for {
		if _, err := rand.Read(rb[:]); err != nil {
			return nil, err
		}
		id = hex.EncodeToString(rb[:2])
		// Another lab's suffix, alive or remains, is not reused.
		if _, err := os.Stat(ownerDir + "/" + id); err == nil || linkExists("fg-"+id+"-br") {
			continue
		}
		if _, err := os.Stat("/run/netns/fglab-" + id + "-victim"); err == nil {
			continue
		}
		break
	}
	if err := recordOwner(id); err != nil {
		return nil, fmt.Errorf("lab owner record: %w", err)
	}
	third := 1 + int(rb[2])%254
	l = &Lab{ID: id, ip: ipPath, bridge: "fg-" + id + "-br",
		Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 99, byte(third), 0}), 24)}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()
	if l.Dir, err = os.MkdirTemp("", "flowguard-lab-"+id+"-"); err != nil {
		return l, err
	}
	// Services drop privileges; they must be able to reach their files.
	if err = os.Chmod(l.Dir, 0o755); err != nil {
		return l, err
	}
	host := func(role string, last byte, veth string) Host {
		return Host{Role: role, NS: "fglab-" + id + "-" + role, veth: "fg-" + id + "-" + veth,
			Addr: netip.AddrFrom4([4]byte{10, 99, byte(third), last})}
	}
	l.Victim = host("victim", 10, "v")
	l.Attacker = host("attacker", 66, "a")
	for i := range clients {
		l.Clients = append(l.Clients, host("client"+strconv.Itoa(i+1), byte(101+i), "c"+strconv.Itoa(i+1)))
	}
	if clients > 100 {
		return l, fmt.Errorf("at most 100 clients (asked for %d)", clients)
	}

	if err = l.run(ctx, "link", "add", l.bridge, "type", "bridge"); err != nil {
		return l, err
	}
	// Bridged frames must not pass through the host's iptables (Docker
	// hosts drop forwarded traffic); older kernels lack the options.
	_ = l.run(ctx, "link", "set", l.bridge, "type", "bridge", "nf_call_iptables", "0", "nf_call_ip6tables", "0", "nf_call_arptables", "0")
	// No IPv6 on the bridge: no link-local address, no router
	// solicitations in the capture; and no IPv4 address either.
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+l.bridge+"/disable_ipv6", []byte("1"), 0)
	if err = l.run(ctx, "link", "set", l.bridge, "up"); err != nil {
		return l, err
	}
	for i, h := range l.hosts() {
		if err = l.run(ctx, "netns", "add", h.NS); err != nil {
			return l, err
		}
		var st syscall.Stat_t
		if err = syscall.Stat("/run/netns/"+h.NS, &st); err != nil {
			return l, fmt.Errorf("namespace %s: %w", h.NS, err)
		}
		h.ino = st.Ino
		switch {
		case i == 0:
			l.Victim = h
		case i == 1:
			l.Attacker = h
		default:
			l.Clients[i-2] = h
		}
		// IPv6 off in the namespace before its interface exists, so the
		// capture holds only the lab's IPv4 traffic.
		if err = l.nsRun(ctx, h.NS, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); err != nil {
			return l, err
		}
		if err = l.run(ctx, "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.NS); err != nil {
			return l, err
		}
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+h.veth+"/disable_ipv6", []byte("1"), 0)
		for _, args := range [][]string{
			{"link", "set", h.veth, "master", l.bridge},
			{"link", "set", h.veth, "up"},
			{"-n", h.NS, "link", "set", "lo", "up"},
			{"-n", h.NS, "addr", "add", netip.PrefixFrom(h.Addr, 24).String(), "dev", "eth0"},
			{"-n", h.NS, "link", "set", "eth0", "up"},
		} {
			if err = l.run(ctx, args...); err != nil {
				return l, err
			}
		}
	}
	return l, nil
}

// run runs ip with args in the root namespace.
func (l *Lab) run(ctx context.Context, args ...string) error {
	return runCmd(ctx, l.ip, args...)
}

// nsRun runs a short command in namespace ns.
func (l *Lab) nsRun(ctx context.Context, ns string, argv ...string) error {
	return runCmd(ctx, l.ip, append([]string{"netns", "exec", ns}, argv...)...)
}

func runCmd(ctx context.Context, name string, args ...string) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Close stops every process the lab started, kills whatever else still
// runs in its namespaces, and deletes the namespaces, the veths, the
// bridge and the scratch directory. It is safe to call more than once and
// works on a partly built lab; it uses its own context so that it also
// completes after a cancellation.
func (l *Lab) Close() error {
	if l == nil || l.closed {
		return nil
	}
	l.closed = true
	l.procs.stopAll(2 * time.Second)
	ctx := context.Background()
	var errs []error
	for _, h := range l.hosts() {
		if h.NS == "" {
			continue
		}
		if _, err := os.Stat("/run/netns/" + h.NS); err != nil {
			continue
		}
		// Stragglers: daemons' children in their own sessions, anything a
		// tool forked away from its group.
		for range 3 {
			pids := nsPids(l.ip, h.NS)
			if len(pids) == 0 {
				break
			}
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := l.run(ctx, "netns", "del", h.NS); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range l.hosts() {
		if h.veth != "" && linkExists(h.veth) {
			_ = l.run(ctx, "link", "del", h.veth)
		}
	}
	if linkExists(l.bridge) {
		if err := l.run(ctx, "link", "del", l.bridge); err != nil {
			errs = append(errs, err)
		}
	}
	if l.Dir != "" {
		if err := os.RemoveAll(l.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		os.Remove(ownerDir + "/" + l.ID)
	}
	return errors.Join(errs...)
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// nsPids lists the processes in namespace ns.
func nsPids(ip, ns string) []int {
	out, err := exec.Command(ip, "netns", "pids", ns).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// start runs argv in host h's namespace, tracked for teardown, its output
// in the scratch directory's NAME.log.
func (l *Lab) start(h Host, name string, argv ...string) (*proc, string, error) {
	logPath := l.Dir + "/" + name + ".log"
	p, err := l.procs.start(h.NS, name, l.Dir, logPath, argv...)
	return p, logPath, err
}

// seedFrom derives a per-purpose seed.
func seedFrom(seed int64, salt string) int64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h := uint64(14695981039346656037)
	for _, c := range append(b[:], salt...) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return int64(h >> 1)
}
