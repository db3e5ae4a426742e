package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Lab DNS names served by the victim's dnsmasq; benign clients look them up.
var labNames = []string{"victim.lab", "www.lab", "shop.lab", "ftp.lab", "intranet.lab", "mail.lab"}

// startServices starts the victim's services: HTTP (flowguard's own
// victim role, via self) and, of ssh, ftp and dns, those listed in want
// (an error names the missing package) plus those whose programs are
// installed. It returns the services running. Every service listens on
// the victim's address inside its namespace only.
func (l *Lab) startServices(ctx context.Context, self []string, want []string) ([]string, error) {
	for _, s := range want {
		if _, err := services[s].find(s + " server"); s != "http" && err != nil {
			return nil, err
		}
	}
	up := []string{"http"}
	victim := l.Victim.Addr.String()
	argv := append(append([]string{}, self...), "victim", "--http", ":80")
	p, logPath, err := l.start(l.Victim, "victim-http", argv...)
	if err != nil {
		return nil, err
	}
	if err := l.waitListen(ctx, p, logPath, l.Victim, "tcp", 80); err != nil {
		return nil, err
	}

	if path, err := services["ssh"].find("sshd"); err == nil {
		if err := l.startSSH(ctx, path); err != nil {
			return nil, err
		}
		up = append(up, "ssh")
	}
	if path, err := services["ftp"].find("vsftpd"); err == nil {
		if err := l.startFTP(ctx, path); err != nil {
			return nil, err
		}
		up = append(up, "ftp")
	}
	if path, err := services["dns"].find("dnsmasq"); err == nil {
		args := []string{path, "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
			"--listen-address=" + victim, "--bind-interfaces", "--port=53",
			"--pid-file=" + filepath.Join(l.Dir, "dnsmasq.pid"), "--user=root", "--group=root",
			"--local=/lab/", "--log-facility=" + filepath.Join(l.Dir, "dnsmasq-queries.log")}
		for _, n := range labNames {
			args = append(args, "--address=/"+n+"/"+victim)
		}
		p, logPath, err := l.start(l.Victim, "victim-dns", args...)
		if err != nil {
			return nil, err
		}
		if err := l.waitListen(ctx, p, logPath, l.Victim, "udp", 53); err != nil {
			return nil, err
		}
		up = append(up, "dns")
	}
	return up, nil
}

// startSSH runs OpenSSH's sshd in the foreground with a configuration and
// host key of the run's own. Brute-force attempts fail (no lab account
// has a password); the limits are high so that they all reach sshd.
func (l *Lab) startSSH(ctx context.Context, sshd string) error {
	dir := filepath.Join(l.Dir, "ssh")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	key := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := runCmd(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flowguard-lab", "-f", key); err != nil {
		return fmt.Errorf("ssh host key: %w (ssh-keygen is in the Debian package openssh-client)", err)
	}
	// sshd's privilege separation directory; harmless if present.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	conf := filepath.Join(dir, "sshd_config")
	cfg := strings.Join([]string{
		"Port 22",
		"ListenAddress " + l.Victim.Addr.String(),
		"HostKey " + key,
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"UsePAM no",
		"PasswordAuthentication yes",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin no",
		"StrictModes no",
		"MaxStartups 1000",
		"MaxSessions 100",
		"MaxAuthTries 100",
		"LoginGraceTime 20",
		"PerSourcePenalties no",
		"UseDNS no",
		"LogLevel ERROR",
		"",
	}, "\n")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return err
	}
	// Older sshd (Debian 12 has 9.2) rejects PerSourcePenalties: test the
	// configuration and drop the line if needed.
	if err := runCmd(ctx, sshd, "-t", "-f", conf); err != nil {
		cfg = strings.Replace(cfg, "PerSourcePenalties no\n", "", 1)
		if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
			return err
		}
		if err := runCmd(ctx, sshd, "-t", "-f", conf); err != nil {
			return fmt.Errorf("sshd configuration: %w", err)
		}
	}
	p, logPath, err := l.start(l.Victim, "victim-ssh", sshd, "-D", "-e", "-f", conf)
	if err != nil {
		return err
	}
	return l.waitListen(ctx, p, logPath, l.Victim, "tcp", 22)
}

