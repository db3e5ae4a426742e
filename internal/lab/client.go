package lab

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ClientMain is the benign client role (`flowguard lab client`): until
// --duration ends it picks actions at random (seeded) with exponential
// think times of mean 1/--rate seconds:
//
//   - browsing (about 55%): a session of 1–5 page views of the victim's
//     shop over one keep-alive connection, each page with its style
//     sheet and script, a few seconds' reading between pages;
//   - DNS lookups (20%): A records of the lab's names, now and then a
//     name the server does not know;
//   - FTP (10%): an anonymous login, a listing and a passive-mode download;
//   - SSH (10%): a TCP session to port 22 that exchanges version banners
//     and the server's key-exchange offer, then closes, as monitoring
//     probes and aborted logins do (the lab has no SSH account to log in);
//   - a contact form POST (5%).
//
// Actions against services not in --services are skipped.
func ClientMain(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	victim := fs.String("victim", "", "victim address")
	seed := fs.Int64("seed", 1, "random seed")
	rate := fs.Float64("rate", 1, "mean actions per second")
	dur := fs.Duration("duration", 30*time.Second, "how long to run")
	svc := fs.String("services", "http", "services the victim runs (comma-separated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *victim == "" || *rate <= 0 {
		return fmt.Errorf("lab client: --victim and a positive --rate are required")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	c := &client{victim: *victim, rng: rand.New(rand.NewPCG(uint64(*seed), 0x6c6162)),
		services: strings.Split(*svc, ","), log: stderr}
	for ctx.Err() == nil {
		c.act(ctx)
		think := time.Duration(c.rng.ExpFloat64() / *rate * float64(time.Second))
		select {
		case <-ctx.Done():
		case <-time.After(think):
		}
	}
	return nil
}

type client struct {
	victim   string
	rng      *rand.Rand
	services []string
	log      io.Writer
}

func (c *client) has(s string) bool { return slices.Contains(c.services, s) }

// act performs one action; failures are logged and otherwise ignored
// (background traffic goes on).
func (c *client) act(ctx context.Context) {
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var err error
	switch x := c.rng.Float64(); {
	case x < 0.55:
		err = c.browse(actx)
	case x < 0.75:
		if c.has("dns") {
			err = c.lookup(actx)
		}
	case x < 0.85:
		if c.has("ftp") {
			err = c.ftp(actx)
		}
	case x < 0.95:
		if c.has("ssh") {
			err = c.sshBanner(actx)
		}
	default:
		err = c.contact(actx)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(c.log, "client: %v\n", err)
	}
}

var userAgents = []string{
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
}

var pages = []string{"/", "/products", "/about", "/login", "/products?category=gear", "/products?category=clothing",
	"/products?id=1", "/products?id=2", "/products?id=3", "/products?id=5", "/products?id=7", "/robots.txt"}

// browse is one visit: a few pages over a keep-alive connection.
func (c *client) browse(ctx context.Context) error {
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 15 * time.Second}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ua := userAgents[c.rng.IntN(len(userAgents))]
	get := func(path string) error {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+c.victim+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Accept-Language", "en-GB,en;q=0.8")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	n := 1 + c.rng.IntN(5)
	for i := range n {
		p := pages[c.rng.IntN(len(pages))]
		if err := get(p); err != nil {
			return err
		}
		if strings.HasPrefix(p, "/products") || p == "/" || p == "/about" || p == "/login" {
			if c.rng.Float64() < 0.7 { // cached otherwise
				get("/static/style.css")
				get("/static/app.js")
			}
		}
		if i < n-1 {
			read := time.Duration((0.5 + c.rng.ExpFloat64()*1.5) * float64(time.Second))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(read):
			}
		}
	}
	return nil
}

