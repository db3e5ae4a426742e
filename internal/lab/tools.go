package lab

import (
	"fmt"
	"os"
	"os/exec"
)

// program is an external binary the lab runs and the Debian package that
// ships it (scripts/lab-deps.sh installs them all).
type program struct {
	paths   []string // tried in order; a bare name is looked up in PATH
	pkg     string
	signals bool // stopped with SIGINT first, so the tool writes its report
}

// tools are the attack tools scenario steps may name. This table is the
// only tool-specific code: every tool runs through the same mechanism.
var tools = map[string]program{
	"nmap":         {paths: []string{"nmap"}, pkg: "nmap"},
	"hping3":       {paths: []string{"/usr/sbin/hping3", "hping3"}, pkg: "hping3", signals: true},
	"slowhttptest": {paths: []string{"slowhttptest"}, pkg: "slowhttptest"},
	"hydra":        {paths: []string{"hydra"}, pkg: "hydra"},
	"sqlmap":       {paths: []string{"sqlmap"}, pkg: "sqlmap"},
}

// Infrastructure programs.
var (
	progIP      = program{paths: []string{"/usr/sbin/ip", "/sbin/ip", "ip"}, pkg: "iproute2"}
	progTcpdump = program{paths: []string{"/usr/bin/tcpdump", "/usr/sbin/tcpdump", "tcpdump"}, pkg: "tcpdump"}
)

// services are the victim's services besides HTTP (which is flowguard
// itself and always runs) and the programs behind them.
var services = map[string]program{
	"http": {},
	"ssh":  {paths: []string{"/usr/sbin/sshd"}, pkg: "openssh-server"},
	"ftp":  {paths: []string{"/usr/sbin/vsftpd"}, pkg: "vsftpd"},
	"dns":  {paths: []string{"/usr/sbin/dnsmasq"}, pkg: "dnsmasq"},
}

// find returns the program's path or an error naming its package.
func (p program) find(name string) (string, error) {
	for _, c := range p.paths {
		if c[0] == '/' {
			if st, err := os.Stat(c); err == nil && !st.IsDir() {
				return c, nil
			}
			continue
		}
		if path, err := exec.LookPath(c); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s not found: install the Debian package %s (scripts/lab-deps.sh installs every lab dependency)", name, p.pkg)
}