// startFTP runs vsftpd in the foreground: anonymous downloads from a
// small tree of files, local logins (which fail: brute force targets).
func (l *Lab) startFTP(ctx context.Context, vsftpd string) error {
	dir := filepath.Join(l.Dir, "ftp")
	root := filepath.Join(dir, "pub")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{root, filepath.Join(root, "pub"), empty} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for name, size := range ftpFiles {
		if err := os.WriteFile(filepath.Join(root, "pub", name), ftpContent(name, size), 0o644); err != nil {
			return err
		}
	}
	conf := filepath.Join(dir, "vsftpd.conf")
	cfg := strings.Join([]string{
		"listen=YES",
		"listen_ipv6=NO",
		"listen_address=" + l.Victim.Addr.String(),
		"background=NO",
		"anonymous_enable=YES",
		"anon_root=" + root,
		"no_anon_password=YES",
		"local_enable=YES",
		"write_enable=NO",
		"pam_service_name=vsftpd",
		"secure_chroot_dir=" + empty,
		"seccomp_sandbox=NO",
		"pasv_enable=YES",
		"pasv_min_port=40000",
		"pasv_max_port=40100",
		"max_clients=0",
		"max_per_ip=0",
		"delay_failed_login=0",
		"max_login_fails=3",
		"xferlog_enable=NO",
		"dirmessage_enable=NO",
		"ftpd_banner=lab FTP service ready",
		"",
	}, "\n")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return err
	}
	p, logPath, err := l.start(l.Victim, "victim-ftp", vsftpd, conf)
	if err != nil {
		return err
	}
	return l.waitListen(ctx, p, logPath, l.Victim, "tcp", 21)
}

// ftpFiles are the anonymous FTP server's downloads and their sizes.
var ftpFiles = map[string]int{
	"README.txt":         900,
	"release-notes.txt":  6_000,
	"firmware-2.4.1.bin": 180_000,
	"catalog.csv":        40_000,
}

// ftpContent is deterministic file content.
func ftpContent(name string, size int) []byte {
	line := "flowguard lab file " + name + " -- lorem ipsum dolor sit amet, consectetur adipiscing elit\n"
	b := make([]byte, 0, size+len(line))
	for len(b) < size {
		b = append(b, line...)
	}
	return b[:size]
}

// waitListen waits until h's service answers on port (TCP connect from
// inside the namespace, or for UDP until the process has been up a
// moment), failing early with the service's log when it exits.
func (l *Lab) waitListen(ctx context.Context, p *proc, logPath string, h Host, network string, port int) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !p.running() {
			return p.exitError(logPath)
		}
		if network == "udp" {
			if p.wait(500 * time.Millisecond) {
				return p.exitError(logPath)
			}
			return nil
		}
		if listening(l.ip, h, port) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: not listening on port %d after 10s", p.name, port)
}

// listening reports whether a TCP socket listens on port in h's namespace,
// read from /proc of a process in it (no connection: nothing is captured).
func listening(ip string, h Host, port int) bool {
	want := fmt.Sprintf(":%04X ", port)
	for _, pid := range nsPids(ip, h.NS) {
		// One process shows the namespace's sockets; IPv4 and dual-stack.
		for _, file := range []string{"tcp", "tcp6"} {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, file))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n")[1:] {
				f := strings.Fields(line)
				// local_address rem_address st: 0A is LISTEN.
				if len(f) > 3 && strings.HasSuffix(f[1]+" ", want) && f[3] == "0A" {
					return true
				}
			}
		}
		return false
	}
	return false
}