// contact posts the contact form.
func (c *client) contact(ctx context.Context) error {
	body := "name=Visitor" + strconv.Itoa(c.rng.IntN(1000)) + "&message=" + strings.Repeat("Hello+there.+", 1+c.rng.IntN(20))
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+c.victim+"/contact", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", userAgents[c.rng.IntN(len(userAgents))])
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// lookup resolves one or two names at the victim's DNS server.
func (c *client) lookup(ctx context.Context) error {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", net.JoinHostPort(c.victim, "53"))
	}}
	name := labNames[c.rng.IntN(len(labNames))]
	if c.rng.Float64() < 0.15 {
		name = "updates.vendor-" + strconv.Itoa(c.rng.IntN(50)) + ".lab"
	}
	_, err := r.LookupIPAddr(ctx, name)
	if dnsErr, ok := err.(*net.DNSError); ok && dnsErr.IsNotFound {
		err = nil
	}
	return err
}

// dial opens a TCP session to the victim's port that must be over within
// limit, with a reader on it.
func (c *client) dial(ctx context.Context, port string, limit time.Duration) (net.Conn, *bufio.Reader, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(c.victim, port))
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(time.Now().Add(limit))
	return conn, bufio.NewReader(conn), nil
}

// sshBanner exchanges SSH version strings and reads the server's first
// key-exchange packet, then closes.
func (c *client) sshBanner(ctx context.Context) error {
	conn, br, err := c.dial(ctx, "22", 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := br.ReadString('\n'); err != nil {
		return fmt.Errorf("ssh banner: %w", err)
	}
	if _, err := io.WriteString(conn, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"); err != nil {
		return err
	}
	buf := make([]byte, 2048)
	_, err = br.Read(buf) // the server's KEXINIT
	return err
}

// ftp logs in anonymously, lists /pub and downloads one file.
func (c *client) ftp(ctx context.Context) error {
	conn, br, err := c.dial(ctx, "21", 15*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	// reply reads one (possibly multi-line) reply and returns its text.
	reply := func() (string, error) {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(line) >= 4 && line[3] == '-' {
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return "", err
				}
				if strings.HasPrefix(l, line[:3]+" ") {
					break
				}
			}
		}
		return line, nil
	}
	cmd := func(s string) (string, error) {
		if _, err := io.WriteString(conn, s+"\r\n"); err != nil {
			return "", err
		}
		return reply()
	}
	// transfer runs a passive-mode data command and reads its data.
	transfer := func(s string) error {
		r, err := cmd("PASV")
		if err != nil {
			return err
		}
		addr, err := pasvAddr(r)
		if err != nil {
			return err
		}
		var d net.Dialer
		dc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer dc.Close()
		dc.SetDeadline(time.Now().Add(15 * time.Second))
		if r, err = cmd(s); err != nil {
			return err
		}
		if !strings.HasPrefix(r, "150") && !strings.HasPrefix(r, "125") {
			return fmt.Errorf("ftp %s: %s", s, strings.TrimSpace(r))
		}
		io.Copy(io.Discard, dc)
		dc.Close()
		_, err = reply() // 226
		return err
	}
	if _, err := reply(); err != nil {
		return err
	}
	for _, s := range []string{"USER anonymous", "PASS guest@example.org", "SYST", "TYPE I", "CWD /pub"} {
		if _, err := cmd(s); err != nil {
			return err
		}
	}
	if err := transfer("LIST"); err != nil {
		return err
	}
	names := []string{"README.txt", "release-notes.txt", "firmware-2.4.1.bin", "catalog.csv"}
	if err := transfer("RETR " + names[c.rng.IntN(len(names))]); err != nil {
		return err
	}
	_, err = cmd("QUIT")
	return err
}

// pasvAddr parses "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)".
func pasvAddr(r string) (string, error) {
	i, j := strings.IndexByte(r, '('), strings.IndexByte(r, ')')
	if !strings.HasPrefix(r, "227") || i < 0 || j < i {
		return "", fmt.Errorf("ftp PASV: %s", strings.TrimSpace(r))
	}
	f := strings.Split(r[i+1:j], ",")
	if len(f) != 6 {
		return "", fmt.Errorf("ftp PASV: %s", strings.TrimSpace(r))
	}
	p1, _ := strconv.Atoi(f[4])
	p2, _ := strconv.Atoi(f[5])
	return net.JoinHostPort(strings.Join(f[:4], "."), strconv.Itoa(p1*256+p2)), nil
}
